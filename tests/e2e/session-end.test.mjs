// End-to-end: logins that keep the page (a popup) and sessions that end when they should (idle
// logout), with the built package (pkg/), a real OpenID provider (oidc-provider,
// tests/support/provider.mjs) and Chromium with its popup blocker on, as in a user's browser.
// The app is tests/e2e/pages/app.html: a status line, a popup-login button, window.events.
//
//   bash scripts/build.sh && node --test tests/e2e/session-end.test.mjs
import { test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { startProvider } from "../support/provider.mjs";
import { startAppServer } from "../support/app-server.mjs";
import { launchBrowser } from "../support/browser.mjs";

const CLIENT_ID = "pixy-session-end";
const WAIT = 15_000;
const TEST_TIMEOUT = 90_000;

let app;
let op;
let browser;
let log = [];
let pages = [];

const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

before(async () => {
  if (!existsSync(new URL("../../pkg/index.js", import.meta.url))) {
    throw new Error("pkg/index.js is missing: build the package first (bash scripts/build.sh)");
  }
  app = await startAppServer({ host: "localhost", port: 0, mounts: { "/t/": "tests/e2e/pages" } });
  op = await startProvider({
    quiet: true,
    clients: [
      {
        client_id: CLIENT_ID,
        redirect_uris: [`${app.origin}/t/app.html`, `${app.origin}/silent.html`],
        post_logout_redirect_uris: [`${app.origin}/t/app.html`],
      },
    ],
  });
  browser = await launchBrowser({ thirdPartyCookies: "block", popupBlocking: true });
  browser.context.setDefaultTimeout(WAIT);
  browser.context.setDefaultNavigationTimeout(WAIT);
});

after(async () => {
  await browser?.close();
  await Promise.allSettled([app?.close(), op?.close()]);
});

/** The app's configuration: the popup comes back to the silent page; `extra` on top. */
function configure(extra = {}) {
  app.setConfig({
    issuer: op.issuer,
    clientId: CLIENT_ID,
    redirectUri: `${app.origin}/t/app.html`,
    silentRedirectUri: `${app.origin}/silent.html`,
    postLogoutRedirectUri: `${app.origin}/t/app.html`,
    // No silent restore: each test logs in itself (a top-level prompt=none would navigate).
    sessionRestore: "none",
    debug: true,
    ...extra,
  });
}

beforeEach(async () => {
  log = [];
  for (const p of browser.context.pages()) await p.close().catch(() => {});
  pages = [];
  await browser.context.clearCookies();
  configure();
});

afterEach(async () => {
  for (const p of browser.context.pages()) await p.close().catch(() => {});
});

function e2e(name, fn) {
  test(name, { timeout: TEST_TIMEOUT }, async () => {
    try {
      await fn();
    } catch (err) {
      err.message += `\n--- log ---\n${log.slice(-60).join("\n")}`;
      throw err;
    }
  });
}

/** A tab on the test app, settled (createOidc resolved). */
async function openApp(name) {
  const page = await browser.context.newPage();
  page.on("console", (m) => log.push(`[${name} ${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => log.push(`[${name} pageerror] ${e.message}`));
  page.on("framenavigated", (f) => f === page.mainFrame() && log.push(`[${name} navigated] ${f.url()}`));
  await page.goto(`${app.origin}/t/app.html`);
  await page.waitForFunction(() => window.oidc !== undefined);
  pages.push(page);
  return page;
}

const status = (page) => page.locator("#status").textContent();

/** Clicks "Log in (popup)" and signs in as `user` in the popup. */
async function popupLogin(page, user = "alice") {
  const opened = page.context().waitForEvent("page");
  await page.click("#popup");
  const popup = await opened;
  popup.on("console", (m) => log.push(`[popup ${m.type()}] ${m.text()}`));
  await popup.fill("input[name=login]", user);
  await popup.getByRole("button", { name: "Sign in" }).click();
  await page.waitForFunction(() => window.popupResult !== "pending", null, { timeout: WAIT });
  return popup;
}

const events = (page, type) => page.evaluate((t) => window.events.filter((e) => e.type === t), type);

// ---------------------------------------------------------------------------------------------
// Popup login

e2e("login({ popup: true }) logs in without leaving the page, and every tab with it", async () => {
  const a = await openApp("a");
  const b = await openApp("b");
  const pageId = await a.evaluate(() => window.pageId);
  assert.equal(await status(a), "logged out");
  const popup = await popupLogin(a, "alice");
  assert.equal(await a.evaluate(() => window.popupResult), "ok true");
  assert.equal(await a.evaluate(() => window.pageId), pageId, "the page never reloaded");
  assert.equal(a.url(), `${app.origin}/t/app.html`, "the URL is the app's, without a response");
  assert.equal(await status(a), "logged in as alice");
  await b.waitForFunction(() => document.getElementById("status").textContent === "logged in as alice");
  if (!popup.isClosed()) await popup.waitForEvent("close", { timeout: WAIT }).catch(() => {});
  assert.ok(popup.isClosed(), "the library closed the popup");
  const stored = await a.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }));
  const tokens = await a.evaluate(() => window.oidc.getTokens());
  assert.ok(!stored.includes(tokens.accessToken) && !stored.includes(tokens.idToken), "no token in storage");
  assert.ok(!stored.includes(":login:"), "no login in flight in storage either");
  const login = op.authRequests.at(-1).params;
  assert.equal(login.redirect_uri, `${app.origin}/silent.html`);
  assert.equal(login.prompt, undefined, "an interactive request");
});

e2e("a popup opened without a click is blocked at once with popup_blocked", async () => {
  // A browser of its own, where no page of the site was ever clicked in.
  const fresh = await launchBrowser({ thirdPartyCookies: "block", popupBlocking: true });
  try {
    const a = await fresh.context.newPage();
    a.on("console", (m) => log.push(`[a ${m.type()}] ${m.text()}`));
    // The page asks for the popup as it loads: no click, so the popup blocker refuses. Nothing
    // is evaluated in the page until then: playwright evaluates as if the user had clicked.
    const said = a.waitForEvent("console", { predicate: (m) => m.text().startsWith("popup-result "), timeout: WAIT });
    await a.goto(`${app.origin}/t/app.html#popup-at-load`, { waitUntil: "commit" });
    const [, code, ms] = (await said).text().split(" ");
    assert.equal(code, "popup_blocked");
    assert.ok(Number(ms) < 200, `at once (${ms} ms)`);
    assert.ok(!fresh.context.pages().some((p) => p.url().startsWith(op.issuer)), "no window at the provider");
    assert.equal(await status(a), "logged out");
    // The page keeps working: a click opens it.
    await popupLogin(a, "alice");
    assert.equal(await a.evaluate(() => window.popupResult), "ok true");
  } finally {
    await fresh.close();
  }
});

e2e("closing the popup rejects with login_cancelled within a second", async () => {
  const a = await openApp("a");
  const opened = a.context().waitForEvent("page");
  await a.click("#popup");
  const popup = await opened;
  await popup.waitForSelector("input[name=login]");
  await popup.close();
  // Once close() returned the window is gone; the page records when the login settled.
  const closedAt = Date.now();
  await a.waitForFunction(() => window.popupResult !== "pending", null, { timeout: WAIT, polling: 50 });
  const took = (await a.evaluate(() => window.popupSettledAt)) - closedAt;
  assert.equal(await a.evaluate(() => window.popupResult), "login_cancelled");
  assert.ok(took <= 1_000, `rejected ${took} ms after the popup closed`);
  assert.equal(await status(a), "logged out");
});

e2e("a message from another window, or with another state, is not read", async () => {
  const a = await openApp("a");
  const codes = op.tokenRequests.filter((r) => r.grant_type === "authorization_code").length;
  const opened = a.context().waitForEvent("page");
  await a.click("#popup");
  const popup = await opened;
  await popup.waitForSelector("input[name=login]");
  // The app's page posts a forged answer to itself: not the popup's window, not its state.
  await a.evaluate(() => window.postMessage(`pixy-oidc:popup:${location.origin}/silent.html?code=forged&state=x`, location.origin));
  await sleep(300);
  assert.equal(await a.evaluate(() => window.popupResult), "pending");
  await popup.fill("input[name=login]", "alice");
  await popup.getByRole("button", { name: "Sign in" }).click();
  await a.waitForFunction(() => window.popupResult !== "pending");
  assert.equal(await a.evaluate(() => window.popupResult), "ok true");
  const exchanges = op.tokenRequests.filter((r) => r.grant_type === "authorization_code").slice(codes);
  assert.deepEqual(exchanges.map((r) => r.status), [200], "one code exchange: the popup's");
});

// ---------------------------------------------------------------------------------------------
// Idle logout

/** Moves the mouse in `page` every `every` ms for `ms`. */
async function keepActive(page, ms, every = 500) {
  const end = Date.now() + ms;
  for (let i = 0; Date.now() < end; i++) {
    await page.mouse.move(10 + (i % 20) * 5, 10 + (i % 7) * 5);
    await sleep(every);
  }
}

e2e("idle: activity in one of three tabs keeps all; then all warn, and all log out together", async () => {
  configure({ idleTimeoutMs: 6_000, idleWarningMs: 3_000, idleLogoutAtProvider: false });
  // All three open before the login, so that all count from it (opening a tab is no activity
  // of the user's: tabs opened later would find tab a's count already running).
  const a = await openApp("a");
  const b = await openApp("b");
  const c = await openApp("c");
  await b.evaluate(() => addEventListener("pointermove", () => (window.lastMove = Date.now()), true));
  await popupLogin(a, "alice");
  for (const p of [b, c]) await p.waitForFunction(() => window.oidc.isLoggedIn, null, { timeout: WAIT });
  // 9 s of activity in tab b only: longer than the timeout.
  await keepActive(b, 9_000);
  // The library counts at most one activity a second, so its count may start up to a second
  // before the last move.
  const stopped = await b.evaluate(() => window.lastMove);
  for (const p of [a, b, c]) {
    assert.deepEqual(await events(p, "idleWarning"), [], "no warning while tab b is active");
    assert.ok(await p.evaluate(() => window.oidc.isLoggedIn));
  }
  for (const p of [a, b, c]) await p.waitForFunction(() => window.events.some((e) => e.type === "idleWarning"), null, { timeout: 6_000 });
  for (const p of [a, b, c]) {
    const [w] = await events(p, "idleWarning");
    assert.ok(w.msLeft > 1_500 && w.msLeft <= 3_000, `msLeft ${w.msLeft}`);
    assert.ok(w.at - stopped >= 2_000 && w.at - stopped < 4_500, `warned ${w.at - stopped} ms after the last activity`);
  }
  for (const p of [a, b, c]) await p.waitForFunction(() => window.events.some((e) => e.type === "loggedOut"), null, { timeout: 6_000 });
  const outs = [];
  for (const p of [a, b, c]) {
    const [out] = await events(p, "loggedOut");
    assert.equal(out.reason, "idle");
    assert.equal(await status(p), "logged out");
    outs.push(out.at);
  }
  assert.ok(Math.max(...outs) - Math.min(...outs) < 1_000, `all tabs within a second: ${outs.map((t) => t - stopped)}`);
  assert.ok(outs[0] - stopped >= 5_000, `logged out ${outs[0] - stopped} ms after the last activity`);
  assert.equal(op.endSessions.length, 0, "idleLogoutAtProvider: false leaves the provider alone");
});

e2e("idle: activity in any tab cancels the warning in every tab", async () => {
  configure({ idleTimeoutMs: 5_000, idleWarningMs: 3_000, idleLogoutAtProvider: false });
  const a = await openApp("a");
  const b = await openApp("b");
  await popupLogin(a, "alice");
  await b.waitForFunction(() => window.oidc.isLoggedIn, null, { timeout: WAIT });
  for (const p of [a, b]) await p.waitForFunction(() => window.events.some((e) => e.type === "idleWarning"), null, { timeout: 6_000 });
  await b.evaluate(() => window.oidc.reportActivity());
  for (const p of [a, b]) {
    await p.waitForFunction(() => window.events.some((e) => e.type === "idleWarningCancelled"), null, { timeout: 5_000 });
  }
  await sleep(2_500);
  for (const p of [a, b]) assert.ok(await p.evaluate(() => window.oidc.isLoggedIn), "still logged in past the old deadline");
});

e2e("idle: the logout also ends the provider's session unless told otherwise", async () => {
  configure({ idleTimeoutMs: 3_000, idleWarningMs: 1_000 });
  const a = await openApp("a");
  await popupLogin(a, "alice");
  const before = op.endSessions.length;
  await a.waitForURL((u) => u.href.startsWith(op.issuer), { timeout: 8_000 });
  await a.waitForURL(`${app.origin}/t/app.html`, { timeout: WAIT });
  await a.waitForFunction(() => window.oidc !== undefined);
  assert.equal(await status(a), "logged out");
  const ends = op.endSessions.slice(before);
  assert.ok(ends.length >= 1, "an RP-initiated logout");
  assert.ok(ends[0].id_token_hint, "with id_token_hint");
});
