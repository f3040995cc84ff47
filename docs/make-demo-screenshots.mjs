#!/usr/bin/env node
// Screenshots of the running demo (bash scripts/demo.sh), in Debian's headless Chromium driven
// by playwright-core from ui-tests/node_modules (npm ci --prefix ui-tests):
//   CS3LAB_ALICE_URL='http://127.0.0.1:8888/lab?token=…' CS3LAB_BOB_URL='http://127.0.0.1:8889/lab?token=…' \
//   CS3LAB_SCREENSHOT_DIR=docs/demo node docs/make-demo-screenshots.mjs
// alice and bob, each in a browser context of their own:
//   demo-alice-locked.png  alice's analysis folder, station-summary.ipynb open read-only: carol edits it;
//   demo-bob-shared.png    bob's "Shared with me" place: alice's folder, and his copy in his home;
//   demo-bob-changes.png   "Show changes" on bob's copy: nbdime's diff against alice's original.
import {
  check,
  openLab,
  runCommand,
  runScenario,
  waitForDocument,
  waitInPage,
} from "../ui-tests/lab.mjs";

const env = process.env;
const LOCKED = "station-summary.ipynb";
const COPY = "calibration (bob's copy).ipynb";

function lab(url) {
  const given = new URL(url);
  const token = given.searchParams.get("token") ?? "";
  given.search = "";
  return { base: given.href, token };
}

async function openReadOnly(page, path, reason) {
  await runCommand(page, "docmanager:open", { path });
  await waitForDocument(page, path);
  await waitInPage(page, reason, () =>
    [...document.querySelectorAll(".cs3lab-LockBanner")].some(
      (banner) =>
        banner.offsetParent !== null &&
        /is editing/.test(banner.textContent ?? ""),
    ),
  );
}

process.exitCode = await runScenario({
  tag: "demo",
  shots: "demo-",
  required: ["CS3LAB_ALICE_URL", "CS3LAB_BOB_URL"],
  pages: ["alice", "bob"],
  viewport: { width: 1280, height: 720 },
  run: async ({ alice, bob }, shot) => {
    const a = lab(env.CS3LAB_ALICE_URL);
    await openLab(alice, a.base, a.token);
    await runCommand(alice, "filebrowser:go-to-path", { path: "analysis/" });
    await openReadOnly(
      alice,
      `analysis/${LOCKED}`,
      "alice does not see carol editing the summary",
    );
    await alice.waitForTimeout(800);
    await shot(alice, "alice-locked");

    const b = lab(env.CS3LAB_BOB_URL);
    await openLab(bob, b.base, b.token);
    await runCommand(bob, "filebrowser:go-to-path", {
      path: "Shared with me/analysis/",
    });
    await openReadOnly(
      bob,
      `Shared with me/analysis/${LOCKED}`,
      "bob does not see carol editing",
    );
    await bob.waitForTimeout(800);
    await shot(bob, "bob-shared");

    await runCommand(bob, "filebrowser:go-to-path", { path: "/" });
    await runCommand(bob, "cs3lab:show-changes", { path: COPY });
    const diff = bob.locator(".cs3lab-DiffView:visible");
    await diff.waitFor({ state: "visible" });
    await bob.waitForTimeout(1200);
    const text = await diff.innerText();
    check(
      text.includes("ridge thermometer"),
      `bob's diff does not show his cell: ${text.slice(0, 300)}`,
    );
    await shot(bob, "bob-changes");
    return "alice and bob see carol editing; bob sees his changes against alice's original";
  },
});
