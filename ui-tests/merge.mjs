#!/usr/bin/env node
// Clone, compare, merge back in the browser: alice on one JupyterLab (site A).
//   1. "Make a copy" from the file browser's context menu: the folder dialog, the copy opens;
//   2. the same line is changed differently in the original and the copy (through REST);
//   3. "Show changes" on the copy: nbdime's diff view (screenshot merge-diff.png);
//   4. "Versions…" on the original: the versions panel (merge-versions.png);
//   5. "Merge into original" on the copy: "Merge <copy> into <original>?" (merge-confirm.png),
//      then nbdime's merge view with the conflict
//      (merge-view.png); the copy's side is picked in nbdime's widget; "Save merge".
// Prints `copy=… original-line=… copy-line=…` for the pytest wrapper to check the storage.
//
// Environment: CS3LAB_URL (…/lab), CS3LAB_TOKEN, CS3LAB_NOTEBOOK (analysis.ipynb),
// CS3LAB_SCREENSHOT_DIR, CS3LAB_CHROMIUM, CS3LAB_TIMEOUT_MS (60000).
// The server must run with --LabApp.expose_app_in_browser=True.
import { randomBytes } from 'node:crypto';
import {
  api,
  check,
  fileRow,
  logger,
  openLab,
  runCommand,
  runScenario,
  timeoutMs,
  waitForDocument,
  waitInPage
} from './lab.mjs';

const env = process.env;
const NOTEBOOK = env.CS3LAB_NOTEBOOK || 'analysis.ipynb';
const TIMEOUT = timeoutMs();
const TAG = randomBytes(3).toString('hex');
const LINES = { original: `threshold_orig_${TAG}`, copy: `threshold_copy_${TAG}` };
const CELL = 2; // the cell changed on both sides

const log = logger('merge');

/** Right-click `name` in the file browser and run the context menu's `label`. */
async function contextMenu(page, name, label) {
  const row = fileRow(page, name);
  await row.click({ timeout: TIMEOUT });
  await row.click({ button: 'right', timeout: TIMEOUT });
  await page
    .locator('.lm-Menu-item', { hasText: new RegExp(`^${label}$`) })
    .first()
    .click({ timeout: TIMEOUT });
}

/** Replace the first line of cell CELL of the stored notebook `path` by `line`. */
async function changeLine(request, path, line) {
  const model = await request('GET', `api/contents/${encodeURIComponent(path)}`);
  const nb = model.content;
  const source = nb.cells[CELL].source.split('\n');
  source[0] = `threshold = ${JSON.stringify(line)}`;
  nb.cells[CELL].source = source.join('\n');
  await request('PUT', `api/contents/${encodeURIComponent(path)}`, {
    type: 'notebook',
    content: nb
  });
}

/** Close every tab; a "Save your work" question is answered Discard. */
async function closeAll(page) {
  const closing = runCommand(page, 'application:close-all');
  const discard = page.locator('.jp-Dialog').getByRole('button', { name: 'Discard' });
  await discard.click({ timeout: 3000 }).catch(() => {});
  await closing;
  await page.waitForTimeout(500);
}

