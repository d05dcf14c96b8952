// Takes docs/demo.png, the demo page as a user sees it after logging in and renewing once, for
// the README: `bash scripts/build.sh && node scripts/screenshot.mjs`. Everything runs locally
// (the demo server and provider of `npm start`, on free ports) and stops by itself.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startDev } from "./dev.mjs";
import { launchBrowser } from "../tests/support/browser.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dev = await startDev({ appPort: 0, providerPort: 0 });
const browser = await launchBrowser();
try {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1000, height: 1250 });
  await page.goto(`${dev.origin}/`);
  await page.waitForFunction(() => document.getElementById("status").textContent === "logged out", null, { timeout: 20_000 });
  await page.click("#login");
  await page.waitForURL((u) => u.href.startsWith(dev.provider.issuer), { timeout: 20_000 });
  await page.fill('input[name="login"]', "ada");
  await page.locator('button[type="submit"]').first().click();
  await page.waitForFunction(() => document.getElementById("status").textContent === "logged in", null, { timeout: 20_000 });
  await page.click("#renew");
  await page.waitForFunction(() => document.getElementById("renewals").textContent !== "0", null, { timeout: 20_000 });
  await page.click("#userinfo");
  await page.waitForTimeout(500);
  await page.screenshot({ path: path.join(root, "docs/demo.png"), fullPage: true });
  console.log("wrote docs/demo.png");
} finally {
  await browser.close();
  await dev.close();
}
