// Provider sessions in the local profile provider (tests/support/profiles.mjs, `sessions: true`):
// OIDC Session Management 1.0 (session cookies, session_state, check_session_iframe, prompt=none
// with a live session) and Front-Channel Logout 1.0 (the end-session page's iframes), first over
// HTTP from Node, then in Chromium with hand-written pages (no pixy-oidc). The last tests record
// what this Chromium lets the two specs do across sites; each cell of that table is an assertion:
//
//   (a) same-site   app http://127.0.0.1:<A>, provider http://127.0.0.1:<B>, third-party cookies blocked
//   (b) cross-site  app http://localhost:<A>, provider http://127.0.0.1:<B>, third-party cookies allowed
//   (c) cross-site  the same, third-party cookies blocked
//
// each twice: as tests/support/browser.mjs launches Chromium by default (Playwright disables
// ThirdPartyStoragePartitioning) and with `storagePartitioning: true` (as Chrome ships). Chromium
// accepts `SameSite=None; Secure` cookies from http://127.0.0.1 and http://localhost (potentially
// trustworthy origins; SameSite=None without Secure is dropped), and crypto.subtle works in the
// check_session frame in all three (both app origins are secure contexts).
//
//   node --test --test-concurrency=1 tests/op-sessions.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { createHash } from "node:crypto";
import { decodeJwt } from "jose";
import { startProfileProvider, sessionStateFor } from "./support/profiles.mjs";
import { launchBrowser } from "./support/browser.mjs";
import { rand, s256, readBody } from "./support/util.mjs";

const APP = "http://localhost:5998";
const REDIRECT = `${APP}/cb`;
const TEST_MS = 60_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Asks `cond()` every 50 ms until it holds or `ms` passed; its last answer. */
async function settle(cond, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v || Date.now() > deadline) return v;
    await sleep(50);
  }
}
const b64u = (buf) => Buffer.from(buf).toString("base64url");

// ---------------------------------------------------------------------------------------------
// Node side: a cookie jar and the code flow over fetch
// ---------------------------------------------------------------------------------------------

/** Parses Set-Cookie lines into { name, value, attrs: { lowercased name: value | true } }. */
function parseSetCookie(lines) {
  return lines.map((line) => {
    const [nv, ...rest] = line.split(";").map((s) => s.trim());
    const i = nv.indexOf("=");
    const attrs = {};
    for (const a of rest) {
      const j = a.indexOf("=");
      attrs[(j < 0 ? a : a.slice(0, j)).toLowerCase()] = j < 0 ? true : a.slice(j + 1);
    }
    return { name: nv.slice(0, i), value: nv.slice(i + 1), attrs };
  });
}
class Jar {
  cookies = new Map();
  take(res) {
    const set = parseSetCookie(res.headers.getSetCookie());
    for (const c of set) {
      if (c.attrs["max-age"] === "0") this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    return set;
  }
  get header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

async function authorize(op, jar, { prompt, loginHint, redirectUri = REDIRECT } = {}) {
  const verifier = rand(32);
  const u = new URL(op.endpoints.authorization);
  const q = {
    client_id: op.clientId, redirect_uri: redirectUri, response_type: "code", scope: "openid profile email",
    state: rand(8), nonce: rand(8), code_challenge: s256(verifier), code_challenge_method: "S256",
  };
  if (prompt) q.prompt = prompt;
  if (loginHint) q.login_hint = loginHint;
  for (const [k, v] of Object.entries(q)) u.searchParams.set(k, v);
  const res = await fetch(u, { redirect: "manual", headers: jar?.header ? { cookie: jar.header } : {} });
  assert.equal(res.status, 302);
  const setCookies = jar ? jar.take(res) : parseSetCookie(res.headers.getSetCookie());
  const params = Object.fromEntries(new URL(res.headers.get("location")).searchParams);
  return { params, setCookies, verifier, redirectUri };
}

async function redeem(op, { params, verifier, redirectUri }) {
  const res = await fetch(op.endpoints.token, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code: params.code, redirect_uri: redirectUri,
      client_id: "spa", code_verifier: verifier }),
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  return { body, claims: decodeJwt(body.id_token) };
}

/** session_state = b64u(sha256(client_id SP origin SP opbs SP salt)) "." salt (Session Management §4.2). */
function assertSessionState(op, sessionState, origin, opbs) {
  assert.match(sessionState, /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]+$/);
  const salt = sessionState.split(".")[1];
  assert.equal(sessionState, sessionStateFor(op.clientId, origin, opbs, salt));
  const hash = b64u(createHash("sha256").update(`${op.clientId} ${origin} ${opbs} ${salt}`).digest());
  assert.equal(sessionState, `${hash}.${salt}`);
}

