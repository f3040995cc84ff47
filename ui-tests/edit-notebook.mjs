#!/usr/bin/env node
// Edits a notebook through cs3lab in a real JupyterLab, driven by Debian's headless
// Chromium: checks the file browser and the CS3 status bar item, types a marker into
// the first cell, saves, reloads the page and checks that the marker is still there.
//
// Environment:
//   CS3LAB_LAB_URL         JupyterLab URL, e.g. http://127.0.0.1:8899/lab (required)
//   CS3LAB_TOKEN           the server's token
//   CS3LAB_NOTEBOOK        a notebook in the file browser's root (default demo.ipynb)
//   CS3LAB_SCREENSHOT_DIR  where the PNGs go (default ui-tests/test-results)
//   CS3LAB_EXPECT_USER     display name expected in the status bar (unset: not checked)
//   CS3LAB_CHROMIUM        browser binary (default /usr/bin/chromium)
//   CS3LAB_TIMEOUT_MS      bound of every single wait (default 60000)
// The server must run with --LabApp.expose_app_in_browser=True.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';
import { check, Failure, fileRow, waitInPage } from './lab.mjs';

const env = process.env;
const LAB_URL = env.CS3LAB_LAB_URL;
const TOKEN = env.CS3LAB_TOKEN ?? '';
const NOTEBOOK = env.CS3LAB_NOTEBOOK || 'demo.ipynb';
const SHOTS =
  env.CS3LAB_SCREENSHOT_DIR || join(dirname(fileURLToPath(import.meta.url)), 'test-results');
const EXPECT_USER = env.CS3LAB_EXPECT_USER;
const TIMEOUT = Number(env.CS3LAB_TIMEOUT_MS || 60_000);
const MARKER = `cs3lab-ui-${randomBytes(4).toString('hex')}`;

const log = msg => console.log(`[edit-notebook] ${msg}`);

/** Polls `fn(arg)` in the page until it is truthy; fails with `reason` after TIMEOUT. */

async function screenshot(page, name) {
  const file = join(SHOTS, name);
  await page.screenshot({ path: file, timeout: TIMEOUT });
  log(`screenshot ${file}`);
}

/** Loads (or, without url, reloads) JupyterLab; waits until it has started and restored. */
async function openLab(page, url) {
  await (url ? page.goto(url, { timeout: TIMEOUT }) : page.reload({ timeout: TIMEOUT }));
  await waitInPage(page, 'JupyterLab did not start', () => window.jupyterapp !== undefined);
  await page.evaluate(() => Promise.all([window.jupyterapp.started, window.jupyterapp.restored]));
}

/** The file browser row of `name` in the current folder. */

async function expectListed(page, name) {
  try {
    await fileRow(page, name).waitFor({ state: 'visible', timeout: TIMEOUT });
  } catch {
    const listed = await page.locator('.jp-DirListing-itemText').allInnerTexts();
    throw new Failure(`the file browser does not list ${name}; it lists: ${listed.join(', ')}`);
  }
}

/** Opens `name` by double-clicking it; resolves when its document is loaded and current. */
async function openNotebook(page, name) {
  await fileRow(page, name).dblclick({ timeout: TIMEOUT });
  await waitInPage(
    page,
    `${name} did not open`,
    path => {
      const widget = window.jupyterapp.shell.currentWidget;
      return widget?.context?.path === path && widget.context.isReady;
    },
    name
  );
  // Let the kernel connect first: its language_info would dirty the notebook after a save.
  await waitInPage(page, `the kernel of ${name} did not become idle`, () => {
    const sessionContext = window.jupyterapp.shell.currentWidget.sessionContext;
    const kernel = sessionContext.session?.kernel;
    return sessionContext.isReady && (!kernel || kernel.status === 'idle');
  });
  return page.locator('.jp-NotebookPanel:visible .jp-Notebook .jp-Cell').first();
}

