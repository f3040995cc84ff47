#!/usr/bin/env node
// The cross-site journey in two browsers: alice at site-fa, carol at site-fb (two Reva sites
// federated through OCM; the pytest wrapper made them contacts and gave alice a notebook).
//   1. alice shares the notebook with carol from "Share…" → "Other institutions", as editor
//      (journey-1-alice-shares.png);
//   2. carol finds it in "Shared with me" (from Alice Anders at site-fa), accepts it, and opens
//      it from "Federated shares" in her file browser (journey-2-carol-opens.png);
//   3. alice opens it too: her site locks it for her; she types. carol types and saves: alice's
//      site refuses, and carol is told the file is locked there (journey-3-carol-refused.png);
//   4. carol makes a copy at her own site, adds her line to its code cell and saves it
//      (journey-4-carol-copy.png);
//   5. alice saves and closes the notebook; carol merges her copy back into alice's original:
//      different cells changed, so nbdime merges without asking (journey-5-carol-merged.png);
//   6. alice opens her notebook again: both edits are there (journey-6-alice-both.png).
// Prints `original=… copy=…` for the wrapper, which checks the storage at both sites.
//
// Environment: CS3LAB_ALICE_URL, CS3LAB_ALICE_TOKEN, CS3LAB_CAROL_URL, CS3LAB_CAROL_TOKEN (…/lab),
// CS3LAB_NOTEBOOK (in alice's home), CS3LAB_SCREENSHOT_DIR, CS3LAB_CHROMIUM, CS3LAB_TIMEOUT_MS.
// Both servers run with --LabApp.expose_app_in_browser=True.
import { randomBytes } from 'node:crypto';
import {
  api,
  check,
  fileRow,
  logger,
  openLab,
  openNotebook,
  runCommand,
  runScenario,
  timeoutMs,
  waitForDocument,
  waitForKernel,
  waitInPage
} from './lab.mjs';

const env = process.env;
const NOTEBOOK = env.CS3LAB_NOTEBOOK;
const TIMEOUT = timeoutMs();
const TAG = randomBytes(3).toString('hex');
const ALICE_LINE = `alice at site-fa ${TAG}`;
const CAROL_LINE = `carol at site-fb ${TAG}`;
const PLACE = 'Federated shares';
const log = logger('journey');

/** Types `text` at the end of the first cell of the current notebook (edit mode, then out). */
function typeInFirstCell(page, text) {
  return typeInCell(page, 0, text);
}

/** Types `text` at the end of cell `index` of the current notebook (edit mode, then out). */
async function typeInCell(page, index, text) {
  const cell = page.locator('.jp-NotebookPanel:visible .jp-Cell').nth(index);
  await cell.click({ timeout: TIMEOUT });
  await page.keyboard.press('Enter');
  await cell.locator('.cm-content').waitFor();
  await page.keyboard.press('Control+End');
  await page.keyboard.type(`\n${text}`);
  await page.keyboard.press('Escape');
}

/** The current document's path and whether it has unsaved changes. */
function current(page) {
  return page.evaluate(() => {
    const context = window.jupyterapp.shell.currentWidget?.context;
    return { path: context?.path ?? '', dirty: Boolean(context?.model.dirty) };
  });
}

/** Closes every tab (none of them with unsaved changes). */
async function closeAll(page) {
  await Promise.race([
    runCommand(page, 'application:close-all'),
    page.waitForTimeout(TIMEOUT).then(() => check(false, 'closing the tabs did not end'))
  ]);
}

async function saveAndWait(page, reason) {
  await runCommand(page, 'docmanager:save');
  await waitInPage(
    page,
    reason,
    () => !window.jupyterapp.shell.currentWidget?.context?.model.dirty
  );
}

