#!/usr/bin/env node
// Write locks in the browser: two users (alice, bob) on two Jupyter servers, in two browser
// contexts of Debian's headless Chromium, open the same CS3 notebook.
//   1. alice opens it and holds the lock;
//   2. bob sees a lock badge (tooltip naming Alice) in his file browser, opens the notebook:
//      a banner names Alice Anders, and typing or cell commands change nothing: neither
//      the main menu's items nor the palette's (disabled), shortcuts or commands run
//      directly (refused); screenshots of the open Run menu and the palette;
//   3. bob requests edit; alice is notified and hands over; bob is told and edits, alice's
//      view becomes read-only;
//   4. bob types and saves; alice's read-only view follows (the new text, same scroll offset);
//   5. bob's browser goes offline (heartbeats stop); after the lock expires alice's banner
//      offers "Edit now"; she takes it and edits; bob, back online, is told he lost it.
// Prints the markers typed, for the pytest wrapper to check the stored notebook.
//
// Environment:
//   CS3LAB_ALICE_URL, CS3LAB_ALICE_TOKEN   alice's JupyterLab (…/lab) and token (required)
//   CS3LAB_BOB_URL, CS3LAB_BOB_TOKEN       bob's (required)
//   CS3LAB_NOTEBOOK                        the notebook, in both file browsers' root
//   CS3LAB_SCROLL_CELL                     index of the cell bob edits and alice looks at (20)
//   CS3LAB_OUTPUT_CELL, CS3LAB_OUTPUT      a code cell with a stored output, and its text
//   CS3LAB_EXPIRY_SECONDS                  the servers' lock expiry (10)
//   CS3LAB_SCREENSHOT_DIR                  where locks-*.png go (default ui-tests/test-results)
//   CS3LAB_CHROMIUM, CS3LAB_TIMEOUT_MS     browser binary; bound of every single wait (60000)
// Both servers must run with --LabApp.expose_app_in_browser=True.
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
  waitInPage
} from './lab.mjs';
import {
  cellsJSON,
  EDITING_COMMANDS,
  enabledCommands,
  tryEveryWayToEdit
} from './readonly-commands.mjs';

const env = process.env;
const NOTEBOOK = env.CS3LAB_NOTEBOOK || 'shared.ipynb';
const SCROLL_CELL = Number(env.CS3LAB_SCROLL_CELL || 20);
const OUTPUT_CELL = Number(env.CS3LAB_OUTPUT_CELL || 2);
const OUTPUT = env.CS3LAB_OUTPUT || 'stored output';
const EXPIRY_MS = 1000 * Number(env.CS3LAB_EXPIRY_SECONDS || 10);
const TIMEOUT = timeoutMs();
const TAG = randomBytes(3).toString('hex');
const MARKERS = {
  ignored: `bob-readonly-${TAG}`,
  bob: `bob-edit-${TAG}`,
  alice: `alice-edit-${TAG}`
};

const log = logger('locks');

/** Waits until the current document's lock mode (data-cs3lab-lock-mode) is `mode`. */
async function waitMode(page, who, mode, timeout = TIMEOUT) {
  await waitInPage(
    page,
    `${who}'s notebook did not get to lock mode "${mode}"`,
    mode => window.jupyterapp.shell.currentWidget?.node.dataset.cs3labLockMode === mode,
    mode,
    timeout
  );
}

const banner = page => page.locator('.jp-NotebookPanel:visible .cs3lab-LockBanner');
const bannerButton = (page, action) =>
  banner(page).locator(`button[data-cs3lab-action="${action}"]`);

/** What the current notebook holds: cell count, sources, dirty, the cells' editors' state. */
function notebookState(page) {
  return page.evaluate(() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const cells = panel.content.model.cells;
    const sources = [];
    for (let i = 0; i < cells.length; i++) sources.push(cells.get(i).sharedModel.getSource());
    return {
      count: cells.length,
      sources,
      dirty: panel.context.model.dirty,
      readOnlyCells: panel.content.widgets.filter(cell => cell.readOnly).length,
      scrollTop: panel.content.outerNode.scrollTop
    };
  });
}

