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
import {
  check,
  expectListed,
  Failure,
  fileRow,
  logger,
  openLab,
  runCommand,
  runScenario,
  timeoutMs,
  waitInPage
} from './lab.mjs';

const env = process.env;
const LAB_URL = env.CS3LAB_LAB_URL;
const NOTEBOOK = env.CS3LAB_NOTEBOOK || 'analysis/station-summary.ipynb';
const PLOT = env.CS3LAB_PLOT || 'temperature.png';
const TIMEOUT = timeoutMs();
const log = logger('kernel');

/** The scenario; resolves to what PASS says. */
async function run({ page }, shot) {
  log(`opening ${LAB_URL}`);
  await openLab(page, LAB_URL, env.CS3LAB_TOKEN, TIMEOUT);

  const folder = NOTEBOOK.includes('/') ? NOTEBOOK.slice(0, NOTEBOOK.lastIndexOf('/')) : '';
  log(`opening ${NOTEBOOK}`);
  await Promise.all([
    runCommand(page, 'docmanager:open', { path: NOTEBOOK }),
    runCommand(page, 'filebrowser:go-to-path', { path: `/${folder}` })
  ]);
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
  await runCommand(page, 'notebook:run-all-cells');
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
  await runCommand(page, 'filebrowser:refresh');
  await expectListed(page, PLOT, TIMEOUT);
  await fileRow(page, PLOT).click();
  await image.scrollIntoViewIfNeeded();
  await shot(page, 'plot'); // without the Jupyter news toast over the plot's corner
  return `${NOTEBOOK} read its data by relative path and saved ${PLOT} beside it`;
}

process.exit(
  await runScenario({
    tag: 'kernel',
    required: ['CS3LAB_LAB_URL'],
    viewport: { width: 1280, height: 860 },
    run
  })
);
