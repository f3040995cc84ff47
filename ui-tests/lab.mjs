// What the browser tests share: the scenario's scaffold (browser, pages, watchdog, PASS or
// FAIL, failure screenshots), logging, failures, waiting in the page, JupyterLab, file
// browser rows, notebooks, screenshots and the server's REST API.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './chromium.mjs';

/** The bound of every single wait: CS3LAB_TIMEOUT_MS, else `fallback` ms. */
export const timeoutMs = (fallback = 60_000) => Number(process.env.CS3LAB_TIMEOUT_MS || fallback);

const TIMEOUT = timeoutMs();

/** Where the PNGs go: CS3LAB_SCREENSHOT_DIR, else ui-tests/test-results. */
const SHOTS =
  process.env.CS3LAB_SCREENSHOT_DIR ||
  join(dirname(fileURLToPath(import.meta.url)), 'test-results');

/** A failure of the test itself (what the page did is wrong), as opposed to a crash. */
export class Failure extends Error {}

export const check = (ok, reason) => {
  if (!ok) throw new Failure(reason);
};

const START = Date.now();

/** `[tag 12.3s] message` lines, timed from the start of the script. */
export function logger(tag) {
  return msg => console.log(`[${tag} ${((Date.now() - START) / 1000).toFixed(1)}s] ${msg}`);
}

/**
 * Runs one browser scenario and resolves to the process's exit code (0 passed, 1 failed).
 *
 * Checks that the `required` environment variables are set, launches Chromium with one
 * browser context and page per name in `pages`, collects their page errors and console
 * errors, and bounds the whole run by a watchdog. Then `run(pages, shot)` drives the pages
 * (`pages.<name>`); `shot(page, name)` saves `<shots><name>.png`. Logs `PASS` (and what
 * `run` resolves to, if anything) or `FAIL: <reason>`, the pages' errors, whatever
 * `onFailure` adds, and screenshots every page as `<shots>failure.png` (one page) or
 * `<shots>failure-<name>.png`. Closes the browser in any case.
 *
 * @param {object} scenario
 * @param {string} scenario.tag  the script's name in its log lines (see logger)
 * @param {string} [scenario.shots]  prefix of the screenshots' names (default `<tag>-`)
 * @param {string[]} [scenario.required]  environment variables that must be set
 * @param {string[]} [scenario.pages]  the pages' names (default ['page'])
 * @param {{width: number, height: number}} [scenario.viewport]  default 1280×800
 * @param {number} [scenario.timeout]  bound of launching and of a screenshot
 * @param {number} [scenario.watchdog]  bound of the whole run (default 10 × timeout)
 * @param {(context: object, name: string) => Promise<void>} [scenario.setup]  prepares
 *   a page's browser context, e.g. grants permissions
 * @param {(pages: object, shot: Function) => Promise<string | void>} scenario.run
 * @param {(pages: object) => Promise<void>} [scenario.onFailure]  prints more about a failure
 * @returns {Promise<number>}
 */
export async function runScenario({
  tag,
  shots = `${tag}-`,
  required = [],
  pages: names = ['page'],
  viewport = { width: 1280, height: 800 },
  timeout = TIMEOUT,
  watchdog = 10 * timeout,
  setup = async () => {},
  run,
  onFailure = async () => {}
}) {
  const log = logger(tag);
  const missing = required.filter(name => !process.env[name]);
  if (missing.length) {
    console.error(`FAIL: set ${missing.join(' and ')}`);
    return 1;
  }
  mkdirSync(SHOTS, { recursive: true });
  const timer = setTimeout(() => {
    console.error(`FAIL: the whole test took longer than ${watchdog} ms`);
    process.exit(1);
  }, watchdog);
  const shot = (page, name) => screenshot(page, join(SHOTS, `${shots}${name}.png`), log, timeout);
  const pages = {};
  const errors = [];
  let browser;
  try {
    browser = await launchBrowser({ timeout });
    await openPages(browser, names, { viewport, setup, pages, errors });
    const summary = await run(pages, shot);
    log(summary ? `PASS: ${summary}` : 'PASS');
    return 0;
  } catch (error) {
    await reportFailure(error, { errors, onFailure, pages, shot });
    return 1;
  } finally {
    await browser?.close().catch(() => {});
    clearTimeout(timer);
  }
}

/** Opens a browser context and page for each name into `pages`; their errors go to `errors`. */
async function openPages(browser, names, { viewport, setup, pages, errors }) {
  for (const name of names) {
    const context = await browser.newContext({ viewport });
    await setup(context, name);
    pages[name] = await context.newPage();
    collectErrors(pages[name], name, errors);
  }
}

/** Prints `FAIL: …`, the pages' errors and `onFailure`'s, and screenshots every page. */
async function reportFailure(error, { errors, onFailure, pages, shot }) {
  console.error(`FAIL: ${error instanceof Failure ? error.message : (error.stack ?? error)}`);
  if (errors.length) console.error(`page errors:\n  ${errors.join('\n  ')}`);
  await onFailure(pages).catch(e => console.error(`onFailure: ${e}`));
  const names = Object.keys(pages);
  for (const name of names) {
    const file = names.length > 1 ? `failure-${name}` : 'failure';
    await shot(pages[name], file).catch(e => console.error(`no screenshot: ${e}`));
  }
}

