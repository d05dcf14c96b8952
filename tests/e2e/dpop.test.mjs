// End-to-end: DPoP (RFC 9449) and pushed authorization requests (PAR, RFC 9126) with the demo page
// (www/index.html, `window.oidc`), the built package (pkg/), the real oidc-provider
// (tests/support/provider.mjs) with DPoP and PAR on, a resource server that takes only DPoP
// (tests/support/resource.mjs), and Chromium. Asserts what the provider and the resource server
// saw, and what a stolen access token is worth without the key.
//
//   bash scripts/build.sh && node --test tests/e2e/dpop.test.mjs
//
// The app is served from 127.0.0.1, the providers' site, so the hidden iframe sees the provider's
// session with third-party cookies blocked (as in tests/e2e/session.test.mjs).
//
// WebCrypto is watched, not changed: an init script wraps SubtleCrypto's generateKey and exportKey
// to record each call (algorithm, extractable, usages, and the key pair made), so the test can
// check that the DPoP key is a non-extractable P-256 key, that exporting its private half throws,
// and that no private key is ever exported.
import { test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createHash } from "node:crypto";
import { startProvider } from "../support/provider.mjs";
import { startAppServer } from "../support/app-server.mjs";
import { startResourceServer } from "../support/resource.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { createDpopKey, dpopProof } from "../support/dpop-client.mjs";
import { jwkThumbprint } from "../../www/api/me.mjs";

const CLIENT_ID = "pixy-dpop"; // DPoP-bound: no token without a proof
const PLAIN_ID = "pixy-plain"; // DPoP optional (for PAR without DPoP)
const WAIT = 15_000;
const TEST_TIMEOUT = 90_000;

let op; // DPoP (nonces offered; required when a test says so), PAR offered
let parOp; // PAR required by its metadata
let app;
let rs;
let browser;
let tabs = [];
let log = [];

const b64u = (buf) => Buffer.from(buf).toString("base64url");
const sha256 = (s) => b64u(createHash("sha256").update(s, "ascii").digest());
const decode = (jwt) => {
  const [h, p] = jwt.split(".");
  return { header: JSON.parse(Buffer.from(h, "base64url")), claims: JSON.parse(Buffer.from(p, "base64url")) };
};

before(async () => {
  if (!existsSync(new URL("../../pkg/index.js", import.meta.url))) {
    throw new Error("pkg/index.js is missing: build the package first (bash scripts/build.sh)");
  }
  app = await startAppServer({ host: "127.0.0.1", port: 0 });
  const appUrl = `${app.origin}/`;
  const client = (client_id, extra = {}) => ({
    client_id,
    redirect_uris: [appUrl],
    post_logout_redirect_uris: [appUrl],
    ...extra,
  });
  [op, parOp] = await Promise.all([
    startProvider({
      quiet: true,
      dpop: { requireNonce: false },
      clients: [client(CLIENT_ID, { dpop_bound_access_tokens: true }), client(PLAIN_ID)],
    }),
    startProvider({ quiet: true, par: { required: true }, clients: [client(CLIENT_ID, { dpop_bound_access_tokens: true })] }),
  ]);
  rs = await startResourceServer({ issuer: op.issuer, introspectionClient: op.introspectionClient, origins: [app.origin] });
  browser = await launchBrowser({ thirdPartyCookies: "block" });
  browser.context.setDefaultTimeout(WAIT);
  browser.context.setDefaultNavigationTimeout(WAIT);
  await browser.context.addInitScript(() => {
    const watch = { generated: [], exported: [] };
    Object.defineProperty(window, "__cryptoWatch", { value: watch });
    const proto = SubtleCrypto.prototype;
    const generateKey = proto.generateKey;
    const exportKey = proto.exportKey;
    proto.generateKey = async function (algorithm, extractable, usages) {
      const made = await generateKey.call(this, algorithm, extractable, usages);
      watch.generated.push({
        name: algorithm?.name ?? algorithm,
        namedCurve: algorithm?.namedCurve,
        extractable,
        usages: [...usages],
        made,
      });
      return made;
    };
    proto.exportKey = async function (format, key) {
      watch.exported.push({ format, type: key?.type, name: key?.algorithm?.name });
      return exportKey.call(this, format, key);
    };
  });
});