// ---------------------------------------------------------------------------------------------
// The provider over HTTP
// ---------------------------------------------------------------------------------------------

test("without sessions: no cookies, prompt=none is login_required, no check_session page (as before)", async () => {
  const op = await startProfileProvider("keycloak");
  try {
    const jar = new Jar();
    const login = await authorize(op, jar);
    assert.deepEqual(login.setCookies, []);
    assert.ok(login.params.code);
    const silent = await authorize(op, jar, { prompt: "none" });
    assert.equal(silent.params.error, "login_required");
    assert.equal((await fetch(op.discovery.check_session_iframe)).status, 404);
    assert.equal(op.endpoints.check_session, undefined);
    assert.deepEqual(op.sessions, []);
  } finally {
    await op.close();
  }
});

test("login sets an HttpOnly session cookie and a readable browser-state cookie, SameSite=None; Secure", async () => {
  const op = await startProfileProvider("keycloak", { sessions: true });
  try {
    const jar = new Jar();
    const login = await authorize(op, jar);
    const byName = Object.fromEntries(login.setCookies.map((c) => [c.name, c]));
    const session = byName[op.cookieNames.session];
    const bs = byName[op.cookieNames.browserState];
    assert.ok(session && bs, "both cookies are set");
    assert.equal(session.attrs.httponly, true);
    assert.equal(bs.attrs.httponly, undefined);
    for (const c of [session, bs]) {
      assert.equal(c.attrs.samesite, "None");
      assert.equal(c.attrs.secure, true);
      assert.equal(c.attrs.path, "/");
    }
    assert.equal(op.sessions.length, 1);
    const sid = op.sessions[0];
    assert.equal(op.session(sid).opbs, bs.value);
    assert.equal(op.session(sid).user.sub, op.user.sub);
    assertSessionState(op, login.params.session_state, new URL(REDIRECT).origin, bs.value);

    const { body, claims } = await redeem(op, login);
    assert.equal(claims.sid, sid);
    assert.equal(claims.sub, op.user.sub);
    assert.equal(body.session_state, login.params.session_state, "the token response repeats session_state");
    // Each response has its own salt; another redirect_uri origin gives another hash.
    const again = await authorize(op, jar, { redirectUri: "http://127.0.0.1:5997/cb" });
    assert.notEqual(again.params.session_state.split(".")[1], login.params.session_state.split(".")[1]);
    assertSessionState(op, again.params.session_state, "http://127.0.0.1:5997", bs.value);
  } finally {
    await op.close();
  }
});

test("prompt=none: a code for the session's user with a live session, login_required without or after endSession", async () => {
  const op = await startProfileProvider("keycloak", { sessions: true });
  try {
    assert.equal((await authorize(op, new Jar(), { prompt: "none" })).params.error, "login_required");
    const jar = new Jar();
    const login = await authorize(op, jar);
    const first = await redeem(op, login);
    const silent = await authorize(op, jar, { prompt: "none" });
    assert.deepEqual(silent.setCookies, [], "a silent answer changes no cookie");
    assert.ok(silent.params.code);
    assertSessionState(op, silent.params.session_state, APP, jar.cookies.get(op.cookieNames.browserState));
    const { claims } = await redeem(op, silent);
    assert.equal(claims.sid, first.claims.sid);
    assert.equal(claims.sub, first.claims.sub);
    assert.equal(claims.auth_time, first.claims.auth_time);
    // Interactive again: single sign-on, same session and browser state.
    const sso = await authorize(op, jar);
    assert.deepEqual(sso.setCookies, []);
    assert.equal((await redeem(op, sso)).claims.sid, first.claims.sid);
    // Ended at the provider only: the browser keeps its cookies, prompt=none fails.
    assert.equal(op.endSession(first.claims.sid), true);
    assert.equal(op.endSession(first.claims.sid), false);
    assert.deepEqual(op.sessions, []);
    assert.equal(op.session(first.claims.sid).endedBy, "endSession");
    assert.equal(jar.cookies.size, 2);
    assert.equal((await authorize(op, jar, { prompt: "none" })).params.error, "login_required");
  } finally {
    await op.close();
  }
});