/** Appends `page`'s uncaught errors, console errors and cs3lab's console lines to `errors`. */
function collectErrors(page, name, errors) {
  page.on('pageerror', error => errors.push(`${name}: ${error.message}`));
  page.on('console', message => {
    if (message.type() === 'error' || message.text().includes('cs3lab')) {
      errors.push(`${name} console.${message.type()}: ${message.text()}`);
    }
  });
}

/** Saves a screenshot of `page` as `file`, the Jupyter news toast dismissed first; logs it. */
export async function screenshot(page, file, log, timeout = TIMEOUT) {
  await dismissNews(page, 0, timeout).catch(() => {});
  await page.screenshot({ path: file, timeout });
  log(`screenshot ${file}`);
}

/** Waits until `fn(arg)` is truthy in the page; a Failure naming `reason` otherwise. */
export async function waitInPage(page, reason, fn, arg, timeout = TIMEOUT) {
  try {
    return await page.waitForFunction(fn, arg, { timeout, polling: 250 });
  } catch (error) {
    throw new Failure(`${reason} (not within ${timeout} ms: ${error.message.split('\n')[0]})`);
  }
}

/** The file browser's row of the file or folder called exactly `name`. */
export function fileRow(page, name) {
  const exact = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  return page
    .locator('.jp-DirListing-content .jp-DirListing-item')
    .filter({ has: page.locator('.jp-DirListing-itemText', { hasText: exact }) });
}

/** Waits until the file browser lists `name`; a Failure naming what it lists otherwise. */
export async function expectListed(page, name, timeout = TIMEOUT) {
  try {
    await fileRow(page, name).waitFor({ state: 'visible', timeout });
  } catch {
    const listed = await page.locator('.jp-DirListing-itemText').allInnerTexts();
    throw new Failure(`the file browser does not list ${name}; it lists: ${listed.join(', ')}`);
  }
}

/** JupyterLab asks whether to fetch Jupyter news: answer No (before any modal dialog). */
export async function dismissNews(page, wait = 0, timeout = TIMEOUT) {
  const news = page.locator('.Toastify__toast', { hasText: 'official Jupyter news' });
  if (wait) await news.waitFor({ timeout: wait }).catch(() => {});
  if ((await news.isVisible()) && !(await page.locator('.jp-Dialog').isVisible())) {
    await news.getByRole('button', { name: 'No', exact: true }).click({ timeout });
    await news.waitFor({ state: 'hidden', timeout }).catch(() => {});
  }
}

/**
 * Runs JupyterLab's command `id` with `args` in `page` and waits until it is done. Its result
 * stays in the page: a command may resolve to a widget, which Playwright cannot serialize.
 */
export async function runCommand(page, id, args = {}) {
  await page.evaluate(
    async ([id, args]) => {
      await window.jupyterapp.commands.execute(id, args);
    },
    [id, args]
  );
}

/** Waits until the JupyterLab loaded in `page` has started and restored its layout. */
export async function waitForLab(page, timeout = TIMEOUT) {
  const started = () => window.jupyterapp !== undefined;
  await waitInPage(page, 'JupyterLab did not start', started, null, timeout);
  await page.evaluate(async () => {
    await Promise.all([window.jupyterapp.started, window.jupyterapp.restored]);
  });
}

/** Opens JupyterLab at `base` with `token` (layout reset) and waits until it is restored. */
export async function openLab(page, base, token, timeout = TIMEOUT) {
  const url = new URL(base);
  url.searchParams.set('token', token ?? '');
  url.searchParams.set('reset', '');
  await page.goto(url.href, { timeout });
  await waitForLab(page, timeout);
  await dismissNews(page, 0, timeout); // asked only where the lab runner's settings are missing
}

/** Waits until the current document is the loaded file `path`. */
export async function waitForDocument(page, path, reason = `${path} did not open`) {
  const opened = path => {
    const widget = window.jupyterapp.shell.currentWidget;
    return widget?.context?.path === path && widget.context.isReady;
  };
  await waitInPage(page, reason, opened, path);
}

/**
 * Opens the notebook `name` by double-clicking its row in the file browser; resolves to its
 * first cell once it is loaded and current, and its kernel (if it has one) idle.
 */
export async function openNotebook(page, name) {
  await fileRow(page, name).dblclick({ timeout: TIMEOUT });
  await waitForDocument(page, name);
  await waitForKernel(page, name);
  return page.locator('.jp-NotebookPanel:visible .jp-Notebook .jp-Cell').first();
}

/**
 * Waits until the current notebook's kernel (if it has one) is connected and idle: its
 * language_info would make the notebook dirty again after a save.
 */
export async function waitForKernel(page, name) {
  await waitInPage(page, `the kernel of ${name} did not become idle`, () => {
    const sessionContext = window.jupyterapp.shell.currentWidget.sessionContext;
    const kernel = sessionContext.session?.kernel;
    return sessionContext.isReady && (!kernel || kernel.status === 'idle');
  });
}

/**
 * The REST API of the Jupyter server whose JupyterLab is at `base` (…/lab), as `token`:
 * `request(method, path, body)` resolves to the parsed JSON answer (null if empty); an
 * answer that is not ok is a Failure.
 */
export function api(base, token) {
  const root = base.replace(/lab\/?$/, '');
  return async (method, path, body) => {
    const response = await fetch(new URL(path, root), {
      method,
      headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body)
    });
    const text = await response.text();
    check(response.ok, `${method} ${path} answered ${response.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  };
}
