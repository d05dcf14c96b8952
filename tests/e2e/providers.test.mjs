// One end-to-end run per real provider, in Chromium, against the local profile provider
// (tests/support/profiles.mjs, one profile per file in tests/support/profiles/): the demo page
// (www/index.html) logs in, validates, renews twice, reads userinfo and logs out the way that
// provider does, and we check what the user sees and what the provider saw. Plus Google's
// honest failure (client_secret_required) and the Entra multi-tenant allow-list. These tests
// back the Providers section of the README (docs/PROVIDERS-README.md). Build first:
// bash scripts/build.sh
//
//   node --test tests/e2e/providers.test.mjs
//   PROVIDERS_ONLY=keycloak,cognito node --test tests/e2e/providers.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { decodeProtectedHeader } from "jose";
import { CHROMIUM_ARGS } from "../support/browser.mjs";
import { startAppServer } from "../support/app-server.mjs";
import { startProfileProvider, ENTRA_PERSONAL_TENANT } from "../support/profiles.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const built = existsSync(path.join(root, "pkg", "index.js"));
const only = process.env.PROVIDERS_ONLY?.split(",").map((s) => s.trim()).filter(Boolean);
const READY_MS = 20_000;
const TEST_MS = 60_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let browser;
before(async () => {
  if (!built) return;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
});
after(async () => {
  await browser?.close().catch(() => {});
});

// ---------------------------------------------------------------------------------------------
// Page helpers (as in conformance.test.mjs)
// ---------------------------------------------------------------------------------------------

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
      const status = await page.textContent("#status", { timeout: 1000 }).catch(() => "?");
      throw new Error(`${what} never became ready (url ${page.url()}, #status ${status})`);
    }
    await sleep(100);
  }
}
const markDocument = (page) => page.evaluate(() => {
  window.__pixyOld = true;
});

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

const settle = (fn) => `(${fn})().then((v) => ({ ok: true, v }), (e) => ({ ok: false, code: e?.code, name: e?.name, message: e?.message }))`;
const renew = (page) => page.evaluate(settle(() => window.oidc.renewTokens()));
const getTokens = (page) => page.evaluate(settle(() => window.oidc.getTokens()));
const getUserInfo = (page) => page.evaluate(settle(() => window.oidc.getUserInfo()));

function describeRequests(op, from = 0) {
  return op.requests.slice(from).map((r) => {
    const bits = [`${r.method} ${r.origin}${r.path}`];
    if (r.role) bits.push(`[${r.role}]`);
    if (r.query?.prompt) bits.push(`prompt=${r.query.prompt}`);
    if (r.grantType) bits.push(`grant_type=${r.grantType}`);
    if (r.error) bits.push(`-> ${r.error}: ${r.errorDescription ?? ""}`);
    if (r.outcome) bits.push(`-> ${r.outcome}`);
    return bits.join(" ");
  });
}

/**
 * A fresh provider, app server (on localhost, cross-site to the provider on 127.0.0.1) and
 * browser context for one test.
 */
async function withProfile(name, { provider = {}, config = () => ({}) } = {}, fn) {
  const op = await startProfileProvider(name, provider);
  const app = await startAppServer({ host: "localhost" });
  app.setConfig({ issuer: op.configIssuer, clientId: op.clientId, ...config(op, app) });
  // The console settings every provider needs: the app's origin allowed for CORS.
  op.allowOrigins([app.origin]);
  const context = await browser.newContext();
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const log = [];
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) log.push(`console: ${m.text()}`);
  });
  page.on("response", (r) => {
    if (r.status() === 404 && r.url().startsWith(`${app.origin}/pkg/`)) page.__pkgMissing = r.url();
  });
  page.on("requestfailed", (r) => log.push(`request failed: ${r.url().slice(0, 160)} ${r.failure()?.errorText ?? ""}`));
  try {
    await fn({ op, app, page });
  } catch (e) {
    if (log.length) e.message += `\n  page log:\n    ${log.slice(-8).join("\n    ")}`;
    e.message += `\n  provider saw:\n    ${describeRequests(op).slice(-20).join("\n    ") || "nothing"}`;
    throw e;
  } finally {
    await context.close().catch(() => {});
    await app.close();
    await op.close();
  }
}

