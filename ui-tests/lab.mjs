// What the browser tests share: logging, failures, waiting in the page, file browser rows.
const TIMEOUT = Number(process.env.CS3LAB_TIMEOUT_MS || 60_000);

/** A failure of the test itself (what the page did is wrong), as opposed to a crash. */
export class Failure extends Error {}

export const check = (ok, reason) => {
  if (!ok) throw new Failure(reason);
};

/** `[tag 12.3s] message` lines, timed from the start of the script. */
export function logger(tag) {
  const start = Date.now();
  return msg => console.log(`[${tag} ${((Date.now() - start) / 1000).toFixed(1)}s] ${msg}`);
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

/** JupyterLab asks whether to fetch Jupyter news: answer No (before any modal dialog). */
export async function dismissNews(page, wait = 0, timeout = TIMEOUT) {
  const news = page.locator('.Toastify__toast', { hasText: 'official Jupyter news' });
  if (wait) await news.waitFor({ timeout: wait }).catch(() => {});
  if ((await news.isVisible()) && !(await page.locator('.jp-Dialog').isVisible())) {
    await news.getByRole('button', { name: 'No', exact: true }).click({ timeout });
    await news.waitFor({ state: 'hidden', timeout }).catch(() => {});
  }
}

/** Opens JupyterLab at `base` with `token` (layout reset) and waits until it is restored. */
export async function openLab(page, base, token, timeout = TIMEOUT) {
  const url = new URL(base);
  url.searchParams.set('token', token);
  url.searchParams.set('reset', '');
  await page.goto(url.href, { timeout });
  await page.waitForFunction(() => window.jupyterapp !== undefined, null, { timeout });
  await page.evaluate(() => Promise.all([window.jupyterapp.started, window.jupyterapp.restored]));
  await dismissNews(page, 5000, timeout);
}
