#!/usr/bin/env node
// Takes docs/screenshot.png from a running demo (bash scripts/demo.sh), in Debian's headless
// Chromium driven by playwright-core from ui-tests/node_modules (npm ci --prefix ui-tests):
//   CS3LAB_LAB_URL='http://127.0.0.1:8888/lab?token=...' node docs/make-screenshot.mjs [out.png]
// It opens welcome.ipynb, runs its code cell, saves it (a real upload to the CS3 site), checks
// that the file browser lists the seeded files and that the status bar item shows
// "CS3: Alice Anders @ site-a", then takes the screenshot.
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "../ui-tests/chromium.mjs";

const here = dirname(fileURLToPath(import.meta.url));

const TIMEOUT = 180_000;
const EXPECT_STATUS = "CS3: Alice Anders @ site-a";
const EXPECT_FILES = ["analysis", "README.md", "welcome.ipynb"];
const out = process.argv[2] || join(here, "screenshot.png");
const given = new URL(process.env.CS3LAB_LAB_URL ?? "");
const url = new URL("/lab/tree/welcome.ipynb", given);
url.searchParams.set("token", given.searchParams.get("token") ?? "");
url.searchParams.set("reset", "");

const { context, profile } = await launchChromium({
  timeout: TIMEOUT,
  viewport: { width: 1280, height: 760 },
});
let code = 0;
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(TIMEOUT);
  await page.goto(url.href);

  // The file browser lists alice's CS3 home.
  for (const name of EXPECT_FILES) {
    await page
      .locator(".jp-DirListing-content .jp-DirListing-itemText", {
        hasText: name,
      })
      .first()
      .waitFor();
  }
  // The status bar item has asked the server who we are.
  const status = page.locator(
    '.cs3lab-StatusItem[data-cs3lab-state="connected"]',
  );
  await status.waitFor();
  const statusText = (await status.innerText()).trim();
  if (statusText !== EXPECT_STATUS) {
    throw new Error(`status bar shows "${statusText}", not "${EXPECT_STATUS}"`);
  }

  // welcome.ipynb is open and its kernel is idle: run the code cell, then save.
  const panel = page.locator(".jp-NotebookPanel:visible");
  await panel.locator(".jp-Cell").first().waitFor();
  // The kernel has started (the status bar names it) and is idle.
  await page
    .locator("#jp-main-statusbar", {
      hasText: /Python 3 \(ipykernel\) \| Idle/,
    })
    .waitFor();
  await panel.locator(".jp-CodeCell .cm-content").first().click();
  await page.keyboard.press("Control+Enter");
  await panel
    .locator(".jp-CodeCell .jp-OutputArea-output", {
      hasText: "working directory",
    })
    .waitFor();
  await page.keyboard.press("Control+s");
  await page.locator(".jp-mod-dirty").waitFor({ state: "detached" });

  // Hide toasts (e.g. JupyterLab's question about fetching Jupyter news) without answering
  // them: an answer would be stored in the user's JupyterLab settings.
  await page.addStyleTag({
    content: ".Toastify { display: none !important; }",
  });
  await page.mouse.move(0, 0);
  await page.waitForTimeout(500);
  await page.screenshot({ path: out });
  console.log(
    `screenshot ${out}: files ${EXPECT_FILES.join(", ")}; status "${statusText}"`,
  );
} catch (error) {
  code = 1;
  console.error(`FAIL: ${error.message}`);
  const page = context.pages()[0];
  if (page) {
    await page.screenshot({ path: `${out}.failure.png` }).catch(() => {});
  }
} finally {
  await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
process.exit(code);
