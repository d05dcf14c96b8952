// pixy-oidc/mock under Node: the same members as Oidc, state flips with the events a real
// instance emits, and no wasm anywhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createMockOidc, MockOidcError } from "../../src/js/mock.js";
import { OidcError } from "../../src/js/errors.js";
import { repoRoot } from "./support.mjs";

const settles = (p, ms = 50) =>
  Promise.race([p.then(() => true, () => true), new Promise((r) => setTimeout(() => r(false), ms))]);

test("has every member of Oidc (docs/API.md)", () => {
  const oidc = createMockOidc();
  for (const f of [
    "login",
    "logout",
    "getTokens",
    "renewTokens",
    "getUserInfo",
    "fetch",
    "createDPoPProof",
    "reportActivity",
    "subscribe",
    "close",
  ]) {
    assert.equal(typeof oidc[f], "function", f);
  }
  assert.equal(oidc.isLoggedIn, false);
  assert.equal(oidc.claims, null);
  assert.equal(oidc.restoredVia, null);
  assert.equal(createMockOidc({ isLoggedIn: true }).restoredVia, "callback");
});

test("logged out: getTokens, renewTokens, getUserInfo and fetch reject with code not_logged_in", async () => {
  const oidc = createMockOidc();
  for (const f of ["getTokens", "renewTokens", "getUserInfo", "fetch"]) {
    await assert.rejects(oidc[f](), (e) => {
      assert.ok(e instanceof MockOidcError);
      assert.ok(e instanceof OidcError, "the mock throws the core's own OidcError class");
      assert.ok(e instanceof Error);
      assert.equal(e.name, "OidcError");
      assert.equal(e.code, "not_logged_in");
      return true;
    });
  }
});

test("starts logged in with the given claims and fake tokens", async () => {
  const claims = { sub: "alice", name: "Alice" };
  const oidc = createMockOidc({ isLoggedIn: true, claims, tokens: { scope: "openid api" } });
  assert.equal(oidc.isLoggedIn, true);
  assert.equal(oidc.claims.sub, "alice");
  assert.equal(oidc.claims.name, "Alice");
  // Completed with what every ID token has, so it fits the Claims type.
  for (const c of ["iss", "aud", "iat", "exp"]) assert.ok(oidc.claims[c] !== undefined, c);
  const t = await oidc.getTokens();
  assert.equal(t.tokenType, "Bearer");
  assert.equal(t.scope, "openid api");
  assert.match(t.accessToken, /^mock-access-token-/);
  assert.ok(t.accessTokenExpiresAt > Date.now());
  // The ID token is an unsigned JWT of the claims: readable, valid nowhere.
  const [header, payload, signature] = t.idToken.split(".");
  assert.equal(JSON.parse(Buffer.from(header, "base64url")).alg, "none");
  assert.equal(JSON.parse(Buffer.from(payload, "base64url")).sub, "alice");
  assert.equal(signature, "");
  assert.deepEqual(await oidc.getUserInfo(), claims);
});

test("login() flips state, emits tokensChanged with state updated, and never settles", async () => {
  const seen = [];
  const logins = [];
  const oidc = createMockOidc({ onLogin: (o) => logins.push(o) });
  const unsubscribe = oidc.subscribe((e) => seen.push([e.type, oidc.isLoggedIn, oidc.claims?.sub]));
  const p = oidc.login({ redirectTo: "/here" });
  assert.deepEqual(seen, [["tokensChanged", true, "mock-user"]]);
  assert.deepEqual(logins, [{ redirectTo: "/here" }]);
  assert.equal(await settles(p), false, "login() must behave like a redirect: never settle");
  unsubscribe();
  oidc.logout();
  assert.equal(seen.length, 1, "an unsubscribed listener is not called");
});

test("logout() forgets tokens and emits loggedOut", async () => {
  const seen = [];
  const oidc = createMockOidc({ isLoggedIn: true });
  oidc.subscribe((e) => seen.push([e.type, oidc.isLoggedIn, oidc.claims]));
  assert.equal(await settles(oidc.logout({ redirectTo: "/bye" })), false);
  assert.deepEqual(seen, [["loggedOut", false, null]]);
  await assert.rejects(oidc.getTokens(), { code: "not_logged_in" });
});