after(async () => {
  await browser?.close();
  await Promise.allSettled([app?.close(), rs?.close(), op?.close(), parOp?.close()]);
});

const baseConfig = () => ({
  issuer: op.issuer,
  clientId: CLIENT_ID,
  scopes: ["openid", "profile", "email"],
  dpop: true,
  par: "never",
  debug: !!process.env.PIXY_DEBUG,
});

beforeEach(async () => {
  log = [];
  tabs = [];
  for (const p of browser.context.pages()) await p.close().catch(() => {});
  await browser.context.clearCookies();
  op.setDpopRequireNonce(false);
  rs.setRequireNonce(false);
  app.setConfig(baseConfig());
  const page = await browser.context.newPage();
  await page.goto(`${app.origin}/404-blank`);
  await page.evaluate(() => {
    localStorage.clear();
    sessionStorage.clear();
  });
  await page.close();
});

afterEach(async () => {
  op.setDpopRequireNonce(false);
  rs.setRequireNonce(false);
  for (const p of browser.context.pages()) await p.close().catch(() => {});
});

/** Runs a test body; on failure, appends what the tabs logged and where they are. */
function e2e(name, fn) {
  test(name, { timeout: TEST_TIMEOUT }, async () => {
    try {
      await fn();
    } catch (err) {
      const where = tabs.map((t) => `${t.name}: ${t.page.isClosed() ? "(closed)" : t.page.url()}`).join("\n");
      err.message += `\n--- log ---\n${log.slice(-80).join("\n")}\n--- tabs ---\n${where}`;
      throw err;
    }
  });
}