async function checkStatusItem(page) {
  const item = page.locator('.cs3lab-StatusItem');
  await waitInPage(page, 'the cs3lab status bar item did not appear or finish loading', () => {
    const node = document.querySelector('.cs3lab-StatusItem');
    return node && node.dataset.cs3labState !== 'loading';
  });
  const state = await item.getAttribute('data-cs3lab-state');
  const text = (await item.innerText()).trim();
  const title = await item.getAttribute('title');
  log(`status bar: ${text} [${state}] (${title?.split('\n')[0]})`);
  if (!EXPECT_USER) {
    log('CS3LAB_EXPECT_USER is unset: status bar item not checked');
    return;
  }
  check(state === 'connected', `status bar item is "${state}", not connected: ${text} / ${title}`);
  check(text.includes(EXPECT_USER), `status bar shows "${text}", not user "${EXPECT_USER}"`);
}

async function run(page) {
  const url = new URL(LAB_URL);
  url.searchParams.set('token', TOKEN);
  url.searchParams.set('reset', ''); // start from a clean workspace

  log(`opening ${LAB_URL}`);
  await openLab(page, url.href);
  await expectListed(page, NOTEBOOK);
  await checkStatusItem(page);
  await screenshot(page, 'after-load.png');

  log(`opening ${NOTEBOOK} and typing ${MARKER}`);
  const cell = await openNotebook(page, NOTEBOOK);
  await cell.locator('.cm-content').click({ timeout: TIMEOUT });
  await page.keyboard.press('Control+End');
  await page.keyboard.press('Enter');
  await page.keyboard.type(`print("${MARKER}")`);
  await waitInPage(
    page,
    'the marker did not reach the notebook model',
    marker => {
      const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
      return cells.get(0).sharedModel.getSource().includes(marker);
    },
    MARKER
  );

  log('saving');
  await page.evaluate(() => window.jupyterapp.commands.execute('docmanager:save'));
  await waitInPage(
    page,
    'the notebook is still dirty after docmanager:save',
    () => window.jupyterapp.shell.currentWidget.context.model.dirty === false
  );
  await screenshot(page, 'after-save.png');

  log('reloading the page and opening the notebook again');
  await openLab(page);
  await expectListed(page, NOTEBOOK);
  const reopened = await openNotebook(page, NOTEBOOK);
  try {
    await reopened.getByText(MARKER).waitFor({ state: 'visible', timeout: TIMEOUT });
  } catch {
    const source = await reopened.innerText().catch(() => '<no cell>');
    throw new Failure(`after reload the first cell lacks ${MARKER}; it shows:\n${source}`);
  }
  await screenshot(page, 'after-reopen.png');
}

async function main() {
  if (!LAB_URL) {
    console.error('FAIL: CS3LAB_LAB_URL is not set (e.g. http://127.0.0.1:8899/lab)');
    process.exit(1);
  }
  mkdirSync(SHOTS, { recursive: true });
  const watchdog = setTimeout(() => {
    console.error(`FAIL: the whole test took longer than ${10 * TIMEOUT} ms`);
    process.exit(1);
  }, 10 * TIMEOUT);
  const { context, profile } = await launchChromium({
    timeout: TIMEOUT,
    viewport: { width: 1280, height: 800 }
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on('pageerror', error => pageErrors.push(error.message));
  let code = 0;
  try {
    await run(page);
    log(`PASS: ${NOTEBOOK} keeps ${MARKER} across save and reload`);
  } catch (error) {
    code = 1;
    const reason = error instanceof Failure ? error.message : error.stack;
    console.error(`FAIL: ${reason}`);
    if (pageErrors.length) {
      console.error(`page errors:\n  ${pageErrors.join('\n  ')}`);
    }
    await screenshot(page, 'failure.png').catch(e => console.error(`no screenshot: ${e}`));
  } finally {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
  process.exit(code);
}

main().catch(error => {
  console.error(`FAIL: ${error.stack ?? error}`);
  process.exit(1);
});