test("renewTokens() issues new tokens and emits tokensChanged", async () => {
  const oidc = createMockOidc({ isLoggedIn: true });
  const before = await oidc.getTokens();
  const seen = [];
  oidc.subscribe((e) => seen.push(e.type));
  const after = await oidc.renewTokens();
  assert.notEqual(after.accessToken, before.accessToken);
  assert.deepEqual(await oidc.getTokens(), after);
  assert.deepEqual(seen, ["tokensChanged"]);
});

test("test controls: simulateLogin, expireSession, emitError", () => {
  const oidc = createMockOidc();
  const seen = [];
  oidc.subscribe((e) => seen.push(e));
  oidc.simulateLogin({ sub: "bob" });
  assert.equal(oidc.claims.sub, "bob");
  oidc.expireSession();
  assert.equal(oidc.isLoggedIn, false);
  oidc.emitError("network_error");
  assert.deepEqual(
    seen.map((e) => e.type),
    ["tokensChanged", "sessionExpired", "error"],
  );
  assert.equal(seen[2].error.code, "network_error");
  assert.equal(seen[2].error.name, "OidcError");
});

test("login({ popup: true }) logs in, emits tokensChanged, then resolves (no navigation)", async () => {
  const logins = [];
  const oidc = createMockOidc({ claims: { sub: "pat" }, onLogin: (o) => logins.push(o) });
  const seen = [];
  oidc.subscribe((e) => seen.push([e.type, oidc.isLoggedIn]));
  const p = oidc.login({ popup: true, extraAuthParams: { prompt: "login" } });
  assert.deepEqual(seen, [["tokensChanged", true]], "logged in, and told, before the promise settles");
  assert.equal(await p, undefined);
  assert.equal(oidc.claims.sub, "pat");
  assert.deepEqual(logins, [{ popup: true, extraAuthParams: { prompt: "login" } }]);
  assert.match((await oidc.getTokens()).accessToken, /^mock-access-token-/);
});

test("createMockOidc({ popup }): a blocked popup rejects at once, a closed one rejects; nobody logged in", async () => {
  const blocked = createMockOidc({ popup: "blocked" });
  const seen = [];
  blocked.subscribe((e) => seen.push(e.type));
  const p = blocked.login({ popup: true });
  assert.equal(await settles(p, 0), true, "rejects at once, as when window.open is refused");
  await assert.rejects(p, (e) => {
    assert.ok(e instanceof OidcError);
    assert.equal(e.code, "popup_blocked");
    return true;
  });
  assert.equal(blocked.isLoggedIn, false);
  assert.deepEqual(seen, []);

  const cancelled = createMockOidc({ popup: "cancelled" });
  await assert.rejects(cancelled.login({ popup: true }), { name: "OidcError", code: "login_cancelled" });
  assert.equal(cancelled.isLoggedIn, false);
  await assert.rejects(cancelled.getTokens(), { code: "not_logged_in" });

  // The option is about popups: a redirect login still logs in (and never settles).
  assert.equal(await settles(cancelled.login()), false);
  assert.equal(cancelled.isLoggedIn, true);

  assert.throws(() => createMockOidc({ popup: "sometimes" }), TypeError);
});

test("reportActivity() counts calls and cancels an idle warning under way", () => {
  const oidc = createMockOidc({ isLoggedIn: true });
  const seen = [];
  oidc.subscribe((e) => seen.push(e));
  assert.equal(oidc.activityReports, 0);
  oidc.reportActivity();
  assert.equal(oidc.activityReports, 1);
  assert.deepEqual(seen, [], "no warning, nothing to cancel");
  oidc.simulateIdleWarning(30_000);
  oidc.reportActivity();
  oidc.reportActivity();
  assert.equal(oidc.activityReports, 3);
  assert.deepEqual(seen, [{ type: "idleWarning", msLeft: 30_000 }, { type: "idleWarningCancelled" }]);
  assert.equal(oidc.isLoggedIn, true);
});