/** Open the app; retries a few times while pkg/ is being rebuilt (its files 404 for a moment). */
async function openApp(page, app) {
  for (let attempt = 1; ; attempt++) {
    page.__pkgMissing = undefined;
    await page.goto(`${app.origin}/`, { waitUntil: "load" });
    try {
      await waitReady(page, "initial page");
      return;
    } catch (e) {
      if (!page.__pkgMissing || attempt >= 5) throw e;
      await sleep(2000);
    }
  }
}

/** Open the app: with no provider session it settles logged out after the silent attempts. */
async function openLoggedOut(page, app, op) {
  await openApp(page, app);
  const u = await ui(page);
  assert.equal(u.status, "logged out", `before login: #status ${u.status} (${u.errorCode} ${u.errorMessage})`);
  assert.equal(op.tokenRequests.length, 0, "nothing is redeemed before the user logs in");
  for (const r of op.authorizeRequests) assert.equal(r.query.prompt, "none", "only silent requests before the login");
}

/** Click "Log in" and wait for the callback page to settle. Returns the interactive request. */
async function login(page, op) {
  const a0 = op.authorizeRequests.length;
  await markDocument(page);
  await page.click("#login");
  await waitReady(page, "callback page");
  const interactive = op.authorizeRequests.slice(a0).filter((r) => !r.silent);
  assert.equal(interactive.length, 1, "one interactive authorization request");
  const ar = interactive[0];
  assert.equal(ar.query.response_type, "code");
  assert.equal(ar.query.client_id, op.clientId);
  assert.equal(ar.query.code_challenge_method, "S256", "always S256, whatever the metadata says");
  assert.match(ar.query.code_challenge ?? "", /^[A-Za-z0-9_-]{43}$/);
  assert.match(ar.query.state ?? "", /^[A-Za-z0-9_-]+$/, "state in base64url characters (Okta)");
  assert.ok(ar.query.nonce, "a nonce");
  return ar;
}

function checkCodeRequest(tr, op, app) {
  assert.equal(tr.error, undefined, `the provider refused the code exchange: ${tr.error}: ${tr.errorDescription}`);
  assert.equal(tr.grantType, "authorization_code");
  assert.equal(tr.pkceOk, true, "PKCE S256 verifies");
  assert.equal(tr.body.client_id, op.clientId, "client_id in the token request (Cognito needs it)");
  assert.equal(tr.body.client_secret, undefined, "a public client sends no secret");
  assert.equal(tr.headers.origin, app.origin, "the browser sent Origin (Entra spa demands it)");
}

/**
 * The whole life of a session against one profile.
 *   scopes          what the authorization request must carry
 *   afterLogin      ({ op, app, page, ar, login, claims, u }) extra checks
 *   afterRefresh    ({ rec, i, op }) per refresh
 *   userinfo        (info, claims, op) extra checks; false = the provider has none
 *   logout          ({ los, op, app, idToken, page }) checks on the end-session request(s)
 */