/** Scrolls the notebook so that cell `index` is at the top; returns the scroll offset. */
async function scrollToCell(page, index) {
  return page.evaluate(async index => {
    const notebook = window.jupyterapp.shell.currentWidget.content;
    await notebook.scrollToItem(index, 'start');
    await new Promise(resolve => setTimeout(resolve, 300));
    return notebook.outerNode.scrollTop;
  }, index);
}

/** Clicks into cell `index`'s editor and types `text` at its end. */
async function typeInCell(page, index, text) {
  await page.evaluate(async index => {
    const notebook = window.jupyterapp.shell.currentWidget.content;
    await notebook.scrollToItem(index, 'center');
  }, index);
  const editor = page
    .locator('.jp-NotebookPanel:visible .jp-Cell')
    .nth(index)
    .locator('.cm-content');
  await editor.click({ timeout: TIMEOUT });
  await page.keyboard.press('Control+End');
  await page.keyboard.type(text);
}

/** The notebook as alice's server has it stored. */
async function storedNotebook() {
  const request = api(env.CS3LAB_ALICE_URL, env.CS3LAB_ALICE_TOKEN ?? '');
  return (await request('GET', `api/contents/${encodeURIComponent(NOTEBOOK)}`)).content;
}

const toast = (page, text) => page.locator('.Toastify__toast', { hasText: text }).first();

