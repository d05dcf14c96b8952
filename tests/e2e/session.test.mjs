// End-to-end: sessions that survive reloads, stay fresh and agree across tabs (docs/API.md, createOidc
// step 2, getTokens / renewTokens / subscribe). The demo page (www/index.html) with the built
// package (pkg/), real OpenID providers (tests/support/provider.mjs) and Chromium with third-party
// cookies blocked. Asserts what the user sees and what the provider saw.
//
//   bash scripts/build.sh && node --test tests/e2e/session.test.mjs
//
// Sites: the providers listen on 127.0.0.1. `sameApp` (127.0.0.1, another port) is same-site with
// them, so a hidden iframe sees the provider's SameSite=None cookie; `crossApp` (localhost) is
// cross-site, so with third-party cookies blocked it cannot, and only another tab or a top-level
// prompt=none redirect can restore a session there.
//
// Renewal runs against `renewOp`, whose access tokens live TTL_S = 12 s. A renewal is due a quarter
// of the token's lifetime before it expires (at most a minute before): here 3 s before, so 9 s after
// it was issued. The tests ask that it happens then, once per token for all tabs, and that
// getTokens() renews a token whose renewal is due.
import { test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { startProvider } from "../support/provider.mjs";
import { startAppServer } from "../support/app-server.mjs";
import { launchBrowser } from "../support/browser.mjs";

const CLIENT_ID = "pixy-session";
const WAIT = 15_000;
const TEST_TIMEOUT = 90_000;
const TTL_S = 12;
/** How long before expiry a renewal is due: a quarter of the lifetime. */
const LEAD_MS = (TTL_S * 1000) / 4;
// Two renewals closer than this renewed the same token twice (tabs racing).
const MIN_RENEWAL_GAP_MS = 5_000;
const CROSS_TAB_MS = 1000;
const RESPONSE_PARAMS = ["code", "state", "iss", "session_state", "error", "error_description"];

let restoreOp; // default lifetimes: restore, tabs, logout
let renewOp; // short-lived access tokens: renewal
let sameApp; // 127.0.0.1 → restoreOp, same site
let crossApp; // localhost → restoreOp, another site
let renewApp; // 127.0.0.1 → renewOp
let browser;
let tabs = [];
let log = [];

const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

before(async () => {
  if (!existsSync(new URL("../../pkg/index.js", import.meta.url))) {
    throw new Error("pkg/index.js is missing: build the package first (bash scripts/build.sh)");
  }
  [sameApp, crossApp, renewApp] = await Promise.all([
    startAppServer({ host: "127.0.0.1", port: 0 }),
    startAppServer({ host: "localhost", port: 0 }),
    startAppServer({ host: "127.0.0.1", port: 0 }),
  ]);
  const client = (...apps) => ({
    client_id: CLIENT_ID,
    redirect_uris: apps.flatMap((a) => [`${a.origin}/`, `${a.origin}/silent.html`]),
    post_logout_redirect_uris: apps.map((a) => `${a.origin}/`),
  });
  [restoreOp, renewOp] = await Promise.all([
    startProvider({ quiet: true, clients: [client(sameApp, crossApp)] }),
    startProvider({ quiet: true, clients: [client(renewApp)], ttl: { AccessToken: TTL_S } }),
  ]);
  sameApp.op = restoreOp;
  crossApp.op = restoreOp;
  renewApp.op = renewOp;
  for (const app of [sameApp, crossApp, renewApp]) {
    app.baseConfig = { issuer: app.op.issuer, clientId: CLIENT_ID, debug: !!process.env.PIXY_DEBUG };
    app.setConfig(app.baseConfig);
  }
  browser = await launchBrowser({ thirdPartyCookies: "block" });
  browser.context.setDefaultTimeout(WAIT);
  browser.context.setDefaultNavigationTimeout(WAIT);
  // Every top-level document records when #status changes (for "within 1 s" across tabs).
  await browser.context.addInitScript(() => {
    if (window.top !== window) return;
    window.__statusLog = [];
    let last;
    const rec = () => {
      const el = document.getElementById("status");
      const s = el?.textContent.trim();
      if (el && s !== last) {
        last = s;
        window.__statusLog.push({ status: s, at: Date.now() });
      }
    };
    new MutationObserver(rec).observe(document, { childList: true, subtree: true, characterData: true });
  });
});

after(async () => {
  await browser?.close();
  await Promise.allSettled([sameApp, crossApp, renewApp, restoreOp, renewOp].map((s) => s?.close()));
});

// Isolation: no provider session, no app storage, no tab left over (a leftover tab would hand
// its session to the next test's tabs).
beforeEach(async () => {
  log = [];
  tabs = [];
  for (const p of browser.context.pages()) await p.close().catch(() => {});
  await browser.context.clearCookies();
  restoreOp.resume();
  renewOp.resume();
  const page = await browser.context.newPage();
  for (const app of [sameApp, crossApp, renewApp]) {
    app.setConfig(app.baseConfig);
    await page.goto(`${app.origin}/404-blank`);
    await page.evaluate(() => {
      localStorage.clear();
      sessionStorage.clear();
    });
  }
  await page.close();
});

afterEach(async () => {
  restoreOp.resume();
  renewOp.resume();
  for (const p of browser.context.pages()) await p.close().catch(() => {});
});

/** Runs a test body; on failure, appends what the tabs logged and where they are. */
function e2e(name, fn, timeout = TEST_TIMEOUT) {
  test(name, { timeout }, async () => {
    try {
      await fn();
    } catch (err) {
      const where = tabs.map((t) => `${t.name}: ${t.page.isClosed() ? "(closed)" : t.page.url()}`).join("\n");
      err.message += `\n--- log ---\n${log.slice(-80).join("\n")}\n--- tabs ---\n${where}`;
      throw err;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Tabs and what they send to the providers

async function newTab(name) {
  const page = await browser.context.newPage();
  const tab = { name, page, requests: [] };
  const issuers = [restoreOp.issuer, renewOp.issuer];
  page.on("console", (m) => log.push(`[${name} console.${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => log.push(`[${name} pageerror] ${e.message}`));
  page.on("framenavigated", (f) => {
    if (f === page.mainFrame()) log.push(`[${name} navigated] ${f.url()}`);
  });
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (!issuers.includes(url.origin)) return;
    let main = false;
    try {
      main = r.frame() === page.mainFrame();
    } catch {
      // not from a frame
    }
    const entry = {
      at: Date.now(),
      method: r.method(),
      path: url.pathname,
      params: Object.fromEntries(url.searchParams),
      main,
    };
    tab.requests.push(entry);
    if (entry.path === "/auth" || entry.path === "/token") {
      log.push(`[${name} ${main ? "top-level" : "iframe"} ${r.method()} ${entry.path}${entry.params.prompt ? ` prompt=${entry.params.prompt}` : ""}]`);
    }
  });
  tabs.push(tab);
  return tab;
}

const since = (tab, t) => tab.requests.filter((r) => r.at >= t);
const authorize = (reqs) => reqs.filter((r) => r.path === "/auth" && r.method === "GET");
const topLevelAuth = (reqs) => authorize(reqs).filter((r) => r.main);
const iframeAuth = (reqs) => authorize(reqs).filter((r) => !r.main);
const tokenPosts = (reqs) => reqs.filter((r) => r.path === "/token" && r.method === "POST");
const describe = (reqs) => reqs.map((r) => `${r.main ? "top" : "iframe"} ${r.method} ${r.path} ${JSON.stringify(r.params)}`).join("; ") || "none";

/**
 * Waits until the tab shows a new document of `app` (not one marked before a reload) that says
 * data-ready="1" and stays put for 300 ms (a page that redirects away right after would not).
 */
async function settle(tab, app, what = "the app") {
  const { page } = tab;
  const deadline = Date.now() + WAIT;
  for (;;) {
    try {
      const mark = await page.evaluate(
        (origin) =>
          location.origin === origin && !window.__pixyOld && document.body?.dataset.ready === "1"
            ? (window.__pixySettle ??= Math.random())
            : null,
        app.origin,
      );
      if (mark !== null) {
        await sleep(300);
        const again = await page.evaluate(() => window.__pixySettle ?? null);
        if (again === mark && new URL(page.url()).origin === app.origin) return;
      }
    } catch {
      // execution context destroyed by a navigation: poll again
    }
    if (Date.now() > deadline) {
      const status = await page.textContent("#status", { timeout: 1000 }).catch(() => "?");
      throw new Error(`${tab.name}: ${what} never settled within ${WAIT} ms (url ${page.url()}, #status ${status})`);
    }
    await sleep(100);
  }
}

/** Records the library's events in the current document (window.__events). */
async function watchEvents(tab) {
  await tab.page.evaluate(() => {
    if (window.__events || !window.oidc) return;
    window.__events = [];
    window.oidc.subscribe((e) => window.__events.push({ type: e.type, code: e.error?.code, at: Date.now() }));
  });
}
const events = (tab) => tab.page.evaluate(() => window.__events ?? []);

async function open(tab, app) {
  await tab.page.goto(`${app.origin}/`, { waitUntil: "commit" });
  await settle(tab, app);
  await watchEvents(tab);
}

/** Reloads the tab; returns the time just before the reload. */
async function reload(tab, app) {
  await tab.page.evaluate(() => {
    window.__pixyOld = true;
  });
  const t = Date.now();
  await tab.page.reload({ waitUntil: "commit" });
  await settle(tab, app, "the reloaded app");
  await watchEvents(tab);
  return t;
}

function ui(tab) {
  return tab.page.evaluate(() => {
    const text = (id) => (document.getElementById(id)?.textContent ?? "").trim();
    const e = window.oidcError;
    return {
      status: text("status"),
      sub: text("sub"),
      errorCode: text("error-code"),
      error: e ? `${e.code ?? e.name}: ${e.message}` : null,
      url: location.href,
    };
  });
}

async function expectLoggedIn(tab, sub, when, { errorShown = false } = {}) {
  const u = await ui(tab);
  assert.equal(u.status, "logged in", `${tab.name} ${when}: expected "logged in", got ${JSON.stringify(u)}`);
  assert.equal(u.sub, sub, `${tab.name} ${when}: sub`);
  if (!errorShown) assert.equal(u.errorCode, "", `${tab.name} ${when}: no error is shown (${u.error})`);
}

async function expectLoggedOut(tab, when) {
  const u = await ui(tab);
  assert.equal(u.status, "logged out", `${tab.name} ${when}: expected "logged out", got ${JSON.stringify(u)}`);
  assert.equal(u.errorCode, "", `${tab.name} ${when}: no error is shown (${u.error})`);
  assert.equal(u.error, null, `${tab.name} ${when}: createOidc did not reject`);
}

function expectCleanUrl(tab, app) {
  const url = new URL(tab.page.url());
  assert.equal(url.origin + url.pathname, `${app.origin}/`, `${tab.name} is on the app page`);
  const hash = new URLSearchParams(url.hash.slice(1));
  for (const p of RESPONSE_PARAMS) {
    assert.equal(url.searchParams.has(p) || hash.has(p), false, `${tab.name}: URL still has ${p}: ${url.href}`);
  }
}

/** Opens the app (logged out), clicks "Log in", signs in as `user`, waits until logged in. */
async function logIn(tab, app, user) {
  await open(tab, app);
  const u = await ui(tab);
  assert.equal(u.status, "logged out", `${tab.name} should start logged out: ${JSON.stringify(u)}`);
  await tab.page.click("#login");
  await tab.page.waitForURL((x) => x.href.startsWith(`${app.op.issuer}/interaction/`));
  await tab.page.fill("input[name=login]", user);
  await tab.page.getByRole("button", { name: "Sign in" }).click();
  await tab.page.waitForURL((x) => x.origin === app.origin);
  await settle(tab, app, "the app after login");
  await watchEvents(tab);
  await expectLoggedIn(tab, user, "after login");
}

const getTokens = (tab) => tab.page.evaluate(() => window.oidc.getTokens());

/** Opens tabs B and C of `app` next to a logged-in tab; each must be handed the session. */
async function openLoggedInTabs(app, sub, when) {
  const tabs = [];
  for (const name of ["B", "C"]) {
    const tab = await newTab(name);
    await open(tab, app);
    await expectLoggedIn(tab, sub, when);
    tabs.push(tab);
  }
  return tabs;
}

async function waitFor(cond, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

async function withConfig(app, extra, fn) {
  app.setConfig({ ...app.baseConfig, ...extra });
  try {
    await fn();
  } finally {
    app.setConfig(app.baseConfig);
  }
}

/** Everything the tab's origin keeps in storage, as strings to search for secrets. */
function storageDump(tab) {
  return tab.page.evaluate(async () => {
    const out = [];
    for (const s of [localStorage, sessionStorage]) {
      for (let i = 0; i < s.length; i++) out.push(`${s.key(i)}=${s.getItem(s.key(i))}`);
    }
    out.push(`cookie=${document.cookie}`, `location=${location.href}`);
    for (const { name } of (await indexedDB.databases?.()) ?? []) {
      const db = await new Promise((res, rej) => {
        const r = indexedDB.open(name);
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      for (const store of db.objectStoreNames) {
        const os = db.transaction(store, "readonly").objectStore(store);
        const values = await new Promise((res) => {
          const r = os.getAll();
          r.onsuccess = () => res(r.result);
        });
        out.push(`idb ${name}/${store}=${JSON.stringify(values)}`);
      }
      db.close();
    }
    return out;
  });
}

function refreshGrants(op, t = 0) {
  return op.tokenRequests.filter((r) => r.at >= t && r.grant_type === "refresh_token");
}

function expectNoRefreshTokenReused(op) {
  const used = new Map();
  for (const r of refreshGrants(op)) {
    assert.equal(used.has(r.refresh_token), false, "a refresh token was sent twice (a rotated refresh token was reused)");
    used.set(r.refresh_token, r);
    assert.equal(r.status, 200, `every refresh-token grant succeeds (got HTTP ${r.status})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Silent restore

e2e("with another tab of the app open, a new tab and a reload are logged in from that tab: no authorization or token request, nothing stored", async () => {
  const A = await newTab("A");
  await logIn(A, crossApp, "ann");
  const tokensA = await getTokens(A);
  // What the provider issued at A's login (its own record).
  const refreshToken = restoreOp.tokenRequests.findLast((r) => r.status === 200)?.issued?.refresh_token;
  const opBefore = { auth: restoreOp.authRequests.length, token: restoreOp.tokenRequests.length };

  const B = await newTab("B");
  const t = Date.now();
  await open(B, crossApp);
  await expectLoggedIn(B, "ann", "opened while A is logged in");
  await reload(B, crossApp);
  await expectLoggedIn(B, "ann", "reloaded while A is logged in");
  expectCleanUrl(B, crossApp);

  const sent = since(B, t).filter((r) => r.path === "/auth" || r.path === "/token");
  assert.deepEqual(sent, [], `B asked the provider nothing: ${describe(sent)}`);
  assert.equal(restoreOp.authRequests.length, opBefore.auth, "no authorization request at the provider");
  assert.equal(restoreOp.tokenRequests.length, opBefore.token, "no token request at the provider");

  const tokensB = await getTokens(B);
  assert.equal(tokensB.accessToken, tokensA.accessToken, "B holds the tokens A has (handed over, not new ones)");
  assert.equal(tokensB.idToken, tokensA.idToken);

  const secrets = { accessToken: tokensA.accessToken, idTokenSignature: tokensA.idToken.split(".")[2] };
  if (refreshToken) secrets.refreshToken = refreshToken;
  for (const tab of [A, B]) {
    for (const entry of await storageDump(tab)) {
      for (const [what, secret] of Object.entries(secrets)) {
        assert.equal(entry.includes(secret), false, `${what} found in ${tab.name}'s storage: ${entry.replaceAll(secret, `<${what}>`).slice(0, 120)}`);
      }
    }
  }
});

e2e("reload alone with the provider on the same site: restored through one hidden prompt=none iframe answered on the app page, no top-level redirect", async () => {
  const A = await newTab("A");
  await logIn(A, sameApp, "bea");
  const tokensBefore = await getTokens(A);
  const opToken = restoreOp.tokenRequests.length;

  const t = await reload(A, sameApp);
  await expectLoggedIn(A, "bea", "after reload");
  expectCleanUrl(A, sameApp);

  const reqs = since(A, t);
  assert.equal(topLevelAuth(reqs).length, 0, `no top-level redirect to the provider: ${describe(authorize(reqs))}`);
  const frames = iframeAuth(reqs);
  assert.equal(frames.length, 1, `one authorization request from an iframe: ${describe(frames)}`);
  assert.equal(frames[0].params.prompt, "none");
  assert.equal(frames[0].params.redirect_uri, `${sameApp.origin}/`, "answered on the app page (default silentRedirectUri)");
  const grants = restoreOp.tokenRequests.slice(opToken);
  assert.deepEqual(
    grants.map((g) => [g.grant_type, g.redirect_uri, g.status]),
    [["authorization_code", `${sameApp.origin}/`, 200]],
    "one code exchange for the iframe's code",
  );
  assert.notEqual((await getTokens(A)).accessToken, tokensBefore.accessToken, "new tokens (the old ones were only in memory)");
  assert.deepEqual(
    A.page.frames().filter((f) => f !== A.page.mainFrame()).map((f) => f.url()),
    [],
    "the hidden iframe is gone afterwards",
  );
});

e2e("silentRedirectUri on a page with only pixy-oidc/silent: the reload is restored through it, the library not loaded in the iframe", async () => {
  await withConfig(sameApp, { silentRedirectUri: `${sameApp.origin}/silent.html` }, async () => {
    const A = await newTab("A");
    await logIn(A, sameApp, "bo");
    const pkgLoads = [];
    A.page.on("request", (r) => {
      if (r.frame() !== A.page.mainFrame() && r.url().includes("/pkg/")) pkgLoads.push(new URL(r.url()).pathname);
    });
    const t = await reload(A, sameApp);
    await expectLoggedIn(A, "bo", "after reload");
    const frames = iframeAuth(since(A, t));
    assert.equal(frames.length, 1, `one authorization request from an iframe: ${describe(frames)}`);
    assert.equal(frames[0].params.redirect_uri, `${sameApp.origin}/silent.html`);
    assert.deepEqual(pkgLoads, ["/pkg/silent.js"], "the iframe loads pixy-oidc/silent only");
  });
});

e2e("reload alone with the provider on another site and third-party cookies blocked: restored by exactly one top-level prompt=none redirect", async () => {
  const A = await newTab("A");
  await logIn(A, crossApp, "cid");

  const t = await reload(A, crossApp);
  await expectLoggedIn(A, "cid", "after reload");
  await sleep(1000);
  await expectLoggedIn(A, "cid", "1 s after reload");
  expectCleanUrl(A, crossApp);

  const top = topLevelAuth(since(A, t));
  assert.equal(top.length, 1, `exactly one top-level redirect to the provider: ${describe(top)}`);
  assert.equal(top[0].params.prompt, "none");
  assert.equal(top[0].params.redirect_uri, `${crossApp.origin}/`);
});

for (const [label, key] of [
  ["provider on the same site", "same"],
  ["provider on another site, third-party cookies blocked", "cross"],
]) {
  e2e(`no provider session (${label}): logged out without an error, at most one top-level prompt=none redirect per browser session, no loop`, async () => {
    const app = key === "same" ? sameApp : crossApp;
    const A = await newTab("A");
    const t = Date.now();
    const opToken = restoreOp.tokenRequests.length;
    await open(A, app);
    await expectLoggedOut(A, "first visit");
    const navigations = A.requests.length;
    await sleep(1500);
    await expectLoggedOut(A, "1.5 s later");
    assert.deepEqual(A.requests.slice(navigations).filter((r) => r.path === "/auth"), [], "nothing more is tried while the page sits there");
    await reload(A, app);
    await expectLoggedOut(A, "after a reload");
    await reload(A, app);
    await expectLoggedOut(A, "after a second reload");
    expectCleanUrl(A, app);

    const reqs = since(A, t);
    const top = topLevelAuth(reqs);
    assert.ok(top.length <= 1, `at most one top-level redirect in three loads: ${describe(top)}`);
    for (const r of authorize(reqs)) assert.equal(r.params.prompt, "none", `only prompt=none requests: ${describe([r])}`);
    assert.equal(restoreOp.tokenRequests.length, opToken, "no token request");
  });
}

e2e("sessionRestore 'none': a reload alone comes back logged out without asking the provider", async () => {
  await withConfig(sameApp, { sessionRestore: "none" }, async () => {
    const A = await newTab("A");
    await logIn(A, sameApp, "dan");
    const t = await reload(A, sameApp);
    await expectLoggedOut(A, "after reload");
    assert.deepEqual(authorize(since(A, t)), [], `no authorization request: ${describe(authorize(since(A, t)))}`);
  });
});

e2e("sessionRestore 'iframe': when the iframe cannot see the provider session the reload is logged out, with no top-level redirect and no error", async () => {
  await withConfig(crossApp, { sessionRestore: "iframe" }, async () => {
    const A = await newTab("A");
    await logIn(A, crossApp, "eve");
    const t = await reload(A, crossApp);
    await expectLoggedOut(A, "after reload");
    const reqs = since(A, t);
    assert.equal(topLevelAuth(reqs).length, 0, `no top-level redirect: ${describe(authorize(reqs))}`);
    assert.equal(iframeAuth(reqs).length, 1, `one iframe attempt: ${describe(authorize(reqs))}`);
    expectCleanUrl(A, crossApp);
  });
});

e2e("sessionRestore 'redirect': a reload alone is restored by one top-level prompt=none redirect and no iframe, even with the provider on the same site", async () => {
  await withConfig(sameApp, { sessionRestore: "redirect" }, async () => {
    const A = await newTab("A");
    await logIn(A, sameApp, "fay");
    const t = await reload(A, sameApp);
    await expectLoggedIn(A, "fay", "after reload");
    const reqs = since(A, t);
    assert.equal(iframeAuth(reqs).length, 0, `no iframe: ${describe(authorize(reqs))}`);
    const top = topLevelAuth(reqs);
    assert.equal(top.length, 1, `one top-level redirect: ${describe(top)}`);
    assert.equal(top[0].params.prompt, "none");
    expectCleanUrl(A, sameApp);
  });
});

// ---------------------------------------------------------------------------------------------
// Tabs that agree

e2e(`logging out in tab A logs out tabs B and C within ${CROSS_TAB_MS} ms, and they stay logged out`, async () => {
  const A = await newTab("A");
  await logIn(A, sameApp, "gil");
  const [B, C] = await openLoggedInTabs(sameApp, "gil", "before the logout");

  // The click's time by the page's clock (Playwright's own checks before a click take time a
  // loaded machine would count against the limit).
  const clickedAt = await A.page.evaluate(() => {
    setTimeout(() => document.getElementById("logout").click(), 0);
    return Date.now();
  });
  for (const tab of [B, C]) {
    const entry = await waitFor(
      () => tab.page.evaluate((t) => window.__statusLog.find((e) => e.at >= t && e.status === "logged out"), clickedAt),
      10_000,
      `${tab.name} to show "logged out"`,
    );
    const ms = entry.at - clickedAt;
    assert.ok(ms <= CROSS_TAB_MS, `${tab.name} showed "logged out" ${ms} ms after the click in A (limit ${CROSS_TAB_MS} ms)`);
  }
  await A.page.waitForURL((u) => u.origin === sameApp.origin && restoreOp.endSessions.some((e) => e.at >= clickedAt && e.ended));
  await sleep(1000);
  for (const tab of [B, C]) {
    await expectLoggedOut(tab, "1 s after A's logout finished");
    const types = (await events(tab)).map((e) => e.type);
    assert.ok(types.includes("loggedOut"), `${tab.name} got a loggedOut event (got ${JSON.stringify(types)})`);
  }
});

e2e("a renewal's hand-over that arrives after a logout does not log the other tabs back in", async () => {
  const A = await newTab("A");
  await logIn(A, sameApp, "ida");
  const [B, C] = await openLoggedInTabs(sameApp, "ida", "before the logout");
  // B's page records the session A hands over after a renewal (what a tab that renewed just
  // before a logout still has on its way to the others).
  const channel = `pixy-oidc:${restoreOp.issuer}|${CLIENT_ID}`;
  await B.page.evaluate((name) => {
    window.__spy = new BroadcastChannel(name);
    window.__spy.onmessage = (e) => {
      if (JSON.parse(e.data).t === "session") window.__late = e.data;
    };
  }, channel);
  await A.page.evaluate(() => window.oidc.renewTokens());
  await waitFor(() => B.page.evaluate(() => window.__late !== undefined), 10_000, "A's renewal hand-over");

  const clickedAt = Date.now();
  await A.page.click("#logout");
  for (const tab of [B, C]) {
    await waitFor(
      () => tab.page.evaluate((t) => window.__statusLog.find((e) => e.at >= t && e.status === "logged out"), clickedAt),
      10_000,
      `${tab.name} to show "logged out"`,
    );
  }
  // The renewal's hand-over arrives late, after the logout.
  await B.page.evaluate(() => window.__spy.postMessage(window.__late));
  await sleep(500);
  for (const tab of [B, C]) await expectLoggedOut(tab, "after a late renewal hand-over");
});

e2e("logging in in tab A logs in tab B, already open and logged out, without a reload", async () => {
  const A = await newTab("A");
  const B = await newTab("B");
  await open(B, sameApp);
  await expectLoggedOut(B, "before A logs in");
  await logIn(A, sameApp, "hal");
  const loggedInAt = Date.now();
  await waitFor(
    () => B.page.evaluate(() => document.getElementById("status").textContent.trim() === "logged in"),
    10_000,
    `B to show "logged in" (A logged in at ${new Date(loggedInAt).toISOString()})`,
  );
  await expectLoggedIn(B, "hal", "after A logged in");
  assert.equal((await getTokens(B)).accessToken, (await getTokens(A)).accessToken, "B has A's tokens");
});

// ---------------------------------------------------------------------------------------------
// Staying fresh (renewOp: access tokens live 12 s)

/** When the login's code exchange reached the provider. */
const loginGrantAt = (op) => op.tokenRequests.findLast((r) => r.grant_type === "authorization_code").at;
const rel = (t, t0) => `+${((t - t0) / 1000).toFixed(1)}s`;

e2e("the access token is renewed on a timer before it expires, with the refresh-token grant; renewTokens() forces one more", async () => {
  const A = await newTab("A");
  await logIn(A, renewApp, "ivy");
  const t0 = loginGrantAt(renewOp);
  const first = await getTokens(A);
  const left = first.accessTokenExpiresAt - Date.now();
  assert.ok(left > LEAD_MS && left <= TTL_S * 1000 + 2000, `the access token expires in ~${TTL_S} s (in ${left} ms)`);

  const renewal = await waitFor(
    () => renewOp.tokenRequests.find((r) => r.at > t0 && r.status === 200),
    first.accessTokenExpiresAt - Date.now(),
    "a renewal before the access token expires",
  );
  assert.equal(renewal.grant_type, "refresh_token", "renewed with the refresh token the provider issued");
  assert.ok(
    renewal.at < first.accessTokenExpiresAt && renewal.at - t0 >= (TTL_S * 1000) / 2,
    `renewed at ${rel(renewal.at, t0)} for a token issued at +0 s that expires at ${rel(first.accessTokenExpiresAt, t0)}`,
  );
  await waitFor(async () => (await events(A)).some((e) => e.type === "tokensChanged"), 10_000, "a tokensChanged event");

  const second = await getTokens(A);
  assert.notEqual(second.accessToken, first.accessToken, "a new access token");
  assert.ok(second.accessTokenExpiresAt > first.accessTokenExpiresAt, "that expires later");
  await expectLoggedIn(A, "ivy", "after the renewal");
  assert.deepEqual(authorize(since(A, t0)), [], "no iframe or redirect: the refresh token is used");
  assert.equal(renewOp.tokenRequests.filter((r) => r.at > t0).length, 1, "one renewal so far");

  const mark = renewOp.tokenRequests.length;
  const third = await A.page.evaluate(() => window.oidc.renewTokens());
  const forced = renewOp.tokenRequests.slice(mark);
  assert.deepEqual(forced.map((r) => [r.grant_type, r.status]), [["refresh_token", 200]], "renewTokens() made one refresh-token grant");
  assert.notEqual(forced[0].refresh_token, renewal.refresh_token, "with the rotated refresh token");
  assert.notEqual(third.accessToken, second.accessToken, "and returned the new access token");
  expectNoRefreshTokenReused(renewOp);
});

e2e("three tabs over three token lifetimes: the provider sees one renewal per lifetime, not one per tab, never a reused refresh token, and every tab gets the new tokens", async () => {
  const A = await newTab("A");
  await logIn(A, renewApp, "jon");
  const t0 = loginGrantAt(renewOp);
  const first = await getTokens(A);
  const [B, C] = await openLoggedInTabs(renewApp, "jon", "opened next to A");

  // Three lifetimes: until the third renewal (each token lives TTL_S, so at the latest
  // 3 × TTL_S after the login), then 2 s more to catch a burst of duplicates.
  const lifetimes = 3;
  const after = () => renewOp.tokenRequests.filter((r) => r.at > t0);
  await waitFor(() => after().length >= lifetimes, t0 + lifetimes * TTL_S * 1000 + 2000 - Date.now(), `${lifetimes} renewals`);
  await sleep(2000);

  const renewals = after();
  const summary = renewals.map((r) => `${r.grant_type}:${r.status}@${rel(r.at, t0)}`).join(", ");
  for (let i = 1; i < renewals.length; i++) {
    const gap = renewals[i].at - renewals[i - 1].at;
    assert.ok(gap >= MIN_RENEWAL_GAP_MS, `two renewals ${gap} ms apart: more than one tab renewed the same token (${summary})`);
  }
  assert.equal(renewals.length, lifetimes, `one renewal per lifetime: ${summary}`);
  for (const r of renewals) assert.equal(r.grant_type, "refresh_token", `renewals use the refresh token (${summary})`);
  expectNoRefreshTokenReused(renewOp);

  for (const tab of [A, B, C]) await expectLoggedIn(tab, "jon", `after ${lifetimes} lifetimes`);
  const mark = renewOp.tokenRequests.length;
  const latest = await Promise.all([A, B, C].map(getTokens));
  assert.equal(renewOp.tokenRequests.length, mark, "reading the tokens in A, B and C made no request");
  for (const [i, tab] of [A, B, C].entries()) {
    assert.equal(latest[i].accessToken, latest[0].accessToken, `${tab.name} holds the same access token as A`);
  }
  assert.notEqual(latest[0].accessToken, first.accessToken, "the tabs hold a renewed access token");
});

e2e("renewTokens() in three tabs at the same moment, eight times: every refresh sends the latest refresh token (the next lock holder sees what the previous one installed), and all tabs end with the same tokens", async () => {
  const A = await newTab("A");
  await logIn(A, renewApp, "jon");
  const [B, C] = await openLoggedInTabs(renewApp, "jon", "opened next to A");
  const t0 = Date.now();
  const rounds = 8;
  for (let i = 0; i < rounds; i++) {
    // Each tab forces a renewal: one after the other under the renewal lock, each catching up
    // with the tokens the previous one got before sending its own refresh.
    const results = await Promise.all(
      [A, B, C].map((tab) => tab.page.evaluate(() => window.oidc.renewTokens().then(() => "ok", (e) => `${e.code}: ${e.message}`))),
    );
    assert.deepEqual(results, ["ok", "ok", "ok"], `round ${i + 1}`);
  }
  const grants = refreshGrants(renewOp, t0);
  assert.equal(grants.length, 3 * rounds, `one refresh per forced renewal: ${grants.map((r) => r.status).join(",")}`);
  expectNoRefreshTokenReused(renewOp);
  // The last renewal's hand-over reaches the other tabs shortly after its promise settled.
  await waitFor(
    async () => new Set((await Promise.all([A, B, C].map(getTokens))).map((t) => t.accessToken)).size === 1,
    10_000,
    "every tab to hold the same access token",
  );
  const latest = await Promise.all([A, B, C].map(getTokens));
  for (const [i, tab] of [A, B, C].entries()) {
    assert.equal(latest[i].accessToken, latest[0].accessToken, `${tab.name} holds the latest access token`);
  }
  for (const tab of [A, B, C]) {
    const stored = (await storageDump(tab)).filter((e) => e.startsWith("pixy-oidc:generation"));
    assert.deepEqual(stored, [], `${tab.name}: no generation marker in localStorage (Web Locks carry it)`);
  }
});

e2e("provider down while the access token runs out (503, then dropped connections): the user stays logged in, getTokens() says what is wrong, retries back off, and the session goes on by itself once the provider is back", async () => {
  const A = await newTab("A");
  await logIn(A, renewApp, "kim");
  const t0 = loginGrantAt(renewOp);
  const first = await getTokens(A);
  const exp = first.accessTokenExpiresAt;
  const pausedAt = Date.now();
  let resumedAt;
  renewOp.pause("503");
  try {
    // The timer's renewal meets a 503; then the provider drops connections (a network error)
    // until the access token has expired, and 3 s more.
    await waitFor(() => tokenPosts(since(A, pausedAt))[0], exp - Date.now(), "a renewal attempt (answered 503)");
    renewOp.pause("drop");
    await sleep(exp + 3000 - Date.now());
    const attempts = tokenPosts(since(A, pausedAt));
    const downFor = Date.now() - pausedAt;
    assert.ok(attempts.length >= 2 && attempts.length <= 6, `retries back off: ${attempts.length} token requests in ${downFor} ms`);
    await expectLoggedIn(A, "kim", "while the provider is down", { errorShown: true });
    const during = await A.page.evaluate(() => window.oidc.getTokens().then(() => "resolved", (e) => e.code));
    assert.ok(["network_error", "http_error", "timeout"].includes(during), `getTokens() with an expired token rejects with the fault's code, got ${during}`);
  } finally {
    renewOp.resume();
    resumedAt = Date.now();
  }
  log.push(`[test] provider down from ${rel(pausedAt, t0)} to ${rel(resumedAt, t0)}; token expired at ${rel(exp, t0)}`);
  const ok = await waitFor(
    () => refreshGrants(renewOp, resumedAt).find((r) => r.status === 200),
    40_000,
    "a successful refresh-token grant after the provider is back, with nobody doing anything",
  );
  log.push(`[test] renewed at ${rel(ok.at, t0)}`);
  await waitFor(async () => (await events(A)).some((e) => e.type === "tokensChanged"), 10_000, "a tokensChanged event");
  const second = await getTokens(A);
  assert.notEqual(second.accessToken, first.accessToken, "a new access token");
  assert.ok(second.accessTokenExpiresAt > Date.now(), "that is valid");
  await expectLoggedIn(A, "kim", "after the provider came back", { errorShown: true });
  const types = (await events(A)).map((e) => e.type);
  assert.equal(types.includes("loggedOut") || types.includes("sessionExpired"), false, `never logged out (events: ${JSON.stringify(types)})`);
  expectNoRefreshTokenReused(renewOp);
});

e2e("getTokens() renews first when the renewal is due, and three concurrent calls share one renewal", async () => {
  const A = await newTab("A");
  await logIn(A, renewApp, "lou");
  const first = await getTokens(A);
  // Stop the page's JavaScript (as a sleeping device would) until the renewal is due (but the
  // token not yet expired), so no timer can have renewed it first.
  const mark = renewOp.tokenRequests.length;
  const cdp = await browser.context.newCDPSession(A.page);
  await cdp.send("Debugger.enable");
  try {
    await cdp.send("Debugger.pause");
    await sleep(first.accessTokenExpiresAt - LEAD_MS + 1000 - Date.now());
    assert.equal(renewOp.tokenRequests.length, mark, "test set-up: no renewal while the page's JavaScript is stopped");
  } finally {
    await cdp.send("Debugger.resume").catch(() => {});
    await cdp.send("Debugger.disable").catch(() => {});
    await cdp.detach().catch(() => {});
  }
  const got = await A.page.evaluate(() => Promise.all([1, 2, 3].map(() => window.oidc.getTokens())));
  await sleep(1000);
  const grants = renewOp.tokenRequests.slice(mark);
  assert.deepEqual(grants.map((r) => [r.grant_type, r.status]), [["refresh_token", 200]], "one renewal in all");
  for (const x of got) {
    assert.equal(x.accessToken, got[0].accessToken, "all three calls get the same tokens");
    assert.notEqual(x.accessToken, first.accessToken, "renewed, not the token about to expire");
    assert.ok(x.accessTokenExpiresAt - Date.now() > LEAD_MS, "fresh: its renewal is not due");
  }
  await expectLoggedIn(A, "lou", "after the renewal");
});