async function lifecycle(t, name, spec) {
  await withProfile(name, spec, async ({ op, app, page }) => {
    await openLoggedOut(page, app, op);
    spec.beforeLogin?.({ op, app, page });

    // Log in and validate.
    const t0 = op.tokenRequests.length;
    const ar = await login(page, op);
    for (const s of spec.scopes ?? []) {
      assert.ok(ar.query.scope.split(" ").includes(s), `scope carries ${s}: ${ar.query.scope}`);
    }
    for (const [k, v] of Object.entries(spec.authParams ?? {})) assert.equal(ar.query[k], v, `authorization request ${k}`);
    const u = await ui(page);
    const codeReqs = op.tokenRequests.slice(t0);
    assert.equal(codeReqs.length, 1, `one code exchange (saw ${codeReqs.length}); page: ${u.status} ${u.errorCode} ${u.errorMessage}`);
    const tr = codeReqs[0];
    checkCodeRequest(tr, op, app);
    assert.equal(u.status, "logged in", `after the callback: ${u.status}: ${u.errorCode}: ${u.errorMessage}`);
    assert.equal(u.sub, op.user.sub, "#sub");
    assert.equal(u.errorCode, "");
    const cb = new URL(u.url);
    for (const p of ["code", "state", "iss", "session_state"]) {
      assert.ok(!cb.searchParams.has(p), `"${p}" removed from the URL after the callback (${u.url})`);
    }
    const left = [...cb.searchParams.keys()];
    if (left.length) t.diagnostic(`${name}: left in the URL after the callback: ${left.join(", ")}`);
    const loginRec = tr.issued;
    const claims = await page.evaluate(() => window.oidc.claims);
    assert.equal(claims.sub, op.user.sub);
    assert.equal(claims.iss, loginRec.claims.iss);
    await spec.afterLogin?.({ op, app, page, ar, login: loginRec, claims, u });

    // getTokens: the tokens of the code exchange.
    const got = await getTokens(page);
    assert.ok(got.ok, `getTokens: ${got.code}: ${got.message}`);
    assert.equal(got.v.accessToken, loginRec.accessToken);
    assert.equal(got.v.idToken, loginRec.idToken);
    assert.equal(got.v.tokenType, "Bearer", `tokenType (provider said ${loginRec.response.token_type})`);
    const ttl = Number(loginRec.response.expires_in);
    assert.ok(Math.abs(got.v.accessTokenExpiresAt - (Date.now() + ttl * 1000)) < 60_000,
      `accessTokenExpiresAt ≈ now + expires_in (${JSON.stringify(loginRec.response.expires_in)})`);

    // Two forced renewals: refresh-token grant, the refresh token kept or rotated as the
    // provider does, the refreshed ID token (nonce or not) accepted.
    assert.ok(loginRec.refreshToken, "the provider issued a refresh token (scopes/params as the README says)");
    let expectedRt = loginRec.refreshToken;
    let latest = loginRec;
    const notes = [];
    for (const i of [1, 2]) {
      const n = op.tokenRequests.length;
      const r = await renew(page);
      const reqs = op.tokenRequests.slice(n);
      assert.equal(reqs.length, 1, `renewTokens #${i}: one token request (saw ${reqs.length}; ${r.ok ? "ok" : `${r.code}: ${r.message}`})`);
      const rr = reqs[0];
      assert.equal(rr.grantType, "refresh_token", `renewTokens #${i} uses the refresh token grant`);
      assert.equal(rr.body.refresh_token, expectedRt, i === 1
        ? "the first refresh sends the login's refresh token"
        : latest.refreshToken
          ? "the second refresh sends the rotated refresh token"
          : "the provider returned no refresh token: the next refresh sends the original one");
      assert.equal(rr.body.client_id, op.clientId);
      assert.equal(rr.body.client_secret, undefined);
      assert.equal(rr.error, undefined, `the provider refused refresh #${i}: ${rr.error}: ${rr.errorDescription}`);
      assert.ok(r.ok, `renewTokens #${i}: ${r.code}: ${r.message}`);
      const rec = rr.issued;
      assert.equal(r.v.accessToken, rec.accessToken, `renewTokens #${i}: the new access token`);
      assert.equal(r.v.idToken, rec.idToken, `renewTokens #${i}: the refreshed ID token is adopted`);
      notes.push(`#${i}: ${rec.refreshToken ? "new RT" : "no RT"}, nonce ${rec.claims.nonce ? "repeated" : "absent"}, ${rec.alg}`);
      await spec.afterRefresh?.({ rec, i, op, page });
      if (rec.refreshToken) expectedRt = rec.refreshToken;
      latest = rec;
      const after = await ui(page);
      assert.equal(after.status, "logged in");
      assert.equal(after.sub, op.user.sub);
    }
    t.diagnostic(`${name}: refresh ${notes.join("; ")}`);

    // UserInfo with the current access token.
    if (spec.userinfo !== false) {
      const n = op.userinfoRequests.length;
      const info = await getUserInfo(page);
      assert.ok(info.ok, `getUserInfo: ${info.code}: ${info.message}`);
      const reqs = op.userinfoRequests.slice(n);
      assert.equal(reqs.length, 1, "one userinfo request");
      assert.equal(reqs[0].authorization, `Bearer ${latest.accessToken}`, "the current access token as a Bearer header");
      assert.equal(reqs[0].tokenInQuery, false);
      assert.equal(info.v.sub, op.user.sub, "userinfo sub equals the ID token's");
      await spec.userinfo?.(info.v, claims, op);
    }

    // Logout, the provider's way.
    const l0 = op.logoutRequests.length;
    const r0 = op.requests.length;
    await markDocument(page);
    await page.click("#logout");
    await waitReady(page, "page after logout");
    const los = op.logoutRequests.slice(l0);
    await spec.logout({ los, op, app, idToken: latest.idToken, page, since: op.requests.slice(r0) });
    const end = await ui(page);
    assert.equal(end.status, "logged out", `after logout: ${end.status} ${end.errorCode} ${end.errorMessage}`);
    assert.equal(new URL(end.url).origin + new URL(end.url).pathname, `${app.origin}/`, "back on the app");
    assert.equal(await page.evaluate(() => window.oidc.isLoggedIn), false);
  });
}