async function run({ alice, bob }, shot) {
  // 1. alice opens the notebook and holds its lock.
  log(`alice opens ${NOTEBOOK}`);
  await openLab(alice, env.CS3LAB_ALICE_URL, env.CS3LAB_ALICE_TOKEN, TIMEOUT);
  await openNotebook(alice, NOTEBOOK);
  await waitMode(alice, 'alice', 'editing');
  check(!(await banner(alice).isVisible()), 'alice (the holder) sees a lock banner');
  await shot(alice, '1-alice-holds');

  // 2. bob: the badge, the banner, typing changes nothing.
  log('bob opens JupyterLab: the badge on the notebook');
  await openLab(bob, env.CS3LAB_BOB_URL, env.CS3LAB_BOB_TOKEN, TIMEOUT);
  const badge = fileRow(bob, NOTEBOOK).locator('.cs3lab-LockBadge');
  await badge.waitFor({ state: 'visible', timeout: TIMEOUT });
  const badgeTitle = await badge.getAttribute('title');
  log(`badge title: ${badgeTitle}`);
  check(/^Locked by Alice Anders \(site-a\) since /.test(badgeTitle), `badge title: ${badgeTitle}`);
  await badge.hover();
  await shot(bob, '2-bob-badge');

  log('bob opens the notebook: read-only, with the banner');
  await openNotebook(bob, NOTEBOOK);
  await waitMode(bob, 'bob', 'readonly');
  await banner(bob).waitFor({ state: 'visible', timeout: TIMEOUT });
  const bannerText = await banner(bob).innerText();
  log(`bob's banner: ${bannerText.replace(/\n/g, ' | ')}`);
  check(/Alice Anders \(site-a\) is editing this since/.test(bannerText), `banner: ${bannerText}`);
  await shot(bob, '3-bob-readonly');
  const before = await notebookState(bob);
  check(
    before.readOnlyCells === before.count,
    `only ${before.readOnlyCells} of ${before.count} cells are read-only`
  );

  log('bob types into a cell and tries cell commands (a, b, d d, x, Shift+Enter)');
  await typeInCell(bob, 1, MARKERS.ignored);
  await bob.keyboard.press('Shift+Enter');
  await bob.keyboard.press('Escape');
  for (const key of ['a', 'b', 'd', 'd', 'x', 'm', 'Control+v', 'Control+z']) {
    await bob.keyboard.press(key);
  }
  await bob.waitForTimeout(1000);
  const after = await notebookState(bob);
  check(
    after.count === before.count,
    `bob's commands changed the cell count ${before.count} -> ${after.count}`
  );
  check(
    JSON.stringify(after.sources) === JSON.stringify(before.sources),
    `bob's typing changed the cells: ${after.sources[0]}`
  );
  check(!after.dirty, "bob's read-only notebook is dirty");
  const rendered = await bob.locator('.jp-NotebookPanel:visible .jp-Cell').first().innerText();
  check(!rendered.includes(MARKERS.ignored), `bob's first cell shows ${MARKERS.ignored}`);
  const stored = await storedNotebook();
  check(
    !JSON.stringify(stored).includes(MARKERS.ignored),
    'the stored notebook has what bob typed read-only'
  );
  await shot(bob, '3b-bob-typed-nothing');

  log("bob tries the menus, the palette, shortcuts and commands on the notebook's cells");
  const cellsBefore = await cellsJSON(bob);
  check(cellsBefore.includes(OUTPUT), `cell ${OUTPUT_CELL} has no stored output to keep`);
  await tryEveryWayToEdit(bob, {
    index: OUTPUT_CELL,
    shot,
    prefix: '3c-bob-',
    log,
    timeout: TIMEOUT
  });
  const cellsAfter = await cellsJSON(bob);
  check(cellsAfter === cellsBefore, `bob's read-only notebook changed: ${cellsAfter}`);
  check(!(await notebookState(bob)).dirty, "bob's read-only notebook is dirty");
  check(
    JSON.stringify((await storedNotebook()).cells) === JSON.stringify(stored.cells),
    'the stored notebook changed while bob tried to edit it'
  );

  // 3. Request edit, hand-over.
  log('bob requests edit');
  await bannerButton(bob, 'request').click({ timeout: TIMEOUT });
  await bannerButton(bob, 'withdraw').waitFor({ state: 'visible', timeout: TIMEOUT });
  check(
    /request to edit is pending/.test(await banner(bob).innerText()),
    'no "pending" in the banner'
  );
  await shot(bob, '4-bob-requested');

  log('alice is asked');
  const request = toast(alice, 'Bob Berger (site-a) asks to edit');
  await request.waitFor({ state: 'visible', timeout: 15_000 });
  await alice.waitForTimeout(1000); // the toast slides in
  await shot(alice, '5-alice-asked');
  await request.getByRole('button', { name: 'Hand over', exact: true }).click({ timeout: TIMEOUT });
  await waitMode(alice, 'alice', 'readonly');

  log('bob is told and gets the lock');
  await toast(bob, 'handed you the lock').waitFor({ state: 'visible', timeout: 15_000 });
  await waitMode(bob, 'bob', 'editing', 15_000);
  await bob.waitForTimeout(1000);
  check(!(await banner(bob).isVisible()), 'bob still sees the banner after the hand-over');
  await shot(bob, '6-bob-got-lock');
  const enabled = await enabledCommands(bob, EDITING_COMMANDS);
  check(
    enabled.length === EDITING_COMMANDS.length,
    `bob holds the lock but only ${enabled.join(', ')} of ${EDITING_COMMANDS} are enabled`
  );
  await banner(alice).waitFor({ state: 'visible', timeout: TIMEOUT });
  await waitInPage(alice, "alice's banner does not name Bob", () =>
    /Bob Berger \(site-a\) is editing this/.test(
      document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .cs3lab-LockBanner')
        ?.textContent ?? ''
    )
  );
  await shot(alice, '7-alice-readonly');

  // 4. bob edits and saves; alice's view follows without losing its place.
  const offset = await scrollToCell(alice, SCROLL_CELL);
  check(offset > 500, `alice's notebook does not scroll (offset ${offset}): make it longer`);
  log(`alice looks at cell ${SCROLL_CELL} (scrollTop ${offset}); bob edits it and saves`);
  await typeInCell(bob, SCROLL_CELL, ` # ${MARKERS.bob}`);
  await runCommand(bob, 'docmanager:save');
  await waitInPage(
    bob,
    "bob's save did not finish",
    () => !window.jupyterapp.shell.currentWidget.context.model.dirty
  );
  await waitInPage(
    alice,
    "alice's read-only view did not follow bob's save",
    ([index, marker]) =>
      window.jupyterapp.shell.currentWidget.content.model.cells
        .get(index)
        .sharedModel.getSource()
        .includes(marker),
    [SCROLL_CELL, MARKERS.bob],
    20_000
  );
  await alice.waitForTimeout(2500); // let the scroll restoration settle
  const followed = await notebookState(alice);
  log(`alice's scrollTop after following: ${followed.scrollTop} (was ${offset})`);
  check(
    Math.abs(followed.scrollTop - offset) < 40,
    `alice's view jumped from ${offset} to ${followed.scrollTop}`
  );
  check(followed.readOnlyCells === followed.count, "alice's reloaded cells are not all read-only");
  await alice
    .locator('.jp-NotebookPanel:visible .jp-Cell', { hasText: MARKERS.bob })
    .waitFor({ state: 'visible', timeout: TIMEOUT });
  await shot(alice, '8-alice-follows');

  // 5. bob vanishes; the lock expires; alice takes it.
  log("bob's browser goes offline: his heartbeats stop");
  await bob.context().setOffline(true);
  await bannerButton(alice, 'edit-now').waitFor({ state: 'visible', timeout: EXPIRY_MS + 20_000 });
  log(`alice's banner: ${(await banner(alice).innerText()).replace(/\n/g, ' | ')}`);
  await shot(alice, '9-alice-edit-now');
  await bannerButton(alice, 'edit-now').click({ timeout: TIMEOUT });
  await waitMode(alice, 'alice', 'editing');
  check(!(await banner(alice).isVisible()), 'alice still sees the banner after Edit now');
  const latest = await notebookState(alice);
  check(
    latest.sources[SCROLL_CELL].includes(MARKERS.bob),
    "alice's Edit now lacks bob's last save"
  );
  await typeInCell(alice, 1, MARKERS.alice);
  await runCommand(alice, 'docmanager:save');
  await waitInPage(
    alice,
    "alice's save did not finish",
    () => !window.jupyterapp.shell.currentWidget.context.model.dirty
  );
  await shot(alice, '10-alice-edits');

  log('bob comes back online: he is told he lost the lock');
  await bob.context().setOffline(false);
  await toast(bob, 'Your lock on').waitFor({ state: 'visible', timeout: 20_000 });
  await waitMode(bob, 'bob', 'readonly');
  await banner(bob).waitFor({ state: 'visible', timeout: TIMEOUT });
  // JupyterLab's own "Server Connection Error" dialog from the offline spell
  const dialog = bob.locator('.jp-Dialog', { hasText: 'Server Connection Error' });
  if (await dialog.isVisible()) {
    await dialog.getByRole('button', { name: 'Close', exact: true }).click({ timeout: TIMEOUT });
  }
  await waitInPage(
    bob,
    "bob's read-only view does not show alice's save",
    marker =>
      window.jupyterapp.shell.currentWidget.content.model.cells
        .get(1)
        .sharedModel.getSource()
        .includes(marker),
    MARKERS.alice
  );
  await bob.waitForTimeout(1000);
  await shot(bob, '11-bob-lost');
  log('alice closes her tab: the lock is released on pagehide');
  await alice.close({ runBeforeUnload: true });
  log(`markers: ignored=${MARKERS.ignored} bob=${MARKERS.bob} alice=${MARKERS.alice}`);
}

/** Prints each user's lock mode, banner and dirty flag at the failure. */
async function printLockState(pages) {
  for (const [who, page] of Object.entries(pages)) {
    const state = await page
      .evaluate(() => {
        const widget = window.jupyterapp.shell.currentWidget;
        const banner = widget?.node.querySelector('.cs3lab-LockBanner');
        return {
          mode: widget?.node.dataset.cs3labLockMode,
          banner: banner ? `${banner.classList} ${banner.textContent}` : null,
          dirty: widget?.context?.model.dirty
        };
      })
      .catch(e => String(e));
    console.error(`${who} at failure: ${JSON.stringify(state)}`);
  }
}

process.exit(
  await runScenario({
    tag: 'locks',
    required: ['CS3LAB_ALICE_URL', 'CS3LAB_BOB_URL'],
    pages: ['alice', 'bob'],
    run,
    onFailure: printLockState
  })
);