test("login_hint logs in another user: a new session replaces the old one, prompt=none then answers for that user", async () => {
  const op = await startProfileProvider("keycloak", { sessions: true, users: [{ sub: "grace-1906", name: "Grace Hopper" }] });
  try {
    const jar = new Jar();
    const ada = await redeem(op, await authorize(op, jar));
    const opbsBefore = jar.cookies.get(op.cookieNames.browserState);
    const other = await authorize(op, jar, { loginHint: "grace-1906" });
    assert.equal(other.setCookies.length, 2);
    assert.notEqual(jar.cookies.get(op.cookieNames.browserState), opbsBefore, "the browser state changes");
    const grace = await redeem(op, other);
    assert.equal(grace.claims.sub, "grace-1906");
    assert.equal(grace.claims.name, "Grace Hopper");
    assert.notEqual(grace.claims.sid, ada.claims.sid);
    assert.deepEqual(op.sessions, [grace.claims.sid]);
    assert.equal(op.session(ada.claims.sid).endedBy, "replaced");
    const silent = await redeem(op, await authorize(op, jar, { prompt: "none" }));
    assert.equal(silent.claims.sub, "grace-1906");
    // An unknown hint is the test user with that sub; the default user is unchanged.
    const x = await redeem(op, await authorize(op, new Jar(), { loginHint: "someone-else" }));
    assert.equal(x.claims.sub, "someone-else");
    assert.equal(x.claims.email, "someone-else@example.com");
    assert.equal((await redeem(op, await authorize(op, new Jar()))).claims.sub, op.user.sub);
  } finally {
    await op.close();
  }
});

test("end_session ends the session, clears both cookies, renders front-channel iframes with iss and sid", async () => {
  const fc = "http://localhost:5998/fc.html?app=1";
  const op = await startProfileProvider("keycloak", { sessions: true, frontChannelLogoutUri: fc });
  try {
    assert.deepEqual(op.frontChannelLogoutUris, [fc]);
    const jar = new Jar();
    const login = await authorize(op, jar);
    const { body } = await redeem(op, login);
    const sid = op.sessions[0];
    const u = new URL(op.endpoints.end_session);
    u.searchParams.set("id_token_hint", body.id_token);
    u.searchParams.set("post_logout_redirect_uri", `${APP}/`);
    u.searchParams.set("state", "s1");
    const res = await fetch(u, { redirect: "manual", headers: { cookie: jar.header } });
    assert.equal(res.status, 200);
    const cleared = jar.take(res);
    assert.deepEqual(cleared.map((c) => [c.name, c.value, c.attrs["max-age"]]).sort(),
      [[op.cookieNames.browserState, "", "0"], [op.cookieNames.session, "", "0"]]);
    assert.deepEqual(op.sessions, []);
    assert.equal(op.session(sid).endedBy, "logout");
    const page = await res.text();
    const srcs = [...page.matchAll(/<iframe src="([^"]+)"/g)].map((m) => m[1].replace(/&#38;/g, "&"));
    assert.equal(srcs.length, 1);
    const src = new URL(srcs[0]);
    assert.equal(src.origin + src.pathname, "http://localhost:5998/fc.html");
    assert.equal(src.searchParams.get("app"), "1");
    assert.equal(src.searchParams.get("iss"), op.issuer);
    assert.equal(src.searchParams.get("sid"), sid);
    assert.match(page, /location\.replace\(target\)/);
    assert.ok(page.includes(JSON.stringify(`${APP}/?state=s1`)), "then goes to post_logout_redirect_uri with state");
    assert.deepEqual(op.frontChannelLoads.map((f) => [f.uri, f.iss, f.sid, f.loaded]), [[src.href, op.issuer, sid, false]]);
    assert.equal(op.logoutRequests.at(-1).endedSid, sid);

    // Nothing left to end: no iframes, a plain redirect. Without front-channel URIs: a plain redirect.
    const again = await fetch(u, { redirect: "manual" });
    assert.equal(again.status, 302);
    op.frontChannelLogoutUris = [];
    const jar2 = new Jar();
    await authorize(op, jar2);
    const plain = await fetch(u, { redirect: "manual", headers: { cookie: jar2.header } });
    assert.equal(plain.status, 302);
    assert.equal(jar2.take(plain).length, 2);
    assert.deepEqual(op.sessions, []);
  } finally {
    await op.close();
  }
});

