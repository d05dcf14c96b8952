// Launches Debian's Chromium through playwright-core with a fresh profile. Third-party cookies are
// blocked or allowed by the profile's preferences, as a user would set them.
import { chromium } from "playwright-core";
import { mkdtemp, mkdir, writeFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

// playwright-core launches Chromium with --disable-features=...,ThirdPartyStoragePartitioning,...
// (microsoft/playwright#32230), so by default a cross-site iframe shares localStorage,
// BroadcastChannel and Web Locks with first-party tabs, which Chrome itself (partitioned since 115)
// does not. `storagePartitioning: true` repeats Playwright's list without that feature: Chromium
// keeps the last --disable-features switch, and partitioning is on by default.
const PLAYWRIGHT_DISABLED_FEATURES_BUT_PARTITIONING = [
  "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
  "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding",
  "AvoidCorsURLLoaderRestartOnRedirect", "OptimizationHints", "NetworkTimeServiceQuerying", "AimEnabled",
  "PreconnectToSearch",
];

/**
 * @param {{ thirdPartyCookies?: "block" | "allow", args?: string[], popupBlocking?: boolean,
 *           storagePartitioning?: boolean }} opts
 *   args: more command-line switches, e.g. `--host-resolver-rules=MAP app.test 127.0.0.1`
 *   (http://app.test is then a page that is not a secure context).
 *   popupBlocking: keep Chromium's popup blocker on (playwright turns it off by default), so a
 *   popup opened without a click is refused as in a user's browser.
 *   storagePartitioning: storage of third-party frames partitioned as in Chrome (see above).
 * @returns {Promise<{ context: import("playwright-core").BrowserContext, close(): Promise<void> }>}
 */
export async function launchBrowser(opts = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "pixy-chromium-"));
  await mkdir(path.join(dir, "Default"), { recursive: true });
  const mode = opts.thirdPartyCookies === "allow" ? 0 : 1;
  await writeFile(
    path.join(dir, "Default", "Preferences"),
    JSON.stringify({ profile: { cookie_controls_mode: mode } }),
  );
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [...CHROMIUM_ARGS, ...(opts.args ?? []),
      ...(opts.storagePartitioning ? [`--disable-features=${PLAYWRIGHT_DISABLED_FEATURES_BUT_PARTITIONING.join(",")}`] : [])],
    ignoreDefaultArgs: opts.popupBlocking ? ["--disable-popup-blocking"] : undefined,
    timeout: 30_000,
  });
  context.setDefaultTimeout(15_000);
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    },
  };
}