/** The standard RP-initiated logout: one request carrying what the provider needs. */
function rpLogout({ path: p, need }) {
  return ({ los, op, app, idToken }) => {
    assert.equal(los.length, 1, `one end-session request (saw ${los.length})`);
    const lo = los[0];
    assert.equal(lo.role, "end_session", "the discovered end_session_endpoint");
    if (p) assert.equal(lo.path, p);
    if (need.includes("id_token_hint")) assert.equal(lo.query.id_token_hint, idToken, "id_token_hint = the current ID token");
    if (need.includes("client_id")) assert.equal(lo.query.client_id, op.clientId, "client_id");
    assert.equal(lo.query.post_logout_redirect_uri, `${app.origin}/`, "post_logout_redirect_uri");
    assert.match(lo.outcome ?? "", /^redirect /, `the provider sent the user back (${lo.outcome})`);
  };
}

const skip = built ? false : "pkg/ is not built (bash scripts/build.sh)";
const sel = (name) => skip || (only && !only.some((o) => name.startsWith(o)) && "not selected");
const OFFLINE = ["openid", "profile", "email", "offline_access"];

// ---------------------------------------------------------------------------------------------
// One run per profile
// ---------------------------------------------------------------------------------------------

test("entra-tenant: single tenant, spa redirect URI", { skip: sel("entra-tenant"), timeout: TEST_MS }, (t) =>
  lifecycle(t, "entra-tenant", {
    config: () => ({ scopes: OFFLINE, extraAuthParams: { client_info: "1" } }),
    scopes: ["offline_access"],
    afterLogin: ({ ar, login, claims, op }) => {
      const rp = ar.responseParams;
      assert.match(rp.session_state, /^[0-9a-f-]{36}$/, "session_state GUID in the redirect");
      assert.ok(rp.client_info, "client_info in the redirect (client_info=1 asked for)");
      assert.equal(rp.iss, undefined, "no iss in an Entra redirect");
      assert.ok(Math.abs(login.claims.iat - (Math.floor(Date.now() / 1000) - 300)) < 30, "iat backdated 300 s");
      assert.equal(login.claims.nbf, login.claims.iat, "nbf backdated too");
      assert.equal(login.claims.at_hash, undefined, "no at_hash");
      assert.ok(op.keys.every((k) => !("alg" in k.jwk)), "JWKS keys without alg");
      assert.equal(claims.tid, op.user.tid);
    },
    userinfo: (info, claims, op) => {
      assert.equal(new URL(op.endpoints.userinfo).hostname !== new URL(op.issuer).hostname, true,
        "userinfo on the graph.microsoft.com stand-in");
    },
    logout: rpLogout({ need: ["post_logout_redirect_uri"] }),
  }));

