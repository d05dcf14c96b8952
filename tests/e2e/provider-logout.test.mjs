// End-to-end: noticing that the user logged out at the provider, in each place a provider can be
// relative to the app, with the built package (pkg/), the project's own test provider playing
// Keycloak with browser sessions (tests/support/profiles.mjs: check_session_iframe, session_state,
// front-channel logout), and Chromium with third-party cookies allowed or blocked.
//
//   bash scripts/build.sh && node --test tests/e2e/provider-logout.test.mjs
//
// Sites: the provider listens on 127.0.0.1. An app on 127.0.0.1 (another port) is on the same
// site; an app on localhost is on another site.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { startProfileProvider } from "../support/profiles.mjs";
import { startAppServer } from "../support/app-server.mjs";
import { launchBrowser } from "../support/browser.mjs";

const WAIT = 15_000;
const TEST_TIMEOUT = 90_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Waits until `cond()` holds (asked every 100 ms), failing after `ms` with `what`. */
async function until(cond, ms, what) {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** The front-channel page's last word ("front-channel page: done" or its error code). */
const fcSaid = (s, from) => s.log.slice(from).some((l) => l.includes("front-channel page: "));

if (!existsSync(new URL("../../pkg/index.js", import.meta.url))) {
  throw new Error("pkg/index.js is missing: build the package first (bash scripts/build.sh)");
}

const MODES = {
  "same site": { appHost: "127.0.0.1", cookies: "block" },
  "another site, third-party cookies allowed": { appHost: "localhost", cookies: "allow" },
  "another site, third-party cookies blocked": { appHost: "localhost", cookies: "block" },
};

/** A provider, an app and a browser for one test; `config(app)` adds to the app's config. */
async function scenario(mode, config, fn) {
  const { appHost, cookies } = MODES[mode];
  const op = await startProfileProvider("keycloak", { sessions: true });
  const app = await startAppServer({ host: appHost, port: 0, mounts: { "/t/": "tests/e2e/pages" } });
  op.allowOrigins([app.origin]);
  app.setConfig({
    issuer: op.configIssuer,
    clientId: op.clientId,
    redirectUri: `${app.origin}/t/app.html`,
    silentRedirectUri: `${app.origin}/silent.html`,
    postLogoutRedirectUri: `${app.origin}/t/app.html`,
    sessionRestore: "iframe",
    debug: true,
    ...config(app, op),
  });
  // Storage partitioned as Chrome ships it (playwright turns partitioning off by default).
  const browser = await launchBrowser({ thirdPartyCookies: cookies, storagePartitioning: true });
  browser.context.setDefaultTimeout(WAIT);
  const log = [];
  browser.context.on("console", (m) => log.push(`[${new URL(m.page()?.url() ?? "about:blank").pathname} ${m.type()}] ${m.text()}`));
  const s = { op, app, browser, log, tabs: [] };
  try {
    await fn(s);
  } catch (err) {
    err.message += `\n--- ${mode} ---\n${log.slice(-60).join("\n")}\n--- provider ---\n${op.requests
      .slice(-25)
      .map((r) => `${r.method} ${r.path}${r.query?.prompt ? ` prompt=${r.query.prompt}` : ""}${r.role ? ` [${r.role}]` : ""}`)
      .join("\n")}`;
    throw err;
  } finally {
    await browser.close();
    await Promise.allSettled([app.close(), op.close()]);
  }
}

/** A tab on the app, settled. */
async function openApp(s) {
  const page = await s.browser.context.newPage();
  await page.goto(`${s.app.origin}/t/app.html`);
  await page.waitForFunction(() => window.oidc !== undefined || /error/.test(document.getElementById("status").textContent));
  s.tabs.push(page);
  return page;
}

/** Tab `page` logs in with a full-page login (the provider answers at once for its test user). */
async function login(s, page) {
  await page.evaluate(() => void setTimeout(() => window.oidc.login()));
  // The page leaves and comes back (the provider answers at once): ask until the new one says so.
  const deadline = Date.now() + WAIT;
  for (;;) {
    const ok = await page.evaluate(() => window.oidc?.isLoggedIn === true).catch(() => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`not logged in after the login: ${page.url()}`);
    await sleep(100);
  }
}

/** Two logged-in tabs. */
async function twoTabs(s) {
  const a = await openApp(s);
  await login(s, a);
  const b = await openApp(s);
  await b.waitForFunction(() => window.oidc.isLoggedIn);
  return [a, b];
}

/** In a tab of its own, the user logs out at the provider (its account page, another app). */
async function logoutAtProvider(s) {
  const page = await s.browser.context.newPage();
  const from = s.log.length;
  await page.goto(s.op.endpoints.end_session);
  await page.waitForSelector("body[data-done='1']", { state: "attached", timeout: WAIT }).catch(() => {});
  // The provider's page marks itself done when its iframes loaded; the app's front-channel page
  // in one of them still loads its module and wasm: it gets the time to run (as it does when
  // the user stays on the provider's page).
  if (s.op.frontChannelLogoutUris?.length) await until(() => fcSaid(s, from), WAIT, "the front-channel page to run");
  await page.close();
}

/** In a tab of its own, `sub` logs in at the provider through another app (a new provider session). */
async function loginAtProvider(s, sub) {
  const page = await s.browser.context.newPage();
  const u = new URL(s.op.endpoints.authorization);
  Object.entries({
    client_id: s.op.clientId,
    response_type: "code",
    redirect_uri: `${s.app.origin}/another-app`,
    scope: "openid",
    state: "another-app",
    nonce: "another-app",
    code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    code_challenge_method: "S256",
    prompt: "login",
    login_hint: sub,
  }).forEach(([k, v]) => u.searchParams.set(k, v));
  await page.goto(u.href);
  await page.waitForURL((x) => x.pathname === "/another-app");
  await page.close();
}

const loggedOut = (page) => page.evaluate(() => window.events.filter((e) => e.type === "loggedOut").map((e) => e.reason));

async function allLoggedOutBy(tabs, reason, ms) {
  for (const t of tabs) {
    await t.waitForFunction(() => window.events.some((e) => e.type === "loggedOut"), null, { timeout: ms });
    assert.deepEqual(await loggedOut(t), [reason]);
    assert.equal(await t.locator("#status").textContent(), "logged out");
  }
}

// ---------------------------------------------------------------------------------------------
// check_session

const CHECK = () => ({ sessionCheckIntervalMs: 1_000 });

for (const mode of ["same site", "another site, third-party cookies allowed"]) {
  test(`check_session (${mode}): a logout at the provider logs every tab out`, { timeout: TEST_TIMEOUT }, () =>
    scenario(mode, CHECK, async (s) => {
      const tabs = await twoTabs(s);
      await until(() => s.op.requests.some((r) => r.role === "check_session"), WAIT, "the provider's check frame to load");
      if (mode !== "same site") {
        // Across sites, its first `unchanged` shows the frame sees the provider's cookies.
        await until(() => s.log.some((l) => l.includes("check_session: the provider's frame sees its session")), WAIT, "the frame's first answer");
      } else {
        await sleep(2_500);
      }
      await logoutAtProvider(s);
      await allLoggedOutBy(tabs, "provider", 6_000);
    }),
  );
}

test("check_session (same site): the same user logged in again goes on; another user logs every tab out", { timeout: TEST_TIMEOUT }, () =>
  scenario("same site", CHECK, async (s) => {
    const tabs = await twoTabs(s);
    const sub = await tabs[0].evaluate(() => window.oidc.claims.sub);
    await sleep(2_000);
    await loginAtProvider(s, sub);
    for (const t of tabs) {
      await t.waitForFunction(() => window.events.some((e) => e.type === "tokensChanged"), null, { timeout: 6_000 });
    }
    await sleep(2_000);
    for (const t of tabs) {
      assert.deepEqual(await loggedOut(t), [], "the same user goes on");
      assert.equal(await t.locator("#status").textContent(), `logged in as ${sub}`);
    }
    await loginAtProvider(s, "bob");
    await allLoggedOutBy(tabs, "provider", 6_000);
  }),
);

test("check_session (another site, third-party cookies blocked): nobody is logged out; the check stops and says why", { timeout: TEST_TIMEOUT }, () =>
  scenario("another site, third-party cookies blocked", CHECK, async (s) => {
    const tabs = await twoTabs(s);
    await until(() => s.log.some((l) => l.includes("cannot tell a logout from a blocked cookie")), WAIT, "debug to say why the check stops");
    for (const t of tabs) {
      assert.deepEqual(await loggedOut(t), []);
      assert.ok(await t.evaluate(() => window.oidc.isLoggedIn));
    }
    assert.ok(s.log.some((l) => l.includes("session monitoring: check_session, if this browser lets")), "debug says the mode");
  }),
);

// ---------------------------------------------------------------------------------------------
// Front-channel logout

const FRONT = (app) => ({ sessionCheckIntervalMs: 0, frontChannelLogoutUri: `${app.origin}/t/fc.html` });

test("front-channel logout (same site): the provider's logout page logs every tab out", { timeout: TEST_TIMEOUT }, () =>
  scenario("same site", FRONT, async (s) => {
    s.op.frontChannelLogoutUris = [`${s.app.origin}/t/fc.html`];
    const tabs = await twoTabs(s);
    await logoutAtProvider(s);
    const load = s.op.frontChannelLoads.at(-1);
    assert.ok(load?.iss && load?.sid, "the provider sent iss and sid");
    await allLoggedOutBy(tabs, "provider", 5_000);
    assert.ok(s.log.some((l) => l.includes("front-channel logout page, embedded by") && l.includes("same site")));
  }),
);

test("front-channel logout (same site): the provider's page navigating away once its frames loaded does not cut the page off", { timeout: TEST_TIMEOUT }, () =>
  scenario("same site", FRONT, async (s) => {
    s.op.frontChannelLogoutUris = [`${s.app.origin}/t/fc.html`];
    const tabs = await twoTabs(s);
    // The wasm comes slowly (a slow network), the way back to the app fast: the provider's page
    // goes to post_logout_redirect_uri as soon as its frames fire `load`, as Keycloak's does.
    s.app.delays["/pkg/pixy_oidc_bg.wasm"] = 400;
    const page = await s.browser.context.newPage();
    const u = new URL(s.op.endpoints.end_session);
    u.searchParams.set("client_id", s.op.clientId);
    u.searchParams.set("post_logout_redirect_uri", `${s.app.origin}/silent.html`);
    await page.goto(u.href);
    await page.waitForURL((x) => x.href.startsWith(`${s.app.origin}/silent.html`));
    assert.ok(s.log.some((l) => l.includes("front-channel page: done")), "the page finished before its frame's load event");
    await allLoggedOutBy(tabs, "provider", 5_000);
  }),
);

for (const mode of ["another site, third-party cookies allowed", "another site, third-party cookies blocked"]) {
  test(`front-channel logout (${mode}): the partitioned frame reaches no tab, and says so`, { timeout: TEST_TIMEOUT }, () =>
    scenario(mode, FRONT, async (s) => {
      s.op.frontChannelLogoutUris = [`${s.app.origin}/t/fc.html`];
      const tabs = await twoTabs(s);
      await logoutAtProvider(s);
      await sleep(500); // a tab that heard it would log out within a few ms
      assert.ok(s.log.some((l) => l.includes("front-channel page: done")), "the page ran in the provider's iframe");
      assert.ok(s.log.some((l) => l.includes("another site: the browser partitions")), "debug says why");
      for (const t of tabs) {
        assert.deepEqual(await loggedOut(t), [], "no tab heard it");
        assert.ok(await t.evaluate(() => window.oidc.isLoggedIn));
      }
    }),
  );
}

test("front-channel logout: a wrong iss or another session's sid is ignored", { timeout: TEST_TIMEOUT }, () =>
  scenario("same site", FRONT, async (s) => {
    const tabs = await twoTabs(s);
    const sid = await tabs[0].evaluate(() => window.oidc.claims.sid);
    assert.ok(sid, "the ID token has a sid");
    const frame = async (query) => {
      const page = await s.browser.context.newPage();
      await page.goto(`${s.op.issuer.replace(/\/realms\/.*/, "")}/404-embedder`).catch(() => {});
      const from = s.log.length;
      await page.setContent(`<iframe src="${s.app.origin}/t/fc.html${query}"></iframe>`);
      await until(() => fcSaid(s, from), WAIT, "the front-channel page to run");
      await sleep(300); // a tab that heard it would log out within a few ms
      await page.close();
    };
    const iss = encodeURIComponent(s.op.issuer);
    await frame(`?iss=${encodeURIComponent("https://evil.example/realms/demo")}&sid=${sid}`);
    await frame(`?iss=${iss}&sid=${encodeURIComponent("someone-elses-session")}`);
    for (const t of tabs) {
      assert.deepEqual(await loggedOut(t), [], "ignored");
      assert.ok(await t.evaluate(() => window.oidc.isLoggedIn));
    }
    await frame(`?iss=${iss}&sid=${encodeURIComponent(sid)}`);
    await allLoggedOutBy(tabs, "provider", 3_000);
  }),
);
