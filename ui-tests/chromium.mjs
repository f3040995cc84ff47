// Debian's Chromium, headless, as this machine allows it: no sandbox (root), no GPU, and no
// background networking (the closed network refuses Chromium's own connections), with a
// fresh profile. Shared by the UI tests and docs/make-screenshot.mjs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync'
];

/** The browser binary: CS3LAB_CHROMIUM, or Debian's. */
const executablePath = () => process.env.CS3LAB_CHROMIUM || '/usr/bin/chromium';

/** Launches Chromium; returns {context, profile} (remove profile when done). */
export async function launchChromium({ timeout, viewport }) {
  const profile = mkdtempSync(join(tmpdir(), 'cs3lab-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: executablePath(),
    headless: true,
    timeout,
    viewport,
    args: CHROMIUM_ARGS
  });
  return { context, profile };
}

/** Launches Chromium for browser contexts of its own (browser.newContext()); close it when done. */
export function launchBrowser({ timeout }) {
  return chromium.launch({
    executablePath: executablePath(),
    headless: true,
    timeout,
    args: CHROMIUM_ARGS
  });
}