test("entra-common: multi-tenant opt-in with the app's tenant", { skip: sel("entra-common"), timeout: TEST_MS }, (t) =>
  lifecycle(t, "entra-common", {
    config: (op) => ({ scopes: OFFLINE, entraMultiTenant: { tenants: [op.user.tid] } }),
    afterLogin: ({ op, login, claims }) => {
      assert.ok(op.issuer.includes("{tenantid}"), "discovery issuer is the template");
      assert.equal(claims.iss, op.tokenIssuer(op.user.tid), "iss is the user's tenant");
      assert.equal(claims.tid, op.user.tid);
      assert.equal(login.claims.at_hash, undefined);
    },
    logout: rpLogout({ need: ["post_logout_redirect_uri"] }),
  }));

test("entra-organizations: multi-tenant opt-in", { skip: sel("entra-organizations"), timeout: TEST_MS }, (t) =>
  lifecycle(t, "entra-organizations", {
    config: (op) => ({ scopes: OFFLINE, entraMultiTenant: { tenants: [op.user.tid] } }),
    logout: rpLogout({ need: ["post_logout_redirect_uri"] }),
  }));

test("keycloak: realm demo, public client", { skip: sel("keycloak"), timeout: TEST_MS }, (t) =>
  lifecycle(t, "keycloak", {
    config: () => ({ scopes: ["openid", "profile", "email"] }),
    afterLogin: ({ ar, op, login }) => {
      assert.equal(op.advertisedIss, true);
      assert.deepEqual(Object.keys(ar.responseParams), ["state", "session_state", "iss", "code"], "Keycloak's redirect");
      assert.ok(op.keys.some((k) => k.use === "enc"), "an encryption key beside the signing key");
      assert.equal(login.response.token_type, "bearer", "lowercase bearer");
      assert.equal(login.claims.azp, op.clientId);
    },
    afterRefresh: ({ rec }) => {
      assert.equal(rec.claims.nonce, undefined, "Keycloak 25+: refreshed ID token without nonce");
      assert.ok(rec.refreshToken, "Keycloak rotates");
    },
    logout: rpLogout({ need: ["id_token_hint", "client_id"] }),
  }));

test("keycloak ≤ 24: refreshed ID tokens repeat the original nonce", { skip: sel("keycloak"), timeout: TEST_MS }, (t) =>
  lifecycle(t, "keycloak", {
    provider: { behaviour: { tokenType: "Bearer", refresh: { nonce: "original" } } },
    config: () => ({ scopes: ["openid", "profile", "email"] }),
    afterRefresh: ({ rec, op }) => {
      const login = op.issued.find((r) => r.grantType === "authorization_code");
      assert.equal(rec.claims.nonce, login.claims.nonce, "the original nonce, repeated");
    },
    logout: rpLogout({ need: ["id_token_hint", "client_id"] }),
  }));

test("auth0: issuer with a trailing slash, OIDC logout", { skip: sel("auth0"), timeout: TEST_MS }, (t) =>
  lifecycle(t, "auth0", {
    config: () => ({ scopes: OFFLINE }),
    scopes: ["offline_access"],
    afterLogin: ({ op }) => {
      assert.ok(op.issuer.endsWith("/"));
      assert.ok(op.discoveryRequests.length >= 1);
      for (const d of op.discoveryRequests) assert.equal(d.path, "/.well-known/openid-configuration", "no doubled slash");
    },
    afterRefresh: ({ rec }) => assert.ok(rec.refreshToken, "rotation: a new refresh token every time"),
    logout: rpLogout({ path: "/oidc/logout", need: ["id_token_hint", "client_id"] }),
  }));

