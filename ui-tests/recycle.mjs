#!/usr/bin/env node
// Folder copy and the recycle bin in the browser (alice, one Jupyter server):
//   1. alice copies the folder CS3LAB_FOLDER (context menu Copy, then Paste on the listing):
//      "<folder>-Copy1" appears (a progress notification shows while a large copy runs);
//   2. she deletes CS3LAB_NOTEBOOK: the dialog says "Move to Trash" and where to restore it;
//   3. a new notebook of the same name is made meanwhile (through the contents API);
//   4. "Recycle Bin…" (context menu of the listing) lists the deleted notebook; "Restore"
//      finds the name taken and offers "<name> (restored).ipynb"; she restores it there.
//
// Environment: CS3LAB_URL, CS3LAB_TOKEN, CS3LAB_FOLDER, CS3LAB_NOTEBOOK,
// CS3LAB_SCREENSHOT_DIR, CS3LAB_CHROMIUM, CS3LAB_TIMEOUT_MS.
import { check, fileRow, logger, openLab, runScenario, timeoutMs } from './lab.mjs';

const env = process.env;
const FOLDER = env.CS3LAB_FOLDER;
const NOTEBOOK = env.CS3LAB_NOTEBOOK;
const RESTORED = NOTEBOOK?.replace(/\.ipynb$/, ' (restored).ipynb');
const TIMEOUT = timeoutMs(30_000);
const log = logger('recycle');

async function menu(page, label) {
  await page
    .locator('.lm-Menu-item', { hasText: new RegExp(`^${label}`) })
    .first()
    .click({ timeout: TIMEOUT });
}

async function run({ page }, shot) {
  await openLab(page, env.CS3LAB_URL, env.CS3LAB_TOKEN, TIMEOUT);
  log('lab started');

  await page.evaluate(() => {
    window.__cs3labCopyEvents = [];
    window.jupyterapp.serviceManager.events.stream.connect((_, event) => {
      if (String(event.schema_id).includes('folder-copy')) window.__cs3labCopyEvents.push(event);
    });
  });

  // 1. Copy the folder, paste it beside itself.
  const folder = fileRow(page, FOLDER);
  await folder.waitFor({ timeout: TIMEOUT });
  await folder.click({ button: 'right', timeout: TIMEOUT });
  await menu(page, 'Copy');
  await page
    .locator('.jp-DirListing-content')
    .click({ button: 'right', position: { x: 200, y: 300 }, timeout: TIMEOUT });
  await menu(page, 'Paste');
  const progress = page.locator('.Toastify__toast', { hasText: `Copying ${FOLDER}` });
  const copy = fileRow(page, `${FOLDER}-Copy1`);
  const first = await Promise.race([
    progress.waitFor({ timeout: 4 * TIMEOUT }).then(() => 'progress'),
    copy.waitFor({ timeout: 4 * TIMEOUT }).then(() => 'copy')
  ]);
  if (first === 'progress') {
    await shot(page, '1-copy-progress');
    log('a progress notification showed while the folder was copied');
  }
  await copy.waitFor({ timeout: 4 * TIMEOUT });
  await shot(page, '2-folder-copied');
  const events = await page.evaluate(() => window.__cs3labCopyEvents.map(e => e.state));
  log(`copy events seen by the page: ${events.join(', ') || 'none'}`);
  log(`${FOLDER}-Copy1 is in the file browser (${first} first)`);

  // 2. Delete the notebook: the dialog says where deleted items go.
  const notebook = fileRow(page, NOTEBOOK);
  await notebook.click({ button: 'right', timeout: TIMEOUT });
  await menu(page, 'Move to Trash');
  const dialog = page.locator('.jp-Dialog');
  await dialog.waitFor({ timeout: TIMEOUT });
  const text = await dialog.textContent();
  check(text.includes('Move to Trash'), `the delete dialog does not say Move to Trash: ${text}`);
  check(
    text.includes('recycle bin'),
    `the delete dialog does not mention the recycle bin: ${text}`
  );
  await shot(page, '3-delete-dialog');
  await dialog.getByRole('button', { name: 'Move to Trash' }).click({ timeout: TIMEOUT });
  await notebook.waitFor({ state: 'detached', timeout: TIMEOUT });
  log(`${NOTEBOOK} deleted`);

  // 3. Meanwhile a new notebook of the same name.
  const made = await page.evaluate(async name => {
    const content = { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 };
    const model = await window.jupyterapp.serviceManager.contents.save(name, {
      type: 'notebook',
      content
    });
    return model.name;
  }, NOTEBOOK);
  check(made === NOTEBOOK, `making a new ${NOTEBOOK} gave ${made}`);
  await notebook.waitFor({ timeout: TIMEOUT });

  // 4. The recycle bin: restore the deleted notebook under a free name.
  await page
    .locator('.jp-DirListing-content')
    .click({ button: 'right', position: { x: 200, y: 300 }, timeout: TIMEOUT });
  await menu(page, 'Recycle Bin…');
  const panel = page.locator('.cs3lab-Recycle');
  const item = panel.locator(`.cs3lab-Recycle-item[data-path="${NOTEBOOK}"]`);
  await item.waitFor({ timeout: TIMEOUT });
  check(
    (await item.locator('.cs3lab-Recycle-size').textContent()).trim() !== '',
    'the deleted notebook has no size'
  );
  await shot(page, '4-recycle-bin');
  await item.locator('.cs3lab-Recycle-restore').click({ timeout: TIMEOUT });
  const conflict = page.locator('.jp-Dialog .cs3lab-Recycle-conflict');
  await conflict.waitFor({ timeout: TIMEOUT });
  const suggested = await conflict.locator('input').inputValue();
  check(suggested === RESTORED, `the suggested name is ${suggested}, not ${RESTORED}`);
  check(
    (await conflict.textContent()).includes('exists again'),
    'the conflict dialog does not say the name is taken'
  );
  await shot(page, '5-restore-conflict');
  await page.locator('.jp-Dialog').getByRole('button', { name: 'Restore here' }).click();
  await item.waitFor({ state: 'detached', timeout: TIMEOUT });
  await fileRow(page, RESTORED).waitFor({ timeout: TIMEOUT });
  await panel.locator('.cs3lab-Recycle-status', { hasText: 'Restored' }).waitFor();
  await shot(page, '6-restored');
  log(`restored as ${RESTORED}`);
}

process.exit(
  await runScenario({
    tag: 'recycle',
    required: ['CS3LAB_URL', 'CS3LAB_FOLDER', 'CS3LAB_NOTEBOOK'],
    timeout: TIMEOUT,
    run
  })
);
