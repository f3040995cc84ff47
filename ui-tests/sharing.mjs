#!/usr/bin/env node
// Sharing in the browser: alice and bob on two Jupyter servers (site A), two browser contexts.
//   1. alice right-clicks a folder, "Share…"; types "Bob", picks Bob Berger, shares as viewer;
//      "Who has access" lists him;
//   2. she creates a public link with a password and copies it (the clipboard holds the URL);
//   3. bob opens the "Shared" side panel: the share from Alice Anders is there; pending ones
//      he accepts; on site A (Reva v3 accepts user shares at once) he declines, then accepts;
//   4. alice's file browser shows the share badge with the tooltip naming Bob Berger.
// Prints "link: <url>" and "share: <id>" for the pytest wrapper.
//
// Environment: CS3LAB_ALICE_URL/_TOKEN, CS3LAB_BOB_URL/_TOKEN, CS3LAB_FOLDER (in alice's root),
// CS3LAB_PASSWORD, CS3LAB_SCREENSHOT_DIR, CS3LAB_CHROMIUM, CS3LAB_TIMEOUT_MS.
import { check, fileRow, logger, openLab, runCommand, runScenario, timeoutMs } from './lab.mjs';

const env = process.env;
const FOLDER = env.CS3LAB_FOLDER;
const PASSWORD = env.CS3LAB_PASSWORD || 'secret-pw-1';
const TIMEOUT = timeoutMs(30_000);
const log = logger('sharing');