test("end_session without id_token_hint logs out (no Keycloak confirmation page); Keycloak's 400s stay", async () => {
  const op = await startProfileProvider("keycloak", { sessions: true });
  try {
    const jar = new Jar();
    await authorize(op, jar);
    const plain = await fetch(op.endpoints.end_session, { headers: { cookie: jar.header } });
    assert.equal(plain.status, 200);
    assert.match(await plain.text(), /You are logged out/);
    assert.equal(jar.take(plain).length, 2);
    assert.deepEqual(op.sessions, []);
    const noClient = new URL(op.endpoints.end_session);
    noClient.searchParams.set("post_logout_redirect_uri", `${APP}/`);
    assert.equal((await fetch(noClient, { redirect: "manual" })).status, 400);
    noClient.searchParams.set("client_id", op.clientId);
    assert.equal((await fetch(noClient, { redirect: "manual" })).status, 302);
    noClient.searchParams.set("post_logout_redirect_uri", "javascript:alert(1)");
    assert.equal((await fetch(noClient, { redirect: "manual" })).status, 400);
  } finally {
    await op.close();
  }
});

// ---------------------------------------------------------------------------------------------
// In Chromium: hand-written app pages
// ---------------------------------------------------------------------------------------------

const APP_PAGE = `<!doctype html><meta charset="utf-8"><title>app</title><body><p>app</p>
<script>
  // The app's tab: a BroadcastChannel listener, storage, a held Web Lock, a cookie.
  window.__bc = [];
  window.__chan = new BroadcastChannel("pixy-fc");
  window.__chan.onmessage = (e) => window.__bc.push(e.data);
  localStorage.setItem("probe", "ls-from-app");
  sessionStorage.setItem("probe", "ss-from-app");
  document.cookie = "app_probe=1; Path=/; SameSite=None; Secure";
  // Held until the page goes (by the first app tab only).
  window.__lockHeld = new Promise((held) => navigator.locks.request("pixy-probe", { ifAvailable: true }, (lock) => {
    held(lock !== null);
    return lock && new Promise(() => {});
  }));
</script>`;

const FC_PAGE = `<!doctype html><meta charset="utf-8"><title>front-channel logout</title>
<script>
  // What the app's front-channel page can reach from inside the provider's logout page. The
  // synchronous probes leave at once by beacon (the logout page may navigate away after "load").
  const r = { href: location.href, phase: "sync" };
  const tryIt = (k, f) => {
    try { r[k] = f(); } catch (e) { r[k] = "throws " + e.name; }
  };
  tryIt("bcPosted", () => { new BroadcastChannel("pixy-fc").postMessage({ from: "fc", search: location.search }); return true; });
  tryIt("localStorage", () => localStorage.getItem("probe"));
  tryIt("sessionStorage", () => sessionStorage.getItem("probe"));
  tryIt("cookie", () => document.cookie);
  navigator.sendBeacon("/report", JSON.stringify(r));
  (async () => {
    const a = { href: location.href, phase: "async" };
    const tryAsync = async (k, f) => {
      try { a[k] = await f(); } catch (e) { a[k] = "throws " + e.name; }
    };
    await tryAsync("lockShared", () => navigator.locks.request("pixy-probe", { ifAvailable: true }, (l) => l === null));
    await tryAsync("hasStorageAccess", () => document.hasStorageAccess());
    navigator.sendBeacon("/report", JSON.stringify(a));
  })();
</script>`;

