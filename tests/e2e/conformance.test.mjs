// Conformance against a hostile provider (tests/support/hostile.mjs), through the real browser
// path: the demo page (www/index.html) loads pkg/, the user clicks "Log in", the provider
// misbehaves as the scenario says, and we check what the user sees and what the provider saw.
// The scenarios are the hostile provider's (tests/support/hostile.mjs). Build first: bash scripts/build.sh
//
//   node --test tests/e2e/conformance.test.mjs
//   CONFORMANCE_ONLY=state-wrong,hs256 node --test tests/e2e/conformance.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { decodeProtectedHeader } from "jose";
import { launchBrowser } from "../support/browser.mjs";
import { startAppServer } from "../support/app-server.mjs";
import { startHostile, SCENARIOS, CLIENT_ID, DEFAULT_SUB } from "../support/hostile.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
// CONFORMANCE_PKG=/some/dir serves that directory at /pkg/ instead of the built pkg/ (to check
// the harness itself against a stand-in implementation).
const pkgDir = process.env.CONFORMANCE_PKG ? path.resolve(process.env.CONFORMANCE_PKG) : path.join(root, "pkg");
const built = existsSync(path.join(pkgDir, "index.js"));
const only = process.env.CONFORMANCE_ONLY?.split(",").map((s) => s.trim()).filter(Boolean);
const READY_MS = 20_000;
const TEST_MS = 60_000;

let browser;
let op;