async function run({ alice, bob }, shot) {
  await Promise.all([
    openLab(alice, env.CS3LAB_ALICE_URL, env.CS3LAB_ALICE_TOKEN, TIMEOUT),
    openLab(bob, env.CS3LAB_BOB_URL, env.CS3LAB_BOB_TOKEN, TIMEOUT)
  ]);
  log('both labs started');

  // 1. alice: Share… on the folder, find Bob, share as viewer.
  const row = fileRow(alice, FOLDER);
  await row.waitFor({ timeout: TIMEOUT });
  await row.click({ button: 'right', timeout: TIMEOUT });
  await alice.locator('.lm-Menu-item', { hasText: 'Share…' }).click({ timeout: TIMEOUT });
  const dialog = alice.locator('.jp-Dialog .cs3lab-Share');
  await dialog.waitFor({ timeout: TIMEOUT });
  await dialog.locator('.cs3lab-Share-access li').first().waitFor({ timeout: TIMEOUT });
  await dialog.locator('.cs3lab-Share-search').pressSequentially('Bob', { delay: 60 });
  const suggestion = dialog.locator('.cs3lab-Share-suggestions li[data-name="bob"]');
  await suggestion.waitFor({ timeout: TIMEOUT });
  check(
    (await suggestion.textContent()).includes('Bob Berger'),
    `the suggestion does not name Bob Berger: ${await suggestion.textContent()}`
  );
  await shot(alice, '1-alice-finds-bob');
  await suggestion.click({ timeout: TIMEOUT });
  await dialog.locator('.cs3lab-Share-add .cs3lab-Share-role').selectOption('viewer');
  await dialog.locator('.cs3lab-Share-submit').click({ timeout: TIMEOUT });
  const bobRow = dialog.locator('.cs3lab-Share-access li[data-grantee="bob"]');
  await bobRow.waitFor({ timeout: TIMEOUT });
  check(
    (await bobRow.locator('select').inputValue()) === 'viewer',
    "bob's role in 'Who has access' is not viewer"
  );
  log('alice shared the folder with Bob Berger (viewer)');
  await shot(alice, '2-alice-shared-with-bob');

  // 2. a public link with a password; copy it.
  await dialog.locator('.cs3lab-Share-newLink .cs3lab-Share-password').fill(PASSWORD);
  await dialog.locator('.cs3lab-Share-createLink').click({ timeout: TIMEOUT });
  const link = dialog.locator('.cs3lab-Share-links li.cs3lab-Share-link').first();
  await link.waitFor({ timeout: TIMEOUT });
  const url = await link.locator('.cs3lab-Share-url').inputValue();
  check(/^https?:\/\//.test(url), `the link shown is not a URL: ${url}`);
  check(
    (await link.locator('.cs3lab-Share-facts').textContent()).includes('password'),
    'the link does not say it has a password'
  );
  await link.locator('.cs3lab-Share-copy').click({ timeout: TIMEOUT });
  await alice.locator('.cs3lab-Share-info', { hasText: 'copied' }).waitFor({ timeout: TIMEOUT });
  const copied = await alice.evaluate(() => navigator.clipboard.readText());
  check(copied === url, `the clipboard holds ${JSON.stringify(copied)}, not ${url}`);
  log(`link: ${url}`);
  await shot(alice, '3-alice-link-copied');
  await alice.locator('.jp-Dialog').getByRole('button', { name: 'Done' }).click();
  await alice.locator('.jp-Dialog').waitFor({ state: 'detached', timeout: TIMEOUT });

  // 3. bob: "Shared with me".
  await runCommand(bob, 'cs3lab:shared-with-me');
  const panel = bob.locator('#cs3lab-shared-panel');
  await panel.waitFor({ timeout: TIMEOUT });
  const item = panel
    .locator('.cs3lab-SharedPanel-item', { hasText: FOLDER })
    .filter({ hasText: 'Alice Anders' });
  await item.waitFor({ timeout: TIMEOUT });
  const shareId = await item.getAttribute('data-share-id');
  log(`share: ${shareId}`);
  let state = await item.getAttribute('data-state');
  log(`bob sees the share from Alice Anders, state ${state}`);
  await shot(bob, '4-bob-shared-with-me');
  const byId = panel.locator(`.cs3lab-SharedPanel-item[data-share-id="${shareId}"]`);
  if (state === 'pending') {
    await byId.getByRole('button', { name: 'Accept' }).click({ timeout: TIMEOUT });
    await panel
      .locator(`.cs3lab-SharedPanel-item[data-share-id="${shareId}"][data-state="accepted"]`)
      .waitFor({ timeout: TIMEOUT });
    log('bob accepted it');
  } else {
    // Reva v3 (site A) accepts user shares at once: the panel says so and offers Decline.
    check(state === 'accepted', `the share is ${state}, neither pending nor accepted`);
    await byId.getByRole('button', { name: 'Decline' }).waitFor({ timeout: TIMEOUT });
    log('the site accepted it for bob already');
  }
  await shot(bob, '6-bob-accepted');

  // bob opens it: the file browser shows it in the root's "Shared with me" folder.
  await byId.getByRole('button', { name: 'Open' }).click({ timeout: TIMEOUT });
  await bob.waitForFunction(
    folder => {
      const crumbs = document.querySelector('.jp-BreadCrumbs')?.textContent ?? '';
      const names = [...document.querySelectorAll('.jp-DirListing-itemText')].map(
        n => n.textContent
      );
      return (
        crumbs.includes('Shared with me') && crumbs.includes(folder) && names.includes('notes.txt')
      );
    },
    FOLDER,
    { timeout: TIMEOUT }
  );
  log('bob sees the shared folder in his file browser');
  await shot(bob, '6b-bob-opened-shared-folder');

  // "Shared by me" on alice's side, and the badge in her file browser.
  await runCommand(alice, 'filebrowser:refresh');
  const badge = fileRow(alice, FOLDER).locator('.cs3lab-ShareBadge');
  await badge.waitFor({ timeout: TIMEOUT });
  await badge.hover();
  await alice.waitForFunction(
    folder => {
      const rows = [...document.querySelectorAll('.jp-DirListing-item')];
      const row = rows.find(
        r => r.querySelector('.jp-DirListing-itemText')?.textContent === folder
      );
      return row?.querySelector('.cs3lab-ShareBadge')?.title.includes('Bob Berger (viewer)');
    },
    FOLDER,
    { timeout: TIMEOUT }
  );
  log(`badge: ${await badge.getAttribute('title')}`);
  await runCommand(alice, 'cs3lab:shared-with-me');
  const alicePanel = alice.locator('#cs3lab-shared-panel');
  await alicePanel.locator('[data-tab="by-me"]').click();
  await alicePanel
    // This test's folder: other tests on the same site share with bob too.
    .locator('.cs3lab-SharedPanel-mine li', { hasText: 'Bob Berger' })
    .filter({ hasText: FOLDER })
    .waitFor({ timeout: TIMEOUT });
  await alicePanel.locator('.cs3lab-SharedPanel-mine li[data-link-id]').first().waitFor();
  await shot(alice, '7-alice-shared-by-me-badge');
  log(`final state: ${state}`);
}

/** Lets the page read and write the clipboard of its server's origin. */
async function grantClipboard(context, who) {
  const base = who === 'alice' ? env.CS3LAB_ALICE_URL : env.CS3LAB_BOB_URL;
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
    origin: new URL(base).origin
  });
}

process.exit(
  await runScenario({
    tag: 'sharing',
    required: ['CS3LAB_ALICE_URL', 'CS3LAB_BOB_URL', 'CS3LAB_FOLDER'],
    pages: ['alice', 'bob'],
    timeout: TIMEOUT,
    setup: grantClipboard,
    run
  })
);