for (const name of ["okta-default", "okta-org"]) {
  test(`${name}: SPA app, thin ID token`, { skip: sel(name), timeout: TEST_MS }, (t) =>
    lifecycle(t, name, {
      config: () => ({ scopes: OFFLINE }),
      scopes: ["offline_access"],
      afterLogin: ({ login }) => {
        if (name === "okta-org") assert.equal(typeof login.response.expires_in, "string", "expires_in as a string");
        assert.equal(login.claims.ver, 1);
      },
      userinfo: (info, claims) => {
        assert.equal(claims.given_name, undefined, "the ID token is thin");
        assert.equal(info.given_name, "Ada", "userinfo has the profile");
      },
      logout: rpLogout({ need: ["id_token_hint"] }),
    }));
}

test("cognito: two hosts, refresh without a new refresh token, /logout", { skip: sel("cognito"), timeout: TEST_MS }, (t) =>
  lifecycle(t, "cognito", {
    config: (op, app) => ({
      scopes: ["openid", "email", "profile"],
      endSessionEndpoint: op.endpoints.logout,
      extraLogoutParams: { logout_uri: `${app.origin}/` },
    }),
    afterLogin: ({ op, login }) => {
      assert.equal(op.discovery.code_challenge_methods_supported, undefined, "metadata gap: no PKCE methods");
      assert.ok(!op.discovery.token_endpoint_auth_methods_supported.includes("none"), "metadata gap: no none");
      assert.equal(op.discovery.end_session_endpoint, undefined, "logout not in discovery");
      const tokenHost = new URL(op.endpoints.token).host;
      assert.notEqual(tokenHost, new URL(op.issuer).host, "token endpoint on another host than the issuer");
      assert.equal(op.tokenRequests.at(-1).origin, new URL(op.endpoints.token).origin);
      assert.match(decodeProtectedHeader(login.idToken).kid, /[+/=]/, "kid with + / =");
      assert.equal(login.claims.token_use, "id");
    },
    afterRefresh: ({ rec }) => assert.equal(rec.refreshToken, undefined, "Cognito returns no refresh token"),
    logout: ({ los, op, app }) => {
      assert.equal(los.length, 1, `one logout request (saw ${los.length})`);
      const lo = los[0];
      assert.equal(lo.role, "logout", "Cognito's own /logout on the hosted domain");
      assert.equal(lo.origin, new URL(op.endpoints.logout).origin);
      assert.equal(lo.query.client_id, op.clientId, "client_id");
      assert.equal(lo.query.logout_uri, `${app.origin}/`, "logout_uri");
      assert.match(lo.outcome ?? "", /^redirect /, `Cognito sent the user back (${lo.outcome})`);
    },
  }));

test("zitadel: aud array, ES256 then EdDSA, userinfo for the profile", { skip: sel("zitadel"), timeout: TEST_MS }, (t) =>
  lifecycle(t, "zitadel", {
    config: () => ({ scopes: OFFLINE }),
    scopes: ["offline_access"],
    afterLogin: ({ login, claims, op }) => {
      assert.equal(login.alg, "ES256");
      assert.ok(Array.isArray(claims.aud) && claims.aud.length > 1 && claims.aud.includes(op.clientId), "aud array with siblings");
      assert.equal(claims.azp, op.clientId);
    },
    afterRefresh: ({ rec, i }) => assert.equal(rec.alg, i === 1 ? "EdDSA" : "ES256"),
    userinfo: (info, claims) => {
      assert.equal(claims.email, undefined, "no profile claims in ZITADEL's ID token");
      assert.equal(info.email, "ada@example.com");
    },
    logout: rpLogout({ path: "/oidc/v1/end_session", need: ["id_token_hint", "client_id"] }),
  }));