/** A tiny app server: /app.html (also the redirect target), /silent.html, /fc.html, POST /report. */
async function startApp(host) {
  const reports = [];
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    requests.push(url.pathname + url.search);
    if (req.method === "POST" && url.pathname === "/report") {
      reports.push(JSON.parse(await readBody(req)));
      res.writeHead(204).end();
      return;
    }
    const body = { "/app.html": APP_PAGE, "/silent.html": "<!doctype html><title>silent</title>", "/fc.html": FC_PAGE }[url.pathname];
    res.writeHead(body ? 200 : 404, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end(body ?? "not found");
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://${host}:${server.address().port}`,
    reports,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function authorizeUrl(op, redirectUri, extra = {}) {
  const u = new URL(op.endpoints.authorization);
  const q = { client_id: op.clientId, redirect_uri: redirectUri, response_type: "code", scope: "openid",
    state: rand(8), nonce: rand(8), code_challenge: s256(rand(32)), code_challenge_method: "S256", ...extra };
  for (const [k, v] of Object.entries(q)) u.searchParams.set(k, v);
  return u.href;
}

/** Top-level login in `page`: lands on app.html with the response; returns its parameters. */
async function topLevelLogin(page, op, app, extra) {
  await page.goto(authorizeUrl(op, `${app.origin}/app.html`, extra));
  await page.waitForURL((u) => u.href.startsWith(`${app.origin}/app.html`));
  await page.evaluate(() => window.__lockHeld);
  return Object.fromEntries(new URL(page.url()).searchParams);
}

/**
 * From the app page: embed the provider's check_session iframe, post each message, collect the
 * answers (or "no answer"), and what the frame itself sees (cookie, hash implementation, storage access).
 */
async function checkSession(page, op, messages) {
  await page.evaluate((src) => new Promise((resolve) => {
    const f = document.createElement("iframe");
    f.id = "cs";
    f.style.display = "none";
    f.onload = resolve;
    f.src = src;
    document.body.append(f);
  }), op.endpoints.check_session);
  const frame = page.frames().find((f) => f.url() === op.endpoints.check_session);
  const inside = await frame.evaluate(async () => ({
    cookie: document.cookie,
    sha256: document.documentElement.dataset.sha256,
    hasStorageAccess: await document.hasStorageAccess(),
  }));
  const answers = await page.evaluate(async ({ msgs, origin }) => {
    const f = document.getElementById("cs");
    const out = [];
    for (const m of msgs) {
      out.push(await new Promise((resolve) => {
        const timer = setTimeout(() => resolve("no answer"), 3000);
        addEventListener("message", function on(e) {
          if (e.source !== f.contentWindow) return;
          removeEventListener("message", on);
          clearTimeout(timer);
          resolve(e.data);
        });
        f.contentWindow.postMessage(m, origin);
      }));
    }
    f.remove();
    return out;
  }, { msgs: messages, origin: new URL(op.endpoints.check_session).origin });
  return { answers, ...inside, opbsVisible: inside.cookie.includes(`${op.cookieNames.browserState}=`) };
}

/** From the app page: a hidden prompt=none iframe; "code", an error code, or "timeout". */
async function silentRequest(page, op, app) {
  const href = await page.evaluate((src) => new Promise((resolve) => {
    const f = document.createElement("iframe");
    f.style.display = "none";
    const timer = setTimeout(() => resolve("timeout"), 5000);
    f.onload = () => {
      try {
        const h = f.contentWindow.location.href;
        if (h.includes("/silent.html")) {
          clearTimeout(timer);
          f.remove();
          resolve(h);
        }
      } catch {
        // still at the provider
      }
    };
    f.src = src;
    document.body.append(f);
  }), authorizeUrl(op, `${app.origin}/silent.html`, { prompt: "none" }));
  if (href === "timeout") return "timeout";
  const q = new URL(href).searchParams;
  return q.get("code") ? "code" : q.get("error");
}

test("check_session page: unchanged for the right session_state, changed after another login or a logout elsewhere, error when malformed", { timeout: TEST_MS }, async () => {
  const op = await startProfileProvider("keycloak", { sessions: true });
  const app = await startApp("127.0.0.1");
  const browser = await launchBrowser({ thirdPartyCookies: "block" });
  try {
    const page = await browser.context.newPage();
    const params = await topLevelLogin(page, op, app);
    const ss = params.session_state;
    const [hash, salt] = ss.split(".");
    const cs = await checkSession(page, op, [
      `${op.clientId} ${ss}`,
      `${op.clientId} ${hash}.x${salt}`,
      `${op.clientId} ${ss} extra`,
      ss,
      `someone ${ss}`,
      `${op.clientId} nodot`,
      `${op.clientId} .${salt}`,
    ]);
    assert.deepEqual(cs.answers, ["unchanged", "changed", "error", "error", "error", "error", "error"]);
    assert.equal(cs.sha256, "subtle", "crypto.subtle works in the frame (http://127.0.0.1 is a secure context)");
    assert.equal(cs.opbsVisible, true);
    assert.ok(!cs.cookie.includes(op.cookieNames.session), "the session cookie is HttpOnly");

    // Another user logs in in another tab: the browser state changes.
    const other = await browser.context.newPage();
    await topLevelLogin(other, op, app, { login_hint: "grace-1906" });
    assert.deepEqual((await checkSession(page, op, [`${op.clientId} ${ss}`])).answers, ["changed"]);
    const ss2 = Object.fromEntries(new URL(other.url()).searchParams).session_state;
    assert.deepEqual((await checkSession(page, op, [`${op.clientId} ${ss2}`])).answers, ["unchanged"]);
    // Logged out elsewhere (another tab opens end_session, no id_token_hint): changed.
    await other.goto(op.endpoints.end_session);
    assert.match(await other.textContent("body"), /You are logged out/);
    assert.deepEqual(op.sessions, []);
    const after = await checkSession(page, op, [`${op.clientId} ${ss2}`]);
    assert.deepEqual(after.answers, ["changed"]);
    assert.equal(after.opbsVisible, false);
    assert.equal(await silentRequest(page, op, app), "login_required");
    // A non-string message is an error too.
    assert.deepEqual((await checkSession(page, op, [{ not: "a string" }])).answers, ["error"]);
  } finally {
    await browser.close();
    await app.close();
    await op.close();
  }
});

test("check_session page: its JS SHA-256 (for frames without crypto.subtle) matches node's", { timeout: TEST_MS }, async () => {
  const op = await startProfileProvider("keycloak", { sessions: true });
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    await page.goto(op.endpoints.check_session);
    const inputs = ["", "abc", "x".repeat(55), "y".repeat(56), "z".repeat(64), `spa http://localhost:1 ${"é".repeat(70)} s`];
    const got = await page.evaluate((list) => list.map((s) => window.__sha256js(s)), inputs);
    assert.deepEqual(got, inputs.map((s) => b64u(createHash("sha256").update(s, "utf8").digest())));
  } finally {
    await browser.close();
    await op.close();
  }
});

test("end_session page in the browser: front-channel iframes load, then post_logout_redirect_uri", { timeout: TEST_MS }, async () => {
  const app = await startApp("127.0.0.1");
  const op = await startProfileProvider("keycloak", {
    sessions: true,
    frontChannelLogoutUri: [`${app.origin}/fc.html`, `${app.origin}/fc.html?second`],
    frontChannelTimeoutMs: 10_000,
  });
  const browser = await launchBrowser({ thirdPartyCookies: "block" });
  try {
    const page = await browser.context.newPage();
    await topLevelLogin(page, op, app);
    const sid = op.sessions[0];
    const u = new URL(op.endpoints.end_session);
    u.searchParams.set("client_id", op.clientId);
    u.searchParams.set("post_logout_redirect_uri", `${app.origin}/silent.html`);
    const t0 = Date.now();
    await page.goto(u.href);
    await page.waitForURL((x) => x.href.startsWith(`${app.origin}/silent.html`));
    assert.ok(Date.now() - t0 < 8000, "the page does not wait for the timeout (10 s) when every frame loaded");
    assert.deepEqual(op.sessions, []);
    const fcRequests = app.requests.filter((r) => r.startsWith("/fc.html"));
    assert.equal(fcRequests.length, 2);
    for (const r of fcRequests) {
      const q = new URL(r, app.origin).searchParams;
      assert.equal(q.get("iss"), op.issuer);
      assert.equal(q.get("sid"), sid);
    }
    // Each frame's load is reported by a beacon, which may land after the redirect.
    await settle(() => op.frontChannelLoads.every((f) => f.loaded), 5_000);
    assert.deepEqual(op.frontChannelLoads.map((f) => f.loaded), [true, true]);
    const left = (await browser.context.cookies(op.issuer)).filter((c) => Object.values(op.cookieNames).includes(c.name));
    assert.deepEqual(left, [], "both provider cookies are gone");
  } finally {
    await browser.close();
    await app.close();
    await op.close();
  }
});

test("end_session page: a front-channel URI that never loads is given up after frontChannelTimeoutMs", { timeout: TEST_MS }, async () => {
  // A server that accepts the request and never answers.
  const hang = http.createServer(() => {});
  await new Promise((r) => hang.listen(0, "127.0.0.1", r));
  const op = await startProfileProvider("keycloak", { sessions: true, frontChannelTimeoutMs: 1500,
    frontChannelLogoutUri: `http://127.0.0.1:${hang.address().port}/fc` });
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    await page.goto(authorizeUrl(op, op.discoveryUrl));
    assert.equal(op.sessions.length, 1);
    const t0 = Date.now();
    await page.goto(op.endpoints.end_session, { waitUntil: "commit" });
    await page.waitForSelector("body[data-done='1']");
    const took = Date.now() - t0;
    assert.ok(took >= 1400 && took < 5000, `gave up after ${took} ms`);
    assert.match(await page.textContent("#msg"), /You are logged out/);
    assert.deepEqual(op.frontChannelLoads.map((f) => f.loaded), [false]);
  } finally {
    await browser.close();
    hang.closeAllConnections();
    await new Promise((r) => hang.close(r));
    await op.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Research: what Chromium lets Session Management and Front-Channel Logout do, per site setup
// ---------------------------------------------------------------------------------------------

/** Waits for the front-channel page's reports of these phases (and takes them off the list). */
async function reports(app, phases) {
  const deadline = Date.now() + 5000;
  while (!phases.every((p) => app.reports.some((x) => x.phase === p)) && Date.now() < deadline) await sleep(50);
  const out = {};
  for (const p of phases) {
    const i = app.reports.findIndex((x) => x.phase === p);
    assert.ok(i >= 0, `the front-channel page reported (${p})`);
    out[p] = app.reports.splice(i, 1)[0];
  }
  return out;
}

async function observe({ appHost, thirdPartyCookies, storagePartitioning }) {
  const app = await startApp(appHost);
  const op = await startProfileProvider("keycloak", { sessions: true, frontChannelLogoutUri: `${app.origin}/fc.html` });
  const browser = await launchBrowser({ thirdPartyCookies, storagePartitioning });
  try {
    const r = {};
    const tab = await browser.context.newPage();
    const params = await topLevelLogin(tab, op, app);
    const sid = op.sessions[0];
    const cs = await checkSession(tab, op, [`${op.clientId} ${params.session_state}`]);
    r.checkSession = cs.answers[0];
    r.checkSessionSeesOpbs = cs.opbsVisible;
    r.checkSessionSha = cs.sha256;
    r.checkSessionHasStorageAccess = cs.hasStorageAccess;
    r.silent = await silentRequest(tab, op, app);

    // The user logs out at the provider in another tab (no id_token_hint).
    const other = await browser.context.newPage();
    await other.goto(op.endpoints.end_session);
    await other.waitForSelector("body[data-done='1']");
    const fc = await reports(app, ["sync", "async"]);
    const fq = new URL(fc.sync.href).searchParams;
    r.fcIssSid = fq.get("iss") === op.issuer && fq.get("sid") === sid;
    r.fcBroadcastReachesTab = await settle(async () => (await tab.evaluate(() => window.__bc)).length > 0, 3_000);
    r.fcLocalStorage = fc.sync.localStorage;
    r.fcSessionStorageOtherTab = fc.sync.sessionStorage;
    r.fcSeesAppCookie = fc.sync.cookie.startsWith?.("throws") ? fc.sync.cookie : fc.sync.cookie.includes("app_probe=1");
    r.fcLockShared = fc.async.lockShared;
    r.fcHasStorageAccess = fc.async.hasStorageAccess;
    r.checkSessionAfterLogout = (await checkSession(tab, op, [`${op.clientId} ${params.session_state}`])).answers[0];

    // RP-initiated logout in the app's own tab: the front-channel frame is in that tab.
    await topLevelLogin(tab, op, app);
    const u = new URL(op.endpoints.end_session);
    u.searchParams.set("client_id", op.clientId);
    u.searchParams.set("post_logout_redirect_uri", `${app.origin}/silent.html`);
    await tab.goto(u.href);
    await tab.waitForURL((x) => x.href.startsWith(`${app.origin}/silent.html`));
    r.fcSessionStorageSameTab = (await reports(app, ["sync"])).sync.sessionStorage;
    return r;
  } finally {
    await browser.close();
    await app.close();
    await op.close();
  }
}

// What each setup shows, measured with this Chromium (156). Session Management needs the provider's
// cookies in a cross-site frame: only (a) and (b) have them. Front-channel: the app's page inside the
// provider's logout page. BroadcastChannel / localStorage / Web Locks reach the app's tabs
// cross-site only WITHOUT storage partitioning, i.e. only because Playwright turns it off; as
// Chrome ships (partitioned), only the same-site setup (a) reaches them. sessionStorage is per tab:
// never the other tab's; the app's own tab's (RP-initiated logout in that tab) when unpartitioned.
const SESSION_MANAGEMENT = {
  a: { checkSession: "unchanged", checkSessionSeesOpbs: true, checkSessionSha: "subtle", checkSessionHasStorageAccess: true,
    silent: "code", checkSessionAfterLogout: "changed", fcIssSid: true },
  b: { checkSession: "unchanged", checkSessionSeesOpbs: true, checkSessionSha: "subtle", checkSessionHasStorageAccess: true,
    silent: "code", checkSessionAfterLogout: "changed", fcIssSid: true },
  c: { checkSession: "changed", checkSessionSeesOpbs: false, checkSessionSha: "subtle", checkSessionHasStorageAccess: false,
    silent: "login_required", checkSessionAfterLogout: "changed", fcIssSid: true },
};
const SHARED = { fcBroadcastReachesTab: true, fcLocalStorage: "ls-from-app", fcSessionStorageOtherTab: null,
  fcSessionStorageSameTab: "ss-from-app", fcLockShared: true, fcHasStorageAccess: true, fcSeesAppCookie: true };
const PARTITIONED = { fcBroadcastReachesTab: false, fcLocalStorage: null, fcSessionStorageOtherTab: null,
  fcSessionStorageSameTab: null, fcLockShared: false };
const FRONT_CHANNEL = {
  a: { unpartitioned: SHARED, partitioned: SHARED },
  b: { unpartitioned: SHARED, partitioned: { ...PARTITIONED, fcHasStorageAccess: true, fcSeesAppCookie: true } },
  c: {
    // Third-party cookies blocked and no partitioning: storage is refused outright (BroadcastChannel is not).
    unpartitioned: { fcBroadcastReachesTab: true, fcLocalStorage: "throws SecurityError", fcSessionStorageOtherTab: "throws SecurityError",
      fcSessionStorageSameTab: "throws SecurityError", fcLockShared: "throws SecurityError", fcHasStorageAccess: false, fcSeesAppCookie: false },
    partitioned: { ...PARTITIONED, fcHasStorageAccess: false, fcSeesAppCookie: false },
  },
};

for (const [key, label, setup] of [
  ["a", "(a) same-site, third-party cookies blocked", { appHost: "127.0.0.1", thirdPartyCookies: "block" }],
  ["b", "(b) cross-site, third-party cookies allowed", { appHost: "localhost", thirdPartyCookies: "allow" }],
  ["c", "(c) cross-site, third-party cookies blocked", { appHost: "localhost", thirdPartyCookies: "block" }],
]) {
  for (const storagePartitioning of [false, true]) {
    const l = `${label}, ${storagePartitioning ? "storage partitioned (as Chrome)" : "Playwright's default (no storage partitioning)"}`;
    test(`research ${l}`, { timeout: TEST_MS }, async () => {
      const r = await observe({ ...setup, storagePartitioning });
      if (process.env.PIXY_DEBUG) console.log(l, JSON.stringify(r));
      assert.deepEqual(r, { ...SESSION_MANAGEMENT[key], ...FRONT_CHANNEL[key][storagePartitioning ? "partitioned" : "unpartitioned"] });
    });
  }
}