test("test controls: simulateIdleWarning, simulateIdleWarningCancelled", () => {
  const oidc = createMockOidc({ isLoggedIn: true });
  const seen = [];
  oidc.subscribe((e) => seen.push(e));
  oidc.simulateIdleWarning();
  oidc.simulateIdleWarningCancelled();
  oidc.simulateIdleWarning(5_000);
  assert.deepEqual(seen, [
    { type: "idleWarning", msLeft: 60_000 },
    { type: "idleWarningCancelled" },
    { type: "idleWarning", msLeft: 5_000 },
  ]);
  assert.equal(oidc.isLoggedIn, true, "a warning logs nobody out");
  assert.throws(() => oidc.simulateIdleWarning(-1), TypeError);
});

test("test controls: simulateLogout(reason) and simulateProviderLogout() log out with that reason", async () => {
  for (const reason of ["user", "otherTab", "idle", "provider"]) {
    const oidc = createMockOidc({ isLoggedIn: true });
    const seen = [];
    oidc.subscribe((e) => seen.push([e, oidc.isLoggedIn, oidc.claims]));
    oidc.simulateLogout(reason);
    assert.deepEqual(seen, [[{ type: "loggedOut", reason }, false, null]], reason);
    await assert.rejects(oidc.getTokens(), { code: "not_logged_in" });
  }
  const oidc = createMockOidc({ isLoggedIn: true });
  const seen = [];
  oidc.subscribe((e) => seen.push(e));
  oidc.simulateLogout();
  oidc.simulateLogin();
  oidc.simulateProviderLogout();
  assert.deepEqual(seen, [
    { type: "loggedOut", reason: "user" },
    { type: "tokensChanged" },
    { type: "loggedOut", reason: "provider" },
  ]);
  assert.equal(oidc.isLoggedIn, false);
  assert.throws(() => oidc.simulateLogout("bored"), TypeError);
});

test("a logout ends an idle warning: activity after it cancels nothing", () => {
  const oidc = createMockOidc({ isLoggedIn: true });
  const seen = [];
  oidc.subscribe((e) => seen.push(e.type));
  oidc.simulateIdleWarning(1_000);
  oidc.simulateLogout("idle");
  oidc.reportActivity();
  assert.deepEqual(seen, ["idleWarning", "loggedOut"]);
});

const decode = (jwt) => {
  const [header, payload, signature] = jwt.split(".");
  return { header: JSON.parse(Buffer.from(header, "base64url")), payload: JSON.parse(Buffer.from(payload, "base64url")), signature };
};
const ath = (token) => createHash("sha256").update(token).digest("base64url");

/** Replaces the global fetch by a recorder for the test; returns what it was called with. */
function recordFetch(t) {
  const calls = [];
  const real = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    calls.push({ input, init, headers: Object.fromEntries(new Headers(init?.headers)) });
    return new Response("ok", { status: 200 });
  };
  t.after(() => {
    globalThis.fetch = real;
  });
  return calls;
}

test("fetch() calls the global fetch with Authorization: Bearer <fake token>, keeping the app's init", async (t) => {
  const calls = recordFetch(t);
  const oidc = createMockOidc({ isLoggedIn: true });
  const { accessToken, tokenType } = await oidc.getTokens();
  assert.equal(tokenType, "Bearer");
  const response = await oidc.fetch("https://api.test/orders?page=2", {
    method: "POST",
    body: "{}",
    headers: { "content-type": "application/json", authorization: "overwritten" },
  });
  assert.equal(await response.text(), "ok");
  assert.equal(calls.length, 1);
  assert.equal(calls[0].input, "https://api.test/orders?page=2");
  assert.equal(calls[0].init.method, "POST");
  assert.equal(calls[0].init.body, "{}");
  assert.deepEqual(calls[0].headers, { authorization: `Bearer ${accessToken}`, "content-type": "application/json" });

  // A Request: its headers are kept (fetch's own rule: an init's headers would replace them).
  const request = new Request("https://api.test/me", { headers: { accept: "application/json" } });
  await oidc.fetch(request);
  assert.equal(calls[1].input, request);
  assert.deepEqual(calls[1].headers, { accept: "application/json", authorization: `Bearer ${accessToken}` });

  // After a renewal, the new token.
  const renewed = await oidc.renewTokens();
  await oidc.fetch(new URL("https://api.test/me"));
  assert.equal(calls[2].headers.authorization, `Bearer ${renewed.accessToken}`);
  assert.equal(calls.some((c) => "dpop" in c.headers), false, "no DPoP header without dpop");
});