async function run({ page }, shot) {
  const request = api(env.CS3LAB_URL, env.CS3LAB_TOKEN ?? '');
  await openLab(page, env.CS3LAB_URL, env.CS3LAB_TOKEN, TIMEOUT);

  // 1. Make a copy from the context menu: the folder dialog, then the copy opens.
  log(`"Make a copy" of ${NOTEBOOK}`);
  await contextMenu(page, NOTEBOOK, 'Make a copy');
  const dialog = page.locator('.jp-Dialog');
  await dialog.waitFor({ state: 'visible', timeout: TIMEOUT });
  const folder = await dialog.locator('input.cs3lab-CopyDialog-folder').inputValue();
  log(`copy dialog, folder "${folder}"`);
  await shot(page, '0-copy-dialog');
  await dialog.getByRole('button', { name: 'Copy', exact: true }).click({ timeout: TIMEOUT });
  const copy = NOTEBOOK.replace(/\.ipynb$/, '-copy.ipynb');
  await waitForDocument(page, copy, `the copy ${copy} did not open`);
  log(`the copy ${copy} is open; closing it`);
  await closeAll(page);
  const info = await request('GET', `cs3lab/api/copies?path=${encodeURIComponent(copy)}`);
  check(info.origin.path.endsWith(NOTEBOOK), `origin of the copy: ${JSON.stringify(info)}`);

  // 2. The same line, changed differently on both sides.
  await changeLine(request, NOTEBOOK, LINES.original);
  await changeLine(request, copy, LINES.copy);
  log('changed the threshold line in the original and in the copy');

  // 3. Show changes: nbdime's diff view.
  await contextMenu(page, copy, 'Show changes');
  const diff = page.locator('.cs3lab-DiffView:visible');
  await diff.waitFor({ state: 'visible', timeout: TIMEOUT });
  await waitInPage(
    page,
    'the diff view shows no changed cell',
    () =>
      document.querySelectorAll('.cs3lab-DiffView .jp-Diff-twoway, .cs3lab-DiffView .jp-Cell-diff')
        .length > 0
  );
  // The cells' editors fill in after the cells appear: wait for both lines.
  const bothLines = lines => {
    const views = [...document.querySelectorAll('.cs3lab-DiffView')];
    const text = views.map(view => view.innerText).join('\n');
    return lines.every(line => text.includes(line));
  };
  await waitInPage(page, 'the diff view does not show both lines', bothLines, [
    LINES.copy,
    LINES.original
  ]).catch(() => {});
  const diffText = await diff.innerText();
  check(
    diffText.includes(LINES.copy) && diffText.includes(LINES.original),
    `diff: ${diffText.slice(0, 500)}`
  );
  await page.waitForTimeout(500);
  await shot(page, 'diff');

  // 4. The versions of the original.
  await closeAll(page);
  await contextMenu(page, NOTEBOOK, 'Versions…');
  const rows = page.locator('.cs3lab-Versions:visible tr[data-cs3lab-version]');
  await rows.first().waitFor({ state: 'visible', timeout: TIMEOUT });
  log(`versions panel: ${await rows.count()} versions`);
  await shot(page, 'versions');
  // A version against the current file, from the panel.
  await rows.first().locator('button[data-cs3lab-action="diff"]').click({ timeout: TIMEOUT });
  await page.locator('.cs3lab-DiffView:visible').waitFor({ state: 'visible', timeout: TIMEOUT });
  await page.waitForTimeout(800);
  await shot(page, 'version-diff');

  // 5. Merge into original: the conflict in nbdime's merge view.
  await closeAll(page);
  await contextMenu(page, copy, 'Merge into original');
  // First "Merge <copy> into <original>?": the original the server found, confirmed.
  const confirm = page.locator('.jp-Dialog');
  await confirm.waitFor({ state: 'visible', timeout: TIMEOUT });
  const question = await confirm.locator('.jp-Dialog-body').innerText();
  log(`confirm: ${question}`);
  check(question.includes(`into ${NOTEBOOK}?`), `merge confirmation: ${question}`);
  await shot(page, 'confirm');
  await confirm.getByRole('button', { name: 'Merge', exact: true }).click({ timeout: TIMEOUT });
  const view = page.locator('.cs3lab-MergeView:visible');
  await view.waitFor({ state: 'visible', timeout: TIMEOUT });
  await view.locator('.jp-Notebook-merge').waitFor({ state: 'visible', timeout: TIMEOUT });
  const message = await view.locator('.cs3lab-MergeView-message').innerText();
  log(`merge view: ${message}`);
  check(/1 conflict/.test(message), `merge view message: ${message}`);
  await page.waitForTimeout(800);
  await shot(page, 'view');

  // Pick the copy's side (the right editor's picker) of the conflicted cell.
  const resolved = () =>
    page.evaluate(cell => {
      const view = window.jupyterapp.shell.currentWidget.content;
      const nb = view.resolved();
      const source = nb.cells[cell].source;
      return Array.isArray(source) ? source.join('') : source;
    }, CELL);
  log(`merged source before picking: ${JSON.stringify(await resolved())}`);
  const picker = view.locator('.cm-merge-right-editor .jp-Merge-gutter-picker:visible').first();
  await picker.scrollIntoViewIfNeeded({ timeout: TIMEOUT });
  // A real click (mouse moved there): nbdime finds the line from the event's position.
  await picker.click({ timeout: TIMEOUT });
  await page.waitForTimeout(500);
  let merged = await resolved();
  log(`merged source after picking the copy's side: ${JSON.stringify(merged)}`);
  check(
    merged.includes(LINES.copy) && !merged.includes(LINES.original),
    `picking the copy's side gave ${JSON.stringify(merged)}`
  );
  await shot(page, 'view-resolved');

  await page
    .locator(
      '.cs3lab-MergeView-tab:visible [data-cs3lab-action="save-merge"] button, .cs3lab-MergeView-tab:visible button[data-cs3lab-action="save-merge"], .cs3lab-MergeView-tab:visible [data-cs3lab-action="save-merge"]'
    )
    .first()
    .click({ timeout: TIMEOUT });
  const done = page.locator('.Toastify__toast', { hasText: 'Merged' }).first();
  await done.waitFor({ state: 'visible', timeout: TIMEOUT });
  log(`notification: ${await done.innerText()}`);
  await waitInPage(
    page,
    'the merge view did not close',
    () => !document.querySelector('.cs3lab-MergeView')
  );
  await shot(page, 'saved');
  log(`copy=${copy} original-line=${LINES.original} copy-line=${LINES.copy}`);
}

process.exit(
  await runScenario({
    tag: 'merge',
    required: ['CS3LAB_URL'],
    viewport: { width: 1400, height: 900 },
    watchdog: 5 * TIMEOUT,
    run
  })
);
