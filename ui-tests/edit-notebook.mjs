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
import {
  check,
  expectListed,
  Failure,
  logger,
  openLab,
  openNotebook,
  runCommand,
  runScenario,
  timeoutMs,
  waitForLab,
  waitInPage
} from './lab.mjs';

const env = process.env;
const LAB_URL = env.CS3LAB_LAB_URL;
const NOTEBOOK = env.CS3LAB_NOTEBOOK || 'demo.ipynb';
const EXPECT_USER = env.CS3LAB_EXPECT_USER;
const TIMEOUT = timeoutMs();
const MARKER = `cs3lab-ui-${randomBytes(4).toString('hex')}`;

const log = logger('edit-notebook');

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

/** The scenario; resolves to what PASS says. */
async function run({ page }, shot) {
  log(`opening ${LAB_URL}`);
  await openLab(page, LAB_URL, env.CS3LAB_TOKEN, TIMEOUT); // a clean workspace
  await expectListed(page, NOTEBOOK);
  await checkStatusItem(page);
  await shot(page, 'after-load');

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
  await runCommand(page, 'docmanager:save');
  await waitInPage(
    page,
    'the notebook is still dirty after docmanager:save',
    () => window.jupyterapp.shell.currentWidget.context.model.dirty === false
  );
  await shot(page, 'after-save');

  log('reloading the page and opening the notebook again');
  await page.reload({ timeout: TIMEOUT });
  await waitForLab(page, TIMEOUT);
  await expectListed(page, NOTEBOOK);
  const reopened = await openNotebook(page, NOTEBOOK);
  try {
    await reopened.getByText(MARKER).waitFor({ state: 'visible', timeout: TIMEOUT });
  } catch {
    const source = await reopened.innerText().catch(() => '<no cell>');
    throw new Failure(`after reload the first cell lacks ${MARKER}; it shows:\n${source}`);
  }
  await shot(page, 'after-reopen');
  return `${NOTEBOOK} keeps ${MARKER} across save and reload`;
}

process.exit(
  await runScenario({
    tag: 'edit-notebook',
    shots: '',
    required: ['CS3LAB_LAB_URL'],
    run
  })
);