test("authentik: per-app issuer with a trailing slash", { skip: sel("authentik"), timeout: TEST_MS }, (t) =>
  lifecycle(t, "authentik", {
    config: () => ({ scopes: OFFLINE }),
    scopes: ["offline_access"],
    afterLogin: ({ op, login }) => {
      for (const d of op.discoveryRequests) {
        assert.equal(d.path, "/application/o/my-spa/.well-known/openid-configuration", "no doubled slash");
      }
      assert.equal(login.claims.at_hash, undefined);
    },
    afterRefresh: ({ rec }) => {
      assert.equal(rec.refreshToken, undefined, "below the rotation threshold: no new refresh token");
      assert.equal(rec.claims.nonce, undefined);
    },
    logout: rpLogout({ path: "/application/o/my-spa/end-session/", need: ["id_token_hint"] }),
  }));

test("google (token endpoint without the secret demand): iss unadvertised, no logout endpoint", {
  skip: sel("google"), timeout: TEST_MS,
}, (t) =>
  lifecycle(t, "google", {
    // Modelled: Google itself demands the secret (next test); this checks everything else.
    provider: { behaviour: { requireSecret: false } },
    config: () => ({ scopes: ["openid", "email", "profile"], extraAuthParams: { access_type: "offline" } }),
    authParams: { access_type: "offline" },
    afterLogin: ({ ar, op }) => {
      assert.equal(op.advertisedIss, false, "iss not advertised");
      assert.equal(ar.responseParams.iss, op.issuer, "iss sent anyway");
      for (const k of ["scope", "authuser", "prompt"]) assert.ok(k in ar.responseParams, `extra ${k} in the redirect`);
      assert.equal(op.endpoints.end_session, undefined);
    },
    afterRefresh: ({ rec }) => assert.equal(rec.refreshToken, undefined, "Google does not rotate"),
    logout: ({ los }) => {
      assert.equal(los.length, 0, "no end-session endpoint: nothing sent to Google");
    },
  }));

// ---------------------------------------------------------------------------------------------
// Google: the honest answer
// ---------------------------------------------------------------------------------------------

test("google: web clients demand a client secret → client_secret_required, quickly", { skip: sel("google"), timeout: TEST_MS }, () =>
  withProfile("google", { config: () => ({ scopes: ["openid", "email", "profile"] }) }, async ({ op, app, page }) => {
    await openLoggedOut(page, app, op);
    const started = Date.now();
    await login(page, op);
    const took = Date.now() - started;
    const u = await ui(page);
    assert.equal(op.tokenRequests.length, 1, "one code exchange, no retries");
    const tr = op.tokenRequests[0];
    assert.equal(tr.body.client_secret, undefined);
    assert.equal(tr.error, "invalid_request");
    assert.notEqual(u.status, "logged in");
    assert.equal(u.errorCode, "client_secret_required", `#error-code (message: ${u.errorMessage})`);
    assert.match(u.errorProvider, /invalid_request/, "the provider's error is carried along");
    assert.ok(u.errorMessage.length > 0);
    assert.ok(took < 8_000, `the error shows within a few seconds (took ${took} ms)`);
    assert.equal(await page.evaluate(() => window.oidcError?.name), "OidcError");
    await sleep(500);
    assert.equal(op.authorizeRequests.filter((r) => !r.silent).length, 1, "no redirect loop");
  }));

// ---------------------------------------------------------------------------------------------
// Entra multi-tenant allow-list, and exact issuer matching everywhere else
// ---------------------------------------------------------------------------------------------

const HOME_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";