before(async () => {
  if (!built) return;
  op = await startHostile();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await op?.close();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Wait until a *new* document (not the one marked by markDocument) says data-ready="1". */
async function waitReady(page, what = "page") {
  const deadline = Date.now() + READY_MS;
  for (;;) {
    if (page.__pkgMissing) throw new Error(`${page.__pkgMissing} answered 404: is pkg/ being rebuilt?`);
    try {
      if (await page.evaluate(() => !window.__pixyOld && document.body?.dataset.ready === "1")) return;
    } catch {
      // execution context destroyed by a navigation; poll again
    }
    if (Date.now() > deadline) {
      const url = page.url();
      const status = await page.textContent("#status", { timeout: 1000 }).catch(() => "?");
      throw new Error(`${what} never became ready (url ${url}, #status ${status})`);
    }
    await sleep(100);
  }
}
const markDocument = (page) => page.evaluate(() => {
  window.__pixyOld = true;
});

function mark() {
  return {
    requests: op.requests.length,
    authorize: op.authorizeRequests.length,
    token: op.tokenRequests.length,
    userinfo: op.userinfoRequests.length,
    jwks: op.jwksRequests.length,
    issued: op.issuedTokens.length,
  };
}
const since = (list, n) => list.slice(n);

async function ui(page) {
  const t = (sel) => page.textContent(sel, { timeout: 2000 }).then((s) => (s ?? "").trim());
  return {
    status: await t("#status"),
    sub: await t("#sub"),
    errorCode: await t("#error-code"),
    errorMessage: await t("#error-message"),
    errorProvider: await t("#error-provider"),
    url: page.url(),
  };
}

async function withApp(fn) {
  await browser.context.clearCookies();
  // A new app server per test: a new origin, so sessionStorage/localStorage start empty.
  const app = await startAppServer({
    config: { issuer: op.issuer, clientId: CLIENT_ID },
    mounts: { "/pkg/": path.relative(root, pkgDir) },
  });
  const page = await browser.context.newPage();
  const log = [];
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) log.push(`console: ${m.text()}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400 && !r.url().endsWith("/favicon.ico")) log.push(`HTTP ${r.status()} ${r.url()}`);
    if (r.status() === 404 && r.url().startsWith(`${app.origin}/pkg/`)) page.__pkgMissing = r.url();
  });
  page.on("requestfailed", (r) => log.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
  const opMark = op.requests.length;
  try {
    await fn({ app, page, log });
  } catch (e) {
    if (log.length) e.message += `\n  page log:\n    ${log.slice(-8).join("\n    ")}`;
    const seen = op.requests.slice(opMark).map((r) => `${r.method} ${r.path}${r.query.prompt ? ` prompt=${r.query.prompt}` : ""}`);
    e.message += `\n  provider saw: ${seen.join(", ") || "nothing"}`;
    throw e;
  } finally {
    await page.close().catch(() => {});
    await app.close();
  }
}

/** Open the app and wait for createOidc to settle. */
async function openApp(page, app, suffix = "/") {
  await page.goto(app.origin + suffix, { waitUntil: "load" });
  await waitReady(page, "initial page");
}

/** Click #login (or call oidc.login()) and wait for the callback page to settle. */
async function login(page) {
  await markDocument(page);
  const visible = await page.isVisible("#login");
  if (visible) await page.click("#login");
  else await page.evaluate(() => void window.oidc.login());
  await waitReady(page, "callback page");
}

function checkAuthorizeRequests(reqs) {
  for (const r of reqs) {
    assert.equal(r.query.code_challenge_method, "S256", "authorization request: code_challenge_method");
    assert.match(r.query.code_challenge ?? "", /^[A-Za-z0-9_-]{43}$/, "authorization request: code_challenge");
    assert.equal(r.query.client_id, CLIENT_ID);
    assert.ok(r.query.state, "authorization request carries a state");
    assert.ok(r.query.nonce, "authorization request carries a nonce");
    assert.ok((r.query.scope ?? "").split(" ").includes("openid"), "scope includes openid");
  }
}

function checkTokenRequest(tr) {
  assert.equal(tr.body.grant_type, "authorization_code");
  assert.ok(tr.authorizeQuery, "token request for a code this provider issued");
  assert.equal(tr.body.redirect_uri, tr.authorizeQuery.redirect_uri,
    "token request redirect_uri equals the authorization request's, byte for byte");
  assert.ok((tr.body.code_verifier ?? "").length >= 43, "code_verifier of at least 43 characters");
  assert.equal(tr.pkceOk, true, "PKCE S256 verifies");
  assert.equal(tr.body.client_secret, undefined, "a public client sends no secret");
}

/** No token this provider issued may be shown, kept in storage, or left in the URL. */
async function checkNoTokenLeak(page, tokens) {
  if (!tokens.length) return;
  const seen = await page.evaluate(() => {
    const e = window.oidcError;
    const dump = (s) => Object.keys(s).map((k) => `${k}=${s.getItem(k)}`).join("\n");
    return {
      message: document.getElementById("error-message")?.textContent ?? "",
      body: document.body.innerText,
      url: location.href,
      err: e ? [e.message, e.error, e.errorDescription, String(e.stack ?? "")].join("\n") : "",
      storage: dump(sessionStorage) + "\n" + dump(localStorage),
    };
  });
  for (const tok of tokens) {
    // An ID token's first segment is its header, shared by many tokens; look for the payload+signature.
    const needle = tok.includes(".") ? tok.split(".").slice(1).join(".") : tok;
    if (needle.length < 8) continue;
    assert.ok(!seen.message.includes(needle), "#error-message contains an issued token");
    assert.ok(!seen.err.includes(needle), "the OidcError carries an issued token");
    assert.ok(!seen.body.includes(needle), "the page shows an issued token");
    assert.ok(!seen.url.includes(needle), "the URL contains an issued token");
    assert.ok(!seen.storage.includes(needle), "sessionStorage/localStorage holds an issued token");
  }
}

/** After the outcome is shown: JS still runs, no redirect loop, createOidc can be called again. */
async function checkPageStillWorks(page, m) {
  assert.equal(await page.evaluate(() => 1 + 1), 2);
  const authBefore = op.authorizeRequests.length;
  const tokenBefore = op.tokenRequests.length;
  await sleep(750);
  assert.equal(op.authorizeRequests.length, authBefore, "no further authorization request (redirect loop?)");
  const again = await page.evaluate(async () => {
    const { createOidc, OidcError } = await import("/pkg/index.js");
    const timeout = new Promise((r) => setTimeout(() => r("timeout"), 8000));
    const run = createOidc({ ...window.PIXY_CONFIG, sessionRestore: "none" }).then(
      (o) => `resolved:${o.isLoggedIn}`,
      (e) => (e instanceof OidcError ? `rejected:${e.code}` : `threw:${e?.name}:${e?.message}`),
    );
    return Promise.race([run, timeout]);
  });
  assert.match(again, /^(resolved|rejected):/, `createOidc called again: ${again}`);
  assert.equal(op.tokenRequests.length, tokenBefore, "calling createOidc again must not exchange a code again");
  return again;
}

async function checkReject(page, e, { t }) {
  const u = await ui(page);
  t?.diagnostic(`rejected: ${u.errorCode}: ${u.errorMessage}`);
  assert.notEqual(u.status, "logged in", "must not be logged in");
  assert.ok(e.codes.includes(u.errorCode),
    `#error-code: expected ${e.codes.join(" or ")}, saw "${u.errorCode}" (message: ${u.errorMessage})`);
  assert.ok(u.errorMessage.length > 0, "#error-message says what went wrong");
  assert.equal(await page.evaluate(() => window.oidcError?.name), "OidcError");
  assert.equal(await page.evaluate(() => !!window.oidc?.isLoggedIn), false);
  return u;
}

async function runScenario(name, t) {
  const sc = SCENARIOS[name];
  const e = sc.expect;
  op.setScenario(name);
  await withApp(async ({ app, page, log }) => {
    const m0 = mark();
    await openApp(page, app);

    if (e.stage === "discovery") {
      await checkReject(page, e, { t });
      assert.equal(since(op.authorizeRequests, m0.authorize).length, 0, "no authorization request");
      assert.equal(since(op.tokenRequests, m0.token).length, 0, "no token request");
      await checkPageStillWorks(page, m0);
      return;
    }

    const before = await ui(page);
    assert.equal(before.status, "logged out", `before login: #status ${before.status} (${before.errorCode} ${before.errorMessage})`);
    checkAuthorizeRequests(since(op.authorizeRequests, m0.authorize)); // silent ones, if any

    let m = mark();
    await login(page);
    const auths = since(op.authorizeRequests, m.authorize);
    const interactive = auths.filter((r) => !r.silent);
    assert.equal(interactive.length, 1, "one interactive authorization request");
    checkAuthorizeRequests(auths);
    const tokens = since(op.tokenRequests, m.token);
    const u = await ui(page);

    if (e.stage === "authorization") {
      assert.equal(tokens.length, 0, "no token request after a bad authorization response");
    } else {
      assert.equal(tokens.length, 1, `one token request (saw ${tokens.length}); page: ${u.status} ${u.errorCode} ${u.errorMessage}`);
      checkTokenRequest(tokens[0]);
      assert.equal(tokens[0].body.redirect_uri, interactive[0].query.redirect_uri);
      assert.equal(tokens[0].authorizeQuery.state, interactive[0].query.state);
      assert.equal(tokens[0].error, undefined, `the provider refused the token request: ${tokens[0].error} ${tokens[0].errorDescription}`);
      const verifier = tokens[0].body.code_verifier;
      const kept = await page.evaluate((v) => {
        const all = (s) => Object.keys(s).map((k) => k + "=" + s.getItem(k)).join("\n");
        return (all(sessionStorage) + all(localStorage)).includes(v);
      }, verifier);
      assert.equal(kept, false, "the PKCE verifier is deleted from storage once used");
    }

    const accepted = u.status === "logged in";
    if (e.accept || (e.either && accepted)) {
      assert.equal(u.status, "logged in", `expected logged in, saw ${u.status}: ${u.errorCode} ${u.errorMessage}`);
      assert.equal(u.sub, DEFAULT_SUB);
      assert.equal(u.errorCode, "");
      const cb = new URL(u.url);
      for (const p of ["code", "state", "iss", "error"]) {
        assert.ok(!cb.searchParams.has(p), `"${p}" removed from the URL after the callback`);
      }
      if (e.either) t.diagnostic(`${name}: the client ACCEPTED (tries each candidate key)`);
      if (e.protoDropped) {
        const token = JSON.parse(Buffer.from(tokens[0].issued.idToken.split(".")[1], "base64url").toString());
        assert.ok(Object.hasOwn(token, "__proto__"), "test set-up: the signed claims hold a __proto__ member");
        const seen = await page.evaluate(() => {
          const c = window.oidc.claims;
          return {
            plain: Object.getPrototypeOf(c) === Object.prototype,
            own: Object.hasOwn(c, "__proto__"),
            isAdmin: c.isAdmin ?? null,
            copied: Object.assign({}, c).isAdmin ?? null,
          };
        });
        assert.deepEqual(seen, { plain: true, own: false, isAdmin: null, copied: null }, "the claims object has the plain prototype and no __proto__ member");
      }
    } else {
      await checkReject(page, e, { t });
      if (e.provider) {
        assert.match(u.errorProvider, new RegExp(e.provider), "#error-provider shows the provider's error");
        assert.equal(await page.evaluate(() => window.oidcError?.error), e.provider);
      }
      if (e.either) t.diagnostic(`${name}: the client REJECTED with ${u.errorCode}`);
      if (e.stage === "token") {
        assert.equal(since(op.userinfoRequests, m.userinfo).length, 0, "no userinfo call after a bad token response");
      }
    }

    if (name === "unknown-kid-after-refetch") {
      const n = since(op.jwksRequests, m.jwks).length;
      assert.ok(n <= 2, `at most 2 JWKS fetches for that login, saw ${n}`);
      t.diagnostic(`${name}: ${n} JWKS fetch(es) during the login`);
    }
    if (name === "es256" || name === "ps256") {
      const alg = decodeProtectedHeader(tokens[0].issued.idToken).alg;
      assert.equal(alg, name.toUpperCase());
    }

    if (e.userinfoReject) {
      m = mark();
      await page.click("#userinfo");
      await page.waitForFunction(
        () => !["loading…", "(not fetched yet)"].includes(document.getElementById("userinfo-out").textContent),
        null, { timeout: 10_000 },
      );
      const reqs = since(op.userinfoRequests, m.userinfo).filter((r) => r.method !== "OPTIONS");
      assert.equal(reqs.length, 1, "one userinfo request");
      assert.equal(reqs[0].bearer, true, "access token in the Authorization: Bearer header");
      assert.equal(reqs[0].tokenInQuery, false, "access token not in the query or body");
      const after = await ui(page);
      assert.ok(e.userinfoReject.includes(after.errorCode),
        `userinfo: expected ${e.userinfoReject.join(" or ")}, saw "${after.errorCode}" (${after.errorMessage})`);
      assert.doesNotMatch(await page.textContent("#userinfo-out"), /someone-else-entirely/);
    }

    await checkNoTokenLeak(page, op.issuedTokens.slice(m0.issued));
    await checkPageStillWorks(page, m);
  });
}

const skip = built ? false : "pkg/ is not built (bash scripts/build.sh)";
const selected = (name) => !only || only.includes(name);

for (const name of Object.keys(SCENARIOS)) {
  if (name === "rp-key-rotation-op-sign-key") continue; // its own test below
  test(name, { skip: skip || (!selected(name) && "not selected"), timeout: TEST_MS }, (t) => runScenario(name, t));
}

for (const stale of [0, 1]) {
test(`rp-key-rotation-op-sign-key${stale ? " (first JWKS fetch after the rotation is stale)" : ""}`, {
  skip: skip || (!selected("rp-key-rotation-op-sign-key") && "not selected"), timeout: TEST_MS,
}, async (t) => {
  op.setScenario("rp-key-rotation-op-sign-key", { staleJwksFetches: stale });
  await withApp(async ({ app, page }) => {
    const m0 = mark();
    await openApp(page, app);
    await login(page);
    let u = await ui(page);
    assert.equal(u.status, "logged in", `first login: ${u.status} ${u.errorCode} ${u.errorMessage}`);
    const first = since(op.tokenRequests, m0.token);
    assert.equal(first.length, 1);
    assert.equal(decodeProtectedHeader(first[0].issued.idToken).kid, op.keys.rs.kid);

    // Second login: the provider now signs with a key only its refreshed JWKS holds.
    const m = mark();
    await login(page);
    u = await ui(page);
    const tokens = since(op.tokenRequests, m.token);
    assert.equal(tokens.length, 1, `one token request in the second login (saw ${tokens.length})`);
    checkTokenRequest(tokens[0]);
    assert.equal(decodeProtectedHeader(tokens[0].issued.idToken).kid, op.keys.rot.kid);
    assert.notEqual(tokens[0].authorizeQuery.code_challenge, first[0].authorizeQuery.code_challenge,
      "a fresh PKCE verifier for each login");
    assert.equal(u.status, "logged in", `after rotation: ${u.status} ${u.errorCode} ${u.errorMessage}`);
    assert.equal(u.sub, DEFAULT_SUB);
    const jwks = since(op.jwksRequests, m.jwks);
    assert.ok(jwks.length >= 1 && jwks.length <= 2, `1 or 2 JWKS fetches in the second login, saw ${jwks.length}`);
    // A JWKS answer that still held only the old key must have been followed by a refetch.
    const staleSeen = jwks.filter((r) => !r.kids.includes(op.keys.rot.kid)).length;
    assert.ok(jwks.some((r) => r.kids.includes(op.keys.rot.kid)), "the refreshed JWKS was fetched");
    if (stale) assert.equal(jwks.length, 2, "exactly one refetch after the stale JWKS");
    t.diagnostic(`rotation: ${jwks.length} JWKS fetch(es) in the second login, ${staleSeen} of them stale`);
    await checkNoTokenLeak(page, op.issuedTokens.slice(m0.issued));
    await checkPageStillWorks(page, m);
  });
});
}

test("rp-userinfo-bearer-header and RP-initiated logout", { skip, timeout: TEST_MS }, async () => {
  op.setScenario("default");
  await withApp(async ({ app, page }) => {
    const m0 = mark();
    await openApp(page, app);
    await login(page);
    assert.equal((await ui(page)).status, "logged in");
    const idToken = since(op.tokenRequests, m0.token)[0].issued.idToken;

    let m = mark();
    await page.click("#userinfo");
    await page.waitForFunction(
      () => !["loading…", "(not fetched yet)"].includes(document.getElementById("userinfo-out").textContent),
      null, { timeout: 10_000 },
    );
    const reqs = since(op.userinfoRequests, m.userinfo).filter((r) => r.method !== "OPTIONS");
    assert.equal(reqs.length, 1);
    assert.equal(reqs[0].bearer, true, "Authorization: Bearer header");
    assert.equal(reqs[0].tokenInQuery, false, "access token not in the query or body");
    assert.equal(JSON.parse(await page.textContent("#userinfo-out")).sub, DEFAULT_SUB);

    m = mark();
    await markDocument(page);
    await page.click("#logout");
    await waitReady(page, "page after logout");
    const lo = op.logoutRequests.at(-1);
    assert.ok(lo && lo.at >= Date.now() - 30_000, "the provider saw the logout request");
    assert.equal(lo.query.id_token_hint, idToken, "id_token_hint");
    assert.equal(lo.query.client_id, CLIENT_ID, "client_id");
    assert.equal(lo.query.post_logout_redirect_uri, `${app.origin}/`, "post_logout_redirect_uri");
    const u = await ui(page);
    assert.equal(u.status, "logged out");
    await checkNoTokenLeak(page, op.issuedTokens.slice(m0.issued));
  });
});

test("a callback that no login in this browser asked for", { skip, timeout: TEST_MS }, async () => {
  op.setScenario("default");
  await withApp(async ({ app, page }) => {
    const m0 = mark();
    const q = new URLSearchParams({ code: "unsolicited-code", state: "unsolicited-state", iss: op.issuer });
    await openApp(page, app, `/?${q}`);
    const u = await ui(page);
    assert.notEqual(u.status, "logged in");
    assert.equal(since(op.tokenRequests, m0.token).length, 0, "no token request for an unsolicited callback");
    assert.equal(u.errorCode, "state_mismatch", `status ${u.status}: ${u.errorMessage}`);
    assert.equal(await page.evaluate(() => 1 + 1), 2);
  });
});
