#!/usr/bin/env node
// Signing in again through JupyterHub when the single sign-on session has ended, with an
// unsaved edit in an open notebook:
//   1. The user (CS3LAB_USER) signs in at the Hub (Keycloak's login form in the page), her server starts and
//      JupyterLab opens; a notebook is made and opened; he types into it without saving;
//   2. the realm's session ends (the test set it short), the Hub cannot renew his tokens,
//      and his server's sign-in to the CS3 site expires: JupyterLab says so, with a
//      "Sign in again" link (screenshot sign-in-again.png), his typing still there;
//   3. the link opens the Hub's login in a new tab: he signs in again there;
//   4. back in the first tab, once the status bar shows him signed in to the site, he
//      saves: the stored notebook has what he typed (screenshot sign-in-saved.png).
//
// Environment: CS3LAB_HUB_URL, CS3LAB_USER, CS3LAB_PASSWORD (from the test's Keycloak),
// CS3LAB_SCREENSHOT_DIR, CS3LAB_CHROMIUM, CS3LAB_TIMEOUT_MS (60000), CS3LAB_EXPIRY_MS (the
// longest wait for the sign-in to expire, default 180000).
import { randomBytes } from 'node:crypto';
import { check, dismissNews, fileRow, logger, runScenario, timeoutMs } from './lab.mjs';

const env = process.env;
const TIMEOUT = timeoutMs();
const EXPIRY = Number(env.CS3LAB_EXPIRY_MS || 180_000);
const HUB = (env.CS3LAB_HUB_URL || '').replace(/\/$/, '');
const USER = env.CS3LAB_USER || 'carol';
const NOTEBOOK = `signed-out-${randomBytes(3).toString('hex')}.ipynb`;
const TYPED = `typed while signed out ${randomBytes(3).toString('hex')}`;
const log = logger('sign-in');

/** Keycloak's login form, if the page shows it: fill it and submit. */
async function keycloakLogin(page) {
  await page.locator('#username').waitFor({ timeout: TIMEOUT });
  await page.fill('#username', USER);
  await page.fill('#password', env.CS3LAB_PASSWORD || '');
  await page.click('#kc-login');
}

/** A REST call to the user's server from the page, with its XSRF cookie, as JupyterLab does. */
function api(page, method, path, body) {
  return page.evaluate(
    async ([method, url, body]) => {
      const xsrf = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/)?.[1] ?? '';
      const response = await fetch(url, {
        method,
        headers: { 'X-XSRFToken': decodeURIComponent(xsrf), 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body)
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
    [method, `${HUB}/user/${USER}/${path}`, body]
  );
}

/** Clicks the status bar item (a re-check) until its label matches `pattern`. */
async function statusUntil(page, pattern, within) {
  const item = page.locator('.cs3lab-StatusItem');
  const deadline = Date.now() + within;
  for (;;) {
    const label = (await item.innerText()).trim();
    if (pattern.test(label)) return label;
    check(Date.now() < deadline, `the status bar still says "${label}", not ${pattern}`);
    await item.click();
    await page.waitForTimeout(3000);
  }
}

process.exitCode = await runScenario({
  tag: 'sign-in',
  shots: '',
  required: ['CS3LAB_HUB_URL', 'CS3LAB_PASSWORD'],
  watchdog: EXPIRY + 6 * TIMEOUT,
  run: async ({ page }, shot) => {
    // 1. Sign in at the Hub; the server starts; JupyterLab opens.
    // /hub/spawn: not signed in, the Hub sends him to its login (Keycloak's form here); then
    // it starts his server (or finds it running) and sends him on to JupyterLab in it.
    await page.goto(`${HUB}/hub/spawn?next=${encodeURIComponent(`/user/${USER}/lab`)}`);
    await keycloakLogin(page);
    await page.waitForURL(new RegExp(`/user/${USER}/lab`), { timeout: 3 * TIMEOUT });
    await page.locator('.jp-DirListing').waitFor({ timeout: 3 * TIMEOUT });
    await dismissNews(page, 5000);
    log(`${USER}'s JupyterLab is open: ${page.url()}`);
    const nb = {
      cells: [{ cell_type: 'markdown', id: 'c1', metadata: {}, source: '# Notes' }],
      // A kernel named, so that JupyterLab starts it without asking which.
      metadata: {
        kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' }
      },
      nbformat: 4,
      nbformat_minor: 5
    };
    const made = await api(page, 'PUT', `api/contents/${NOTEBOOK}`, {
      type: 'notebook',
      content: nb
    });
    check(made.status === 201 || made.status === 200, `making ${NOTEBOOK}: ${made.status}`);
    await page.locator('.jp-FileBrowser [data-command="filebrowser:refresh"]').click();
    await fileRow(page, NOTEBOOK).dblclick({ timeout: TIMEOUT });
    const cell = page.locator('.jp-NotebookPanel:visible .jp-Cell').first();
    await cell.click({ timeout: TIMEOUT }); // selects it; Enter edits its source
    await page.keyboard.press('Enter');
    await page.locator('.jp-NotebookPanel:visible .jp-Cell .cm-content').first().waitFor();
    await page.keyboard.press('Control+End');
    await page.keyboard.type(`\n\n${TYPED}`);
    log('typed into the notebook, not saved');

    // 2. The sign-in expires: the notice with its link.
    const notice = page.locator('.Toastify__toast', { hasText: 'sign in again' });
    const link = notice.getByRole('button', { name: 'Sign in again' });
    const label = await statusUntil(page, /sign in again/, EXPIRY);
    await link.waitFor({ timeout: TIMEOUT });
    log(`status bar: ${label}; notice: ${(await notice.innerText()).replace(/\s+/g, ' ')}`);
    const text = await page.locator('.jp-NotebookPanel:visible').innerText();
    check(text.includes(TYPED), `what ${USER} typed is gone from the notebook`);
    await shot(page, 'sign-in-again');

    // 3. The link: the Hub's login in a new tab, then Keycloak's form again.
    const [tab] = await Promise.all([page.context().waitForEvent('page'), link.click()]);
    await keycloakLogin(tab);
    await tab.waitForURL(new RegExp(`/user/${USER}/lab`), { timeout: 3 * TIMEOUT });
    log(`signed in again in a new tab: ${tab.url()}`);
    await tab.close();

    // 4. Back in the first tab: signed in to the site again; save.
    await statusUntil(page, /^CS3: (?!sign in again|credentials)/, 3 * TIMEOUT);
    await page.keyboard.press('Control+s');
    const saved = async () => {
      const model = await api(page, 'GET', `api/contents/${NOTEBOOK}`);
      const source = model.body?.content?.cells?.[0]?.source ?? '';
      return model.status === 200 && [].concat(source).join('').includes(TYPED);
    };
    const deadline = Date.now() + TIMEOUT;
    while (!(await saved())) {
      check(Date.now() < deadline, `the notebook was not saved with what ${USER} typed`);
      await page.waitForTimeout(1000);
    }
    await shot(page, 'sign-in-saved');
    return `saved ${NOTEBOOK} with what was typed while signed out`;
  }
});