test("entra-common: a tenant outside entraMultiTenant.tenants is refused", { skip: sel("entra-common"), timeout: TEST_MS }, () =>
  withProfile("entra-common", {
    provider: { user: { tid: ENTRA_PERSONAL_TENANT, preferred_username: "ada@outlook.com" } },
    config: () => ({ scopes: OFFLINE, entraMultiTenant: { tenants: [HOME_TENANT] } }),
  }, async ({ op, app, page }) => {
    await openLoggedOut(page, app, op);
    await login(page, op);
    const u = await ui(page);
    assert.equal(op.tokenRequests.length, 1);
    assert.equal(op.tokenRequests[0].issued.claims.tid, ENTRA_PERSONAL_TENANT);
    assert.notEqual(u.status, "logged in");
    assert.equal(u.errorCode, "invalid_id_token", `#error-code (message: ${u.errorMessage})`);
    assert.match(u.errorMessage, new RegExp(ENTRA_PERSONAL_TENANT), "the message names the tenant");
    assert.equal(op.userinfoRequests.length, 0);
  }));

test("entra-common: tenants \"any\" accepts that tenant", { skip: sel("entra-common"), timeout: TEST_MS }, () =>
  withProfile("entra-common", {
    provider: { user: { tid: ENTRA_PERSONAL_TENANT, preferred_username: "ada@outlook.com" } },
    config: () => ({ scopes: OFFLINE, entraMultiTenant: { tenants: "any" } }),
  }, async ({ op, app, page }) => {
    await openLoggedOut(page, app, op);
    await login(page, op);
    const u = await ui(page);
    assert.equal(u.status, "logged in", `${u.errorCode}: ${u.errorMessage}`);
    const claims = await page.evaluate(() => window.oidc.claims);
    assert.equal(claims.iss, op.tokenIssuer(ENTRA_PERSONAL_TENANT));
    assert.equal(claims.tid, ENTRA_PERSONAL_TENANT);
  }));

test("entra-common without entraMultiTenant: the template issuer is an issuer_mismatch", { skip: sel("entra-common"), timeout: TEST_MS }, () =>
  withProfile("entra-common", { config: () => ({ scopes: OFFLINE }) }, async ({ op, app, page }) => {
    await openApp(page, app);
    const u = await ui(page);
    assert.equal(u.status, "error");
    assert.equal(u.errorCode, "issuer_mismatch", u.errorMessage);
    assert.equal(op.authorizeRequests.length, 0);
  }));

test("auth0 configured without the trailing slash: issuer_mismatch", { skip: sel("auth0"), timeout: TEST_MS }, () =>
  withProfile("auth0", { config: (op) => ({ issuer: op.issuer.replace(/\/$/, "") }) }, async ({ op, app, page }) => {
    await openApp(page, app);
    const u = await ui(page);
    assert.equal(u.status, "error");
    assert.equal(u.errorCode, "issuer_mismatch", u.errorMessage);
    assert.equal(op.authorizeRequests.length, 0);
  }));

// ---------------------------------------------------------------------------------------------
// authentik: offline_access in a prompt=none request forces consent (README, "Providers", authentik)
// ---------------------------------------------------------------------------------------------

test("authentik: after consent_required to a silent request with offline_access, silent requests leave it out", { skip: sel("authentik"), timeout: TEST_MS }, () =>
  withProfile("authentik", { config: () => ({ scopes: OFFLINE }) }, async ({ op, app, page }) => {
    await openLoggedOut(page, app, op);
    const silent = op.authorizeRequests.filter((r) => r.silent);
    const hasOffline = (r) => r.query.scope.split(" ").includes("offline_access");
    assert.ok(silent.length >= 2, `the library tried a silent restore and retried (${silent.length} silent requests)`);
    const first = silent.findIndex((r) => hasOffline(r));
    if (first >= 0) {
      assert.equal(silent[first].error, "consent_required", "authentik refuses offline_access without interaction");
      const later = silent.slice(first + 1);
      assert.ok(later.length >= 1, "the library retried");
      for (const r of later) {
        assert.ok(!hasOffline(r), `after consent_required no silent request asks for offline_access (scope "${r.query.scope}")`);
      }
    }
    // No provider session here: the page settles logged out, without an error.
    assert.equal(await page.locator("#status").textContent(), "logged out");
  }));
