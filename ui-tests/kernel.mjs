#!/usr/bin/env node
// Runs the demo's analysis/station-summary.ipynb in a real JupyterLab with cs3lab, in Debian's
// headless Chromium: the kernel works in the notebook's folder of the CS3 mount, so pandas
// reads measurements.csv by its relative name and the plot saved beside it appears in the
// file browser. Screenshot: kernel-plot.png.
//
// Environment:
//   CS3LAB_LAB_URL         JupyterLab URL, e.g. http://127.0.0.1:8899/lab (required)
//   CS3LAB_TOKEN           the server's token
//   CS3LAB_NOTEBOOK        the notebook (default analysis/station-summary.ipynb)
//   CS3LAB_PLOT            the file its code saves beside it (default temperature.png)
//   CS3LAB_SCREENSHOT_DIR  where the PNGs go (default ui-tests/test-results)
//   CS3LAB_TIMEOUT_MS      bound of every single wait (default 60000)
// The server must run with --LabApp.expose_app_in_browser=True.
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';
import { check, Failure, fileRow, logger, waitInPage } from './lab.mjs';

const env = process.env;
const LAB_URL = env.CS3LAB_LAB_URL;
const TOKEN = env.CS3LAB_TOKEN ?? '';
const NOTEBOOK = env.CS3LAB_NOTEBOOK || 'analysis/station-summary.ipynb';
const PLOT = env.CS3LAB_PLOT || 'temperature.png';
const SHOTS =
  env.CS3LAB_SCREENSHOT_DIR || join(dirname(fileURLToPath(import.meta.url)), 'test-results');
const TIMEOUT = Number(env.CS3LAB_TIMEOUT_MS || 60_000);
const log = logger('kernel');

async function screenshot(page, name) {
  const file = join(SHOTS, name);
  await page.screenshot({ path: file, timeout: TIMEOUT });
  log(`screenshot ${file}`);
}

async function run(page) {
  const url = new URL(LAB_URL);
  url.searchParams.set('token', TOKEN);
  url.searchParams.set('reset', '');
  log(`opening ${LAB_URL}`);
  await page.goto(url.href, { timeout: TIMEOUT });
  await waitInPage(page, 'JupyterLab did not start', () => window.jupyterapp !== undefined);
  await page.evaluate(() => Promise.all([window.jupyterapp.started, window.jupyterapp.restored]));

  const folder = NOTEBOOK.includes('/') ? NOTEBOOK.slice(0, NOTEBOOK.lastIndexOf('/')) : '';
  log(`opening ${NOTEBOOK}`);
  await page.evaluate(
    ([path, dir]) =>
      Promise.all([
        window.jupyterapp.commands.execute('docmanager:open', { path }),
        window.jupyterapp.commands.execute('filebrowser:go-to-path', { path: `/${dir}` })
      ]),
    [NOTEBOOK, folder]
  );
  await waitInPage(
    page,
    `${NOTEBOOK} did not open with an idle kernel`,
    path => {
      const widget = window.jupyterapp.shell.currentWidget;
      const kernel = widget?.sessionContext?.session?.kernel;
      return widget?.context?.path === path && widget.context.isReady && kernel?.status === 'idle';
    },
    NOTEBOOK
  );
  await fileRow(page, 'measurements.csv').waitFor({ state: 'visible', timeout: TIMEOUT });

  log('running all cells');
  await page.evaluate(() => window.jupyterapp.commands.execute('notebook:run-all-cells'));
  const image = page.locator('.jp-NotebookPanel:visible .jp-OutputArea-output img').first();
  try {
    await image.waitFor({ state: 'visible', timeout: 3 * TIMEOUT });
  } catch {
    const outputs = await page
      .locator('.jp-NotebookPanel:visible .jp-OutputArea-output')
      .allInnerTexts();
    throw new Failure(`no plot was shown; the outputs are:\n${outputs.join('\n---\n')}`);
  }
  const text = await page
    .locator('.jp-NotebookPanel:visible .jp-OutputArea-output')
    .allInnerTexts();
  const table = text.join('\n');
  log(`output:\n${table}`);
  for (const station of ['north', 'ridge', 'river']) {
    check(table.includes(station), `the summary does not mention station ${station}`);
  }
  check(!/Error|Traceback/.test(table), `the notebook failed:\n${table}`);
  const size = await image.evaluate(img => [img.naturalWidth, img.naturalHeight]);
  check(size[0] > 100 && size[1] > 100, `the plot is ${size.join('x')} pixels`);

  log(`waiting for ${PLOT} in the file browser`);
  await page.evaluate(() => window.jupyterapp.commands.execute('filebrowser:refresh'));
  try {
    await fileRow(page, PLOT).waitFor({ state: 'visible', timeout: TIMEOUT });
  } catch {
    const listed = await page.locator('.jp-DirListing-itemText').allInnerTexts();
    throw new Failure(`the file browser does not list ${PLOT}; it lists: ${listed.join(', ')}`);
  }
  await fileRow(page, PLOT).click();
  // JupyterLab's "get notified about news?" toast would cover the plot's corner.
  const no = page.locator('.jp-Notification-Toast button', { hasText: /^No$/ });
  if (await no.isVisible().catch(() => false)) {
    await no.click().catch(() => {});
  }
  await image.scrollIntoViewIfNeeded();
  await screenshot(page, 'kernel-plot.png');
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
    viewport: { width: 1280, height: 860 }
  });
  const page = context.pages()[0] ?? (await context.newPage());
  let code = 0;
  try {
    await run(page);
    log(`PASS: ${NOTEBOOK} read its data by relative path and saved ${PLOT} beside it`);
  } catch (error) {
    code = 1;
    console.error(`FAIL: ${error instanceof Failure ? error.message : error.stack}`);
    await screenshot(page, 'kernel-failure.png').catch(e => console.error(`no screenshot: ${e}`));
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