test("fetch() when logged out calls nothing", async (t) => {
  const calls = recordFetch(t);
  const oidc = createMockOidc({ isLoggedIn: true });
  oidc.logout();
  await assert.rejects(oidc.fetch("https://api.test/me"), { name: "OidcError", code: "not_logged_in" });
  assert.equal(calls.length, 0);
});

test("dpop: true: tokenType DPoP, fetch() sends Authorization: DPoP and a fake proof", async (t) => {
  const calls = recordFetch(t);
  const oidc = createMockOidc({ isLoggedIn: true, dpop: true });
  const { accessToken, tokenType } = await oidc.getTokens();
  assert.equal(tokenType, "DPoP");
  await oidc.fetch("https://api.test/orders?page=2#top", { method: "put" });
  assert.equal(calls[0].headers.authorization, `DPoP ${accessToken}`);
  const proof = decode(calls[0].headers.dpop);
  assert.deepEqual(proof.header, { typ: "dpop+jwt", alg: "none", pixy_mock: true }, "clearly unsigned, clearly the mock's");
  assert.equal(proof.signature, "");
  assert.equal(proof.payload.htm, "PUT", "upper-cased as fetch sends it");
  assert.equal(proof.payload.htu, "https://api.test/orders", "no query or fragment");
  assert.equal(proof.payload.ath, ath(accessToken));
  assert.equal(typeof proof.payload.jti, "string");
  assert.ok(Math.abs(proof.payload.iat - Date.now() / 1000) < 5);

  await oidc.fetch(new Request("https://api.test/items/7", { method: "DELETE" }));
  const second = decode(calls[1].headers.dpop);
  assert.equal(second.payload.htm, "DELETE");
  assert.equal(second.payload.htu, "https://api.test/items/7");
  assert.notEqual(second.payload.jti, proof.payload.jti, "a fresh proof per request");
});

test("createDPoPProof(): a fake proof with dpop: true; invalid_config without; not_logged_in when logged out", async () => {
  const oidc = createMockOidc({ isLoggedIn: true, dpop: true });
  const { accessToken } = await oidc.getTokens();
  const proof = decode(await oidc.createDPoPProof({ method: "PATCH", url: new URL("https://api.test/a/b?c#d") }));
  assert.equal(proof.header.alg, "none");
  assert.deepEqual(
    { htm: proof.payload.htm, htu: proof.payload.htu, ath: proof.payload.ath },
    { htm: "PATCH", htu: "https://api.test/a/b", ath: ath(accessToken) },
  );
  await assert.rejects(oidc.createDPoPProof({ url: "https://api.test/" }), TypeError);

  await assert.rejects(createMockOidc({ isLoggedIn: true }).createDPoPProof({ method: "GET", url: "https://api.test/" }), (e) => {
    assert.ok(e instanceof OidcError);
    assert.equal(e.code, "invalid_config");
    assert.match(e.message, /dpop: true/);
    return true;
  });
  oidc.logout();
  await assert.rejects(oidc.createDPoPProof({ method: "GET", url: "https://api.test/" }), { code: "not_logged_in" });
});

test("a throwing listener does not stop the others", (t) => {
  const oidc = createMockOidc();
  let second = false;
  oidc.subscribe(() => {
    throw new Error("listener bug");
  });
  oidc.subscribe(() => {
    second = true;
  });
  // Reported (reportError in browsers, console.error elsewhere), not thrown into the caller.
  const reported = [];
  globalThis.reportError = (e) => reported.push(e);
  t.after(() => delete globalThis.reportError);
  oidc.simulateLogin();
  assert.equal(second, true);
  assert.equal(reported[0]?.message, "listener bug");
});

test("imports nothing but the wasm-free error class: no core, no wasm, no framework", async () => {
  const source = (await readFile(path.join(repoRoot, "src/js/mock.js"), "utf8"))
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
  const imports = [...source.matchAll(/^\s*(?:import|export)\s[^;]*\sfrom\s+"([^"]+)"/gm)].map((m) => m[1]);
  assert.deepEqual(imports, ["./errors.js"]);
  const errors = await readFile(path.join(repoRoot, "src/js/errors.js"), "utf8");
  assert.doesNotMatch(errors, /\bimport\b/, "errors.js imports nothing");
  assert.doesNotMatch(source, /import\(|\.wasm/);
});
