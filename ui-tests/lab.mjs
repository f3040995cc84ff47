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