async function run({ alice, carol }, shot) {
  await Promise.all([
    openLab(alice, env.CS3LAB_ALICE_URL, env.CS3LAB_ALICE_TOKEN, TIMEOUT),
    openLab(carol, env.CS3LAB_CAROL_URL, env.CS3LAB_CAROL_TOKEN, TIMEOUT)
  ]);
  log('both labs are open');

  // 1. alice shares with carol at the other institution.
  const row = fileRow(alice, NOTEBOOK);
  await row.click({ button: 'right', timeout: TIMEOUT });
  await alice.locator('.lm-Menu-item', { hasText: 'Share…' }).click({ timeout: TIMEOUT });
  const dialog = alice.locator('.jp-Dialog .cs3lab-Share');
  const ocm = dialog.locator('.cs3lab-Share-ocm');
  const contact = ocm.locator('select.cs3lab-Share-contact');
  await contact.locator('option', { hasText: 'Carol Chen' }).waitFor({
    state: 'attached',
    timeout: TIMEOUT
  });
  await contact.selectOption({ label: await contactLabel(contact) });
  await ocm.locator('select[aria-label="Federated role"]').selectOption('editor');
  await ocm.getByRole('button', { name: 'Share', exact: true }).click({ timeout: TIMEOUT });
  await ocm.locator('.cs3lab-Share-info', { hasText: 'Shared with Carol Chen' }).waitFor({
    timeout: TIMEOUT
  });
  await ocm.locator('ul[aria-label="Federated shares"] li').first().waitFor({ timeout: TIMEOUT });
  log('alice shared the notebook with Carol Chen (site-fb), editor');
  await shot(alice, '1-alice-shares');
  await alice.locator('.jp-Dialog').getByRole('button', { name: 'Done' }).click();
  await alice.locator('.jp-Dialog').waitFor({ state: 'detached', timeout: TIMEOUT });

  // 2. carol: Shared with me → accept → open from "Federated shares".
  await runCommand(carol, 'cs3lab:shared-with-me');
  const panel = carol.locator('#cs3lab-shared-panel');
  const item = panel.locator('.cs3lab-SharedPanel-item[data-ocm-id]', { hasText: NOTEBOOK });
  await item.waitFor({ timeout: TIMEOUT });
  const from = await item.innerText();
  check(from.includes('Alice Anders'), `the federated share does not name alice: ${from}`);
  const ocmId = await item.getAttribute('data-ocm-id');
  const byId = panel.locator(`.cs3lab-SharedPanel-item[data-ocm-id="${ocmId}"]`);
  if ((await byId.getAttribute('data-state')) !== 'accepted') {
    await byId.getByRole('button', { name: 'Accept' }).click({ timeout: TIMEOUT });
  }
  // "Open" on a shared file opens it, from its place in the file browser.
  await byId.getByRole('button', { name: 'Open' }).click({ timeout: TIMEOUT });
  const shared = `${PLACE}/${NOTEBOOK}`;
  await waitForDocument(carol, shared);
  await runCommand(carol, 'filebrowser:activate');
  await runCommand(carol, 'filebrowser:go-to-path', { path: PLACE });
  await fileRow(carol, NOTEBOOK).waitFor({ timeout: TIMEOUT });
  check(!(await carol.locator('.jp-Dialog').isVisible()), 'a dialog opened with the notebook');
  log(`carol opened ${shared} at her site`);
  await shot(carol, '2-carol-opens');

  // 3. alice opens it (her site locks it for her) and types; carol's save is refused.
  await openNotebook(alice, NOTEBOOK);
  const aliceAPI = api(env.CS3LAB_ALICE_URL, env.CS3LAB_ALICE_TOKEN ?? '');
  const lockPath = `cs3lab/api/locks?path=${encodeURIComponent(NOTEBOOK)}`;
  const deadline = Date.now() + TIMEOUT;
  while (!(await aliceAPI('GET', lockPath)).lock) {
    check(Date.now() < deadline, "alice's site did not lock the notebook she opened");
    await alice.waitForTimeout(250);
  }
  await typeInFirstCell(alice, ALICE_LINE);
  log('alice opened the notebook and typed (not saved yet)');
  await typeInFirstCell(carol, 'carol typing into the original');
  await carol.keyboard.press('Control+s');
  const refusal = carol.locator('.jp-Dialog', { hasText: 'locked there' });
  await refusal.waitFor({ timeout: TIMEOUT });
  const refused = (await refusal.innerText()).replace(/\s+/g, ' ');
  log(`carol's save: ${refused}`);
  await shot(carol, '3-carol-refused');
  await refusal.getByRole('button', { name: 'Close', exact: true }).click({ timeout: TIMEOUT });
  await refusal.waitFor({ state: 'detached', timeout: TIMEOUT });

  // 4. carol makes a copy at her own site and adds her cell there.
  // The command ends once its dialog is answered: not awaited before that.
  const copying = runCommand(carol, 'cs3lab:make-copy', { path: shared });
  const copyDialog = carol.locator('.jp-Dialog', { has: carol.locator('.cs3lab-CopyDialog-folder') });
  await copyDialog.waitFor({ timeout: TIMEOUT });
  await copyDialog.getByRole('button', { name: 'Copy', exact: true }).click();
  await copying;
  await waitInPage(carol, 'the copy did not open', () => {
    const context = window.jupyterapp.shell.currentWidget?.context;
    return context?.isReady && !context.path.startsWith('Federated shares/');
  });
  await waitForKernel(carol, 'the copy');
  const copy = (await current(carol)).path;
  check(copy.endsWith('.ipynb'), `the copy opened is ${copy}`);
  log(`carol's copy at her site: ${copy}`);
  await typeInCell(carol, 1, `# ${CAROL_LINE}`);
  await saveAndWait(carol, "carol's copy was not saved");
  await shot(carol, '4-carol-copy');

  // 5. alice saves and closes; carol merges her copy into alice's original.
  await saveAndWait(alice, "alice's edit was not saved");
  await closeAll(alice);
  log('alice saved and closed the notebook');
  const merging = runCommand(carol, 'cs3lab:merge-into-original', { path: copy });
  const confirm = carol.locator('.jp-Dialog', { hasText: 'Merge' });
  await confirm.waitFor({ timeout: TIMEOUT });
  log(`confirm: ${(await confirm.innerText()).replace(/\s+/g, ' ')}`);
  await confirm.getByRole('button', { name: 'Merge', exact: true }).click({ timeout: TIMEOUT });
  // Different cells changed on the two sides: nbdime merges without asking.
  const merged = carol.locator('.Toastify__toast', { hasText: 'Merged' }).first();
  await merged.waitFor({ timeout: TIMEOUT });
  await merging;
  log(`carol: ${(await merged.innerText()).replace(/\s+/g, ' ')}`);
  await shot(carol, '5-carol-merged');
  log('merged');

  // 6. alice sees both edits.
  await runCommand(alice, 'filebrowser:refresh');
  await openNotebook(alice, NOTEBOOK);
  const text = alice.locator('.jp-NotebookPanel:visible');
  await waitInPage(
    alice,
    "alice's notebook does not show both edits",
    lines => {
      const shown = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
      return lines.every(line => shown?.textContent.includes(line));
    },
    [ALICE_LINE, CAROL_LINE]
  );
  check((await text.innerText()).includes(CAROL_LINE), "carol's line is not in alice's view");
  await shot(alice, '6-alice-both');
  log(`original=${NOTEBOOK} copy=${copy} alice-line=${ALICE_LINE} carol-line=${CAROL_LINE}`);
  return 'the notebook went to site-fb and came back merged';
}

/** The option's label of Carol Chen in the contact list ("Carol Chen (site-fb…)"). */
async function contactLabel(select) {
  return (await select.locator('option', { hasText: 'Carol Chen' }).first().innerText()).trim();
}

process.exitCode = await runScenario({
  tag: 'journey',
  required: ['CS3LAB_ALICE_URL', 'CS3LAB_CAROL_URL', 'CS3LAB_NOTEBOOK'],
  pages: ['alice', 'carol'],
  viewport: { width: 1400, height: 900 },
  watchdog: 8 * TIMEOUT, // under the wrapper's bound
  run
});