async function newTab(name = `tab${tabs.length + 1}`) {
  const page = await browser.context.newPage();
  page.on("console", (m) => log.push(`[${name} console.${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => log.push(`[${name} pageerror] ${e.message}`));
  page.on("framenavigated", (f) => {
    if (f === page.mainFrame()) log.push(`[${name} navigated] ${f.url()}`);
  });
  const tab = { name, page };
  tabs.push(tab);
  return tab;
}

const text = (page, sel) => page.locator(sel).textContent({ timeout: WAIT }).then((t) => (t ?? "").trim());
const waitReady = (page) => page.waitForSelector("body[data-ready='1']", { state: "attached", timeout: WAIT });

/** Opens the demo in a new tab; asserts it started with the expected status and no error. */
async function openApp(expected = "logged out", name) {
  const tab = await newTab(name);
  await tab.page.goto(`${app.origin}/`);
  await waitReady(tab.page);
  const status = await text(tab.page, "#status");
  if (status !== expected) {
    const error = `${await text(tab.page, "#error-code")}: ${await text(tab.page, "#error-message")}`;
    assert.fail(`${tab.name} should start ${expected}; status is "${status}" (${error})`);
  }
  return tab;
}

/** Logs `user` in through the demo's "Log in" button; returns the tab, logged in. */
async function logIn(user, { issuer = op.issuer } = {}) {
  const tab = await openApp();
  const { page } = tab;
  await page.click("#login");
  await page.waitForURL((u) => u.href.startsWith(`${issuer}/interaction/`));
  await page.fill("input[name=login]", user);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => u.origin === app.origin);
  await waitReady(page);
  assert.equal(await text(page, "#status"), "logged in", `${await text(page, "#error-code")}: ${await text(page, "#error-message")}`);
  return tab;
}

const getTokens = (page) => page.evaluate(() => window.oidc.getTokens());
/** `oidc.fetch(url, init)` in the page: status and JSON body. */
const oidcFetch = (page, url, init) =>
  page.evaluate(
    async ([u, i]) => {
      const r = await window.oidc.fetch(u, i);
      return { status: r.status, body: await r.json().catch(() => null), www: r.headers.get("www-authenticate") };
    },
    [url, init],
  );
const restoredVia = (page) => page.evaluate(() => window.oidc.restoredVia ?? null);

/** What the page's WebCrypto calls made and exported (see the init script). */
const cryptoWatch = (page) =>
  page.evaluate(() =>
    window.__cryptoWatch.generated
      .map(({ made, ...g }) => g)
      .concat(window.__cryptoWatch.exported.map((e) => ({ exported: e }))),
  );

/** Asks the provider, as the resource server does, which key the token is bound to. */
async function introspect(token, provider = op) {
  const { client_id, client_secret } = provider.introspectionClient;
  const r = await fetch(`${provider.issuer}/token/introspection`, {
    method: "POST",
    headers: { authorization: `Basic ${Buffer.from(`${client_id}:${client_secret}`).toString("base64")}` },
    body: new URLSearchParams({ token }),
  });
  return r.json();
}

/** The pushes since `from`, without the silent (prompt=none) ones a start may make. */
const interactivePushes = (provider, from) => provider.parRequests.slice(from).filter((p) => p.params.prompt !== "none");

const exchanges = (provider = op) => provider.tokenRequests.filter((t) => t.grant_type === "authorization_code");

/** Asserts a recorded proof (header and claims) is a correct one for `htm` `htu`. */
function assertProof(dpop, { htm, htu, accessToken, what }) {
  assert.ok(dpop, `${what}: a DPoP proof was sent`);
  const { header, claims } = dpop;
  assert.equal(header.typ, "dpop+jwt", `${what}: typ`);
  assert.equal(header.alg, "ES256", `${what}: alg`);
  assert.equal(header.jwk?.kty, "EC", `${what}: jwk kty`);
  assert.equal(header.jwk?.crv, "P-256", `${what}: jwk crv`);
  assert.equal("d" in header.jwk, false, `${what}: the jwk header holds no private key`);
  assert.equal(typeof claims.jti, "string", `${what}: jti`);
  assert.ok(claims.jti.length >= 16, `${what}: jti has some entropy`);
  assert.equal(claims.htm, htm, `${what}: htm`);
  assert.equal(claims.htu, htu, `${what}: htu (no query, no fragment)`);
  assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 30, `${what}: iat is now`);
  if (accessToken) assert.equal(claims.ath, sha256(accessToken), `${what}: ath`);
  else assert.equal(claims.ath, undefined, `${what}: no ath without an access token`);
}

// ---------------------------------------------------------------------------------------------

e2e("login with dpop: the code exchange carries a proof, the tokens are DPoP and bound to that key", async () => {
  const authBefore = op.authRequests.length;
  const before = exchanges().length;
  const { page } = await logIn("dora");
  const sent = exchanges().slice(before);
  assert.equal(sent.length, 1, "one code exchange");
  assert.equal(sent[0].status, 200);
  assertProof(sent[0].dpop, { htm: "POST", htu: `${op.issuer}/token`, what: "code exchange" });
  assert.equal(sent[0].token_type, "DPoP");

  const interactive = op.authRequests.slice(authBefore).filter((a) => a.params.prompt !== "none");
  assert.equal(interactive.length, 1);
  assert.equal(interactive[0].params.dpop_jkt, undefined, "no dpop_jkt on a full-page redirect (the key is made after the callback)");

  const tokens = await getTokens(page);
  assert.equal(tokens.tokenType, "DPoP");
  const info = await introspect(tokens.accessToken);
  assert.equal(info.active, true);
  assert.equal(info.token_type, "DPoP");
  assert.equal(info.cnf?.jkt, jwkThumbprint(sent[0].dpop.header.jwk), "the access token is bound to the exchange's key");
});

e2e("the key is a non-extractable P-256 key held in memory: exportKey on it throws, no private key is exported or stored", async () => {
  const { page } = await logIn("kim");
  const tokens = await getTokens(page);
  const jwk = exchanges().at(-1).dpop.header.jwk;
  const calls = await cryptoWatch(page);
  const ecKeys = calls.filter((c) => c.name === "ECDSA");
  assert.ok(ecKeys.length >= 1, `a key pair made with WebCrypto in this page: ${JSON.stringify(calls)}`);
  for (const k of ecKeys) {
    assert.equal(k.namedCurve, "P-256");
    assert.equal(k.extractable, false, "generateKey(..., extractable: false, ...)");
    assert.ok(k.usages.includes("sign") && k.usages.every((u) => u === "sign" || u === "verify"), JSON.stringify(k.usages));
  }
  for (const c of calls.filter((c) => c.exported)) {
    assert.notEqual(c.exported.type, "private", `a private key was exported: ${JSON.stringify(c.exported)}`);
  }
  // Each key pair made: its private half refuses to be exported; one of them is the proofs' key.
  const tried = await page.evaluate(async () => {
    const out = [];
    for (const g of window.__cryptoWatch.generated.filter((x) => x.name === "ECDSA")) {
      const { privateKey, publicKey } = g.made;
      const o = { privateExtractable: privateKey.extractable };
      for (const format of ["jwk", "pkcs8"]) {
        try {
          await crypto.subtle.exportKey(format, privateKey);
          o[format] = "exported";
        } catch (e) {
          o[format] = e.name;
        }
      }
      o.publicJwk = await crypto.subtle.exportKey("jwk", publicKey);
      out.push(o);
    }
    return out;
  });
  for (const t of tried) {
    assert.equal(t.privateExtractable, false);
    assert.equal(t.jwk, "InvalidAccessError");
    assert.equal(t.pkcs8, "InvalidAccessError");
  }
  assert.ok(
    tried.some((t) => jwkThumbprint(t.publicJwk) === jwkThumbprint(jwk)),
    "the key in the proofs is one made here, non-extractable",
  );

  // createDPoPProof: a proof of that key, with ath, whose jwk has no private member.
  const proof = await page.evaluate((url) => window.oidc.createDPoPProof({ method: "GET", url }), `${rs.url}?q=1#f`);
  const { header, claims } = decode(proof);
  assert.equal("d" in header.jwk, false);
  assert.equal(jwkThumbprint(header.jwk), jwkThumbprint(jwk));
  assertProof({ header, claims }, { htm: "GET", htu: rs.url, accessToken: tokens.accessToken, what: "createDPoPProof" });

  // Nothing of the key or the tokens in storage, cookies or IndexedDB.
  const stored = await page.evaluate(async () => {
    const out = [];
    for (const s of [localStorage, sessionStorage]) for (let i = 0; i < s.length; i++) out.push(`${s.key(i)}=${s.getItem(s.key(i))}`);
    out.push(`cookie=${document.cookie}`);
    const dbs = (await indexedDB.databases?.()) ?? [];
    out.push(...dbs.map((d) => `indexedDB ${d.name}`));
    return out;
  });
  for (const entry of stored) {
    assert.doesNotMatch(entry, /"kty"|"d"\s*:/, `a JWK in storage: ${entry.slice(0, 120)}`);
    assert.equal(entry.includes(tokens.accessToken), false, `the access token in storage: ${entry.slice(0, 80)}`);
    assert.doesNotMatch(entry, /^indexedDB /, `the key must live in memory only, not in ${entry}`);
  }
});

e2e("oidc.fetch calls the resource server with DPoP and a fresh proof; the same token without the key is refused", async () => {
  const { page } = await logIn("rhea");
  const tokens = await getTokens(page);
  const rsBefore = rs.requests.length;
  const first = await oidcFetch(page, `${rs.url}?page=1`);
  assert.equal(first.status, 200, JSON.stringify(first));
  assert.equal(first.body.sub, "rhea");
  const second = await oidcFetch(page, rs.url, { method: "POST" });
  assert.equal(second.status, 200, JSON.stringify(second));

  const seen = rs.requests.slice(rsBefore).filter((r) => r.method !== "OPTIONS");
  assert.equal(seen.length, 2, "one request per call");
  assert.equal(seen[0].authorization, `DPoP ${tokens.accessToken}`);
  assertProof(decode(seen[0].dpop), { htm: "GET", htu: rs.url, accessToken: tokens.accessToken, what: "oidc.fetch GET" });
  assertProof(decode(seen[1].dpop), { htm: "POST", htu: rs.url, accessToken: tokens.accessToken, what: "oidc.fetch POST" });
  assert.notEqual(decode(seen[0].dpop).claims.jti, decode(seen[1].dpop).claims.jti, "a new jti for each request");
  assert.equal(seen[0].jkt, (await introspect(tokens.accessToken)).cnf.jkt);

  // The stolen token from Node: as Bearer, as DPoP without a proof, with a proof of another key.
  const thief = await createDpopKey();
  const attempts = {
    bearer: { authorization: `Bearer ${tokens.accessToken}` },
    noProof: { authorization: `DPoP ${tokens.accessToken}` },
    otherKey: {
      authorization: `DPoP ${tokens.accessToken}`,
      dpop: await dpopProof(thief, { htm: "GET", htu: rs.url, accessToken: tokens.accessToken }),
    },
    replayedProof: { authorization: `DPoP ${tokens.accessToken}`, dpop: seen[0].dpop },
  };
  for (const [what, headers] of Object.entries(attempts)) {
    const r = await fetch(rs.url, { headers });
    assert.equal(r.status, 401, `${what}: refused`);
    assert.match(r.headers.get("www-authenticate") ?? "", /^DPoP /, `${what}: WWW-Authenticate`);
  }
  // And the provider's userinfo refuses it as a Bearer token too.
  const ui = await fetch(`${op.issuer}/me`, { headers: { authorization: `Bearer ${tokens.accessToken}` } });
  assert.equal(ui.status, 401);
});

e2e("getUserInfo and renewTokens send proofs of the session's key (ath for userinfo), and stay DPoP", async () => {
  const { page } = await logIn("uli");
  const key = jwkThumbprint(exchanges().at(-1).dpop.header.jwk);
  const tokens = await getTokens(page);
  const uiBefore = op.userinfoRequests.length;
  const info = await page.evaluate(() => window.oidc.getUserInfo());
  assert.equal(info.sub, "uli");
  const ui = op.userinfoRequests.slice(uiBefore).filter((r) => r.method !== "OPTIONS");
  assert.equal(ui.length, 1);
  assert.equal(ui[0].scheme, "DPoP");
  assertProof(ui[0].dpop, { htm: ui[0].method, htu: `${op.issuer}/me`, accessToken: tokens.accessToken, what: "userinfo" });
  assert.equal(jwkThumbprint(ui[0].dpop.header.jwk), key);

  const trBefore = op.tokenRequests.length;
  const renewed = await page.evaluate(() => window.oidc.renewTokens());
  assert.equal(renewed.tokenType, "DPoP");
  const refresh = op.tokenRequests.slice(trBefore).filter((t) => t.grant_type === "refresh_token");
  assert.equal(refresh.length, 1);
  assert.equal(refresh[0].status, 200);
  assertProof(refresh[0].dpop, { htm: "POST", htu: `${op.issuer}/token`, what: "refresh grant" });
  assert.equal(jwkThumbprint(refresh[0].dpop.header.jwk), key, "the refresh proves the same key");
  assert.equal((await introspect(renewed.accessToken)).cnf?.jkt, key);
  const after = await oidcFetch(page, rs.url);
  assert.equal(after.status, 200);
});

e2e("a new session gets a new key: log out, log in again", async () => {
  const { page } = await logIn("nora");
  const first = jwkThumbprint(exchanges().at(-1).dpop.header.jwk);
  const ended = op.endSessions.length;
  await page.click("#logout");
  await page.waitForURL((u) => u.origin === app.origin && op.endSessions.length > ended);
  await waitReady(page);
  assert.equal(await text(page, "#status"), "logged out");
  await page.close();
  await logIn("nora");
  const second = jwkThumbprint(exchanges().at(-1).dpop.header.jwk);
  assert.notEqual(second, first);
});

e2e("reload: restored through the hidden iframe with dpop_jkt and a new key; the API call works", async () => {
  const { page } = await logIn("ivy");
  const oldKey = jwkThumbprint(exchanges().at(-1).dpop.header.jwk);
  const authBefore = op.authRequests.length;
  const before = exchanges().length;
  await page.reload();
  await waitReady(page);
  assert.equal(await text(page, "#status"), "logged in");
  assert.equal(await restoredVia(page), "iframe");
  const silent = op.authRequests.slice(authBefore);
  assert.equal(silent.length, 1, "one silent authorization request");
  assert.equal(silent[0].params.prompt, "none");
  const exchange = exchanges().slice(before);
  assert.equal(exchange.length, 1);
  const jkt = jwkThumbprint(exchange[0].dpop.header.jwk);
  assert.equal(silent[0].params.dpop_jkt, jkt, "the iframe's request names the key of its code exchange");
  assert.notEqual(jkt, oldKey, "the old key went with the old page");
  const tokens = await getTokens(page);
  assert.equal(tokens.tokenType, "DPoP");
  assert.equal((await introspect(tokens.accessToken)).cnf?.jkt, jkt);
  const r = await oidcFetch(page, rs.url);
  assert.equal(r.status, 200, JSON.stringify(r));
});

e2e("tab hand-over: the second tab gets the same key with the session, asks the provider nothing, and its API call works", async () => {
  const one = await logIn("tess");
  const key = jwkThumbprint(exchanges().at(-1).dpop.header.jwk);
  const trBefore = op.tokenRequests.length;
  const authBefore = op.authRequests.length;
  const two = await openApp("logged in", "tab2");
  assert.equal(await restoredVia(two.page), "otherTab");
  assert.equal(op.tokenRequests.length, trBefore, "no token request from the second tab");
  assert.equal(op.authRequests.length, authBefore, "no authorization request from the second tab");
  const [t1, t2] = await Promise.all([getTokens(one.page), getTokens(two.page)]);
  assert.equal(t2.tokenType, "DPoP");
  assert.equal(t2.accessToken, t1.accessToken);

  const rsBefore = rs.requests.length;
  const r2 = await oidcFetch(two.page, rs.url);
  assert.equal(r2.status, 200, JSON.stringify(r2));
  const r1 = await oidcFetch(one.page, rs.url);
  assert.equal(r1.status, 200, JSON.stringify(r1));
  const seen = rs.requests.slice(rsBefore).filter((r) => r.method !== "OPTIONS");
  assert.deepEqual(seen.map((s) => s.jkt), [key, key], "both tabs prove the same key");
  assert.equal(jwkThumbprint(decode(seen[0].dpop).header.jwk), key);
});

e2e("provider nonce: use_dpop_nonce at the code exchange is retried once with the nonce; the refresh uses one too", async () => {
  op.setDpopRequireNonce(true);
  const before = exchanges().length;
  const { page } = await logIn("nell");
  const sent = exchanges().slice(before);
  assert.deepEqual(sent.map((t) => [t.status, t.error ?? null]), [[400, "use_dpop_nonce"], [200, null]], "refused for the nonce, then taken");
  assert.equal(sent[0].dpop.claims.nonce, undefined);
  assert.equal(typeof sent[1].dpop.claims.nonce, "string");
  assert.equal(jwkThumbprint(sent[0].dpop.header.jwk), jwkThumbprint(sent[1].dpop.header.jwk));
  assert.notEqual(sent[0].dpop.claims.jti, sent[1].dpop.claims.jti);

  const trBefore = op.tokenRequests.length;
  const renewed = await page.evaluate(() => window.oidc.renewTokens());
  assert.equal(renewed.tokenType, "DPoP");
  const refresh = op.tokenRequests.slice(trBefore);
  assert.ok(refresh.length >= 1 && refresh.length <= 2, `one refresh, or one retried: ${JSON.stringify(refresh.map((r) => r.error ?? r.status))}`);
  assert.equal(refresh.at(-1).status, 200);
  assert.equal(typeof refresh.at(-1).dpop.claims.nonce, "string", "the refresh that worked carried a nonce");

  // And userinfo (401 use_dpop_nonce there) works too.
  const info = await page.evaluate(() => window.oidc.getUserInfo());
  assert.equal(info.sub, "nell");
});

e2e("resource server nonce: oidc.fetch retries once on 401 use_dpop_nonce with the DPoP-Nonce it got", async () => {
  const { page } = await logIn("rory");
  rs.setRequireNonce(true);
  const rsBefore = rs.requests.length;
  const r = await oidcFetch(page, rs.url);
  assert.equal(r.status, 200, JSON.stringify(r));
  const seen = rs.requests.slice(rsBefore).filter((x) => x.method !== "OPTIONS");
  assert.deepEqual(seen.map((x) => [x.status, x.error ?? null]), [[401, "use_dpop_nonce"], [200, null]]);
  const [a, b] = seen.map((x) => decode(x.dpop).claims);
  assert.equal(a.nonce, undefined);
  assert.equal(typeof b.nonce, "string");
  assert.notEqual(a.jti, b.jti);
});

e2e("PAR with DPoP (par: 'always'): the browser carries only client_id and request_uri; tokens are DPoP", async () => {
  app.setConfig({ ...baseConfig(), par: "always" });
  const parBefore = op.parRequests.length;
  const authBefore = op.authRequests.length;
  const before = exchanges().length;
  const { page } = await logIn("pam");
  const pushes = interactivePushes(op, parBefore);
  assert.equal(pushes.length, 1, "one push");
  assert.equal(pushes[0].status, 201);
  assert.equal(pushes[0].origin, app.origin);
  assert.equal(pushes[0].params.client_id, CLIENT_ID);
  assert.equal(pushes[0].params.code_challenge_method, "S256");
  assert.ok(pushes[0].params.state && pushes[0].params.nonce && pushes[0].params.redirect_uri);
  const top = op.authRequests.slice(authBefore).filter((a) => a.par && a.pushed?.prompt !== "none");
  assert.equal(top.length, 1);
  assert.deepEqual(Object.keys(top[0].params).sort(), ["client_id", "request_uri"]);
  assert.equal(top[0].params.request_uri, pushes[0].request_uri);
  assert.equal(op.authRequests.slice(authBefore).filter((a) => !a.par).length, 0, "nothing sent unpushed");
  const exchange = exchanges().slice(before);
  assert.equal(exchange.at(-1).status, 200);
  const jkt = jwkThumbprint(exchange.at(-1).dpop.header.jwk);
  if (pushes[0].dpop) {
    // A proof on the push binds the code to its key: then the exchange must prove the same key.
    assertProof(pushes[0].dpop, { htm: "POST", htu: `${op.issuer}/request`, what: "push" });
    assert.equal(jwkThumbprint(pushes[0].dpop.header.jwk), jkt);
  }
  assert.equal((await getTokens(page)).tokenType, "DPoP");
  assert.equal((await oidcFetch(page, rs.url)).status, 200);
});

e2e("PAR without DPoP: pushed, only client_id and request_uri in the browser, Bearer tokens, no proof anywhere", async () => {
  app.setConfig({ ...baseConfig(), clientId: PLAIN_ID, dpop: false, par: "always" });
  const parBefore = op.parRequests.length;
  const authBefore = op.authRequests.length;
  const before = exchanges().length;
  const { page } = await logIn("paul");
  const pushes = interactivePushes(op, parBefore);
  assert.equal(pushes.length, 1);
  assert.equal(pushes[0].status, 201);
  assert.equal(pushes[0].dpop, null, "no proof on the push");
  const top = op.authRequests.slice(authBefore).filter((a) => a.par && a.pushed?.prompt !== "none");
  assert.equal(top.length, 1);
  assert.deepEqual(Object.keys(top[0].params).sort(), ["client_id", "request_uri"]);
  assert.equal(op.authRequests.slice(authBefore).filter((a) => !a.par).length, 0, "nothing sent unpushed");
  const exchange = exchanges().slice(before);
  assert.equal(exchange.length, 1);
  assert.equal(exchange[0].dpop, null);
  assert.equal((await getTokens(page)).tokenType, "Bearer");
});

e2e("a provider that requires PAR (par: 'auto'): the login is pushed", async () => {
  app.setConfig({ ...baseConfig(), issuer: parOp.issuer, par: "auto" });
  const parBefore = parOp.parRequests.length;
  const authBefore = parOp.authRequests.length;
  const { page } = await logIn("audrey", { issuer: parOp.issuer });
  const pushes = parOp.parRequests.slice(parBefore);
  assert.ok(pushes.length >= 1, "pushed");
  assert.ok(pushes.every((p) => p.status === 201), JSON.stringify(pushes.map((p) => p.error)));
  const top = parOp.authRequests.slice(authBefore);
  assert.ok(top.length >= 1);
  for (const a of top) assert.deepEqual(Object.keys(a.params).sort(), ["client_id", "request_uri"], "every authorization request pushed");
  const tokens = await getTokens(page);
  assert.equal(tokens.tokenType, "DPoP");
  assert.equal((await introspect(tokens.accessToken, parOp)).cnf?.jkt, jwkThumbprint(exchanges(parOp).at(-1).dpop.header.jwk));
});

e2e("a PAR error rejects login() with the provider's error before any navigation: unregistered redirect URI, unknown client", async () => {
  const cases = [
    { config: { redirectUri: `${app.origin}/not-registered` }, status: 400, error: "invalid_request" },
    { config: { clientId: "nobody-registered" }, status: 401, error: "invalid_client" },
  ];
  for (const c of cases) {
    app.setConfig({ ...baseConfig(), par: "always", sessionRestore: "none", ...c.config });
    const tab = await openApp();
    const navigations = [];
    tab.page.on("framenavigated", (f) => {
      if (f === tab.page.mainFrame()) navigations.push(f.url());
    });
    const parBefore = op.parRequests.length;
    const authBefore = op.authRequests.length;
    const outcome = await tab.page.evaluate(async () => {
      try {
        await window.oidc.login();
        return { resolved: true };
      } catch (e) {
        return { name: e.name, code: e.code, error: e.error, errorDescription: e.errorDescription, message: e.message };
      }
    });
    assert.equal(outcome.name, "OidcError", JSON.stringify(outcome));
    assert.equal(outcome.error, c.error, JSON.stringify(outcome));
    assert.ok(outcome.errorDescription, "the provider's description is carried");
    const pushes = op.parRequests.slice(parBefore);
    assert.deepEqual(pushes.map((p) => [p.status, p.error]), [[c.status, c.error]]);
    await tab.page.waitForTimeout(500);
    assert.deepEqual(navigations, [], "the page did not leave");
    assert.equal(new URL(tab.page.url()).origin, app.origin);
    assert.equal(op.authRequests.length, authBefore, "the browser never went to the authorization endpoint");
    assert.equal(await text(tab.page, "#status"), "logged out");
    await tab.page.close();
  }
});
