// The DPoP and PAR test infrastructure, proven from Node without the browser library: the local
// provider's options (tests/support/provider.mjs: dpop, par, per-client dpop_bound_access_tokens
// and require_pushed_authorization_requests, what it records), the resource server
// (tests/support/resource.mjs) refusing every bad request and accepting a good one, and the demo's
// /api/me (www/api/me.mjs) taking both Bearer and DPoP tokens. Tokens come from real logins at the
// provider driven over HTTP (tests/support/dpop-client.mjs), proofs are made with jose.
//
//   node --test tests/resource.test.mjs
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startProvider } from "./support/provider.mjs";
import { startResourceServer } from "./support/resource.mjs";
import { createDpopKey, dpopProof, nodeLogin, tokenRequest } from "./support/dpop-client.mjs";
import { createApiMe } from "../www/api/me.mjs";

const APP = "http://localhost:5999";
const REDIRECT = `${APP}/`;
const client = (client_id, extra = {}) => ({ client_id, redirect_uris: [REDIRECT], post_logout_redirect_uris: [REDIRECT], ...extra });

let op; // defaults, plus a DPoP-bound client and a PAR-only client
let rs;
let key; // the key the token is bound to
let other; // another key
let dpopTokens; // a DPoP-bound login at op
let bearerTokens; // a login without a proof

before(async () => {
  op = await startProvider({
    quiet: true,
    clients: [
      client("spa"),
      client("bound", { dpop_bound_access_tokens: true }),
      client("par-only", { require_pushed_authorization_requests: true }),
    ],
  });
  rs = await startResourceServer({ issuer: op.issuer, introspectionClient: op.introspectionClient, origins: [APP] });
  [key, other] = await Promise.all([createDpopKey(), createDpopKey()]);
  const [a, b] = await Promise.all([
    nodeLogin({ issuer: op.issuer, clientId: "spa", redirectUri: REDIRECT, user: "dora", dpopKey: key }),
    nodeLogin({ issuer: op.issuer, clientId: "spa", redirectUri: REDIRECT, user: "bea" }),
  ]);
  assert.equal(a.tokenStatus, 200, JSON.stringify(a.error ?? a.tokens));
  assert.equal(b.tokenStatus, 200, JSON.stringify(b.error ?? b.tokens));
  dpopTokens = a.tokens;
  bearerTokens = b.tokens;
});

after(async () => {
  await Promise.allSettled([rs?.close(), op?.close()]);
});

const discovery = async (p) => (await fetch(`${p.issuer}/.well-known/openid-configuration`)).json();

/** GET rs.url (or `url`) with the given Authorization and DPoP headers. */
async function callRs({ auth, proof, url = rs.url, method = "GET", origin } = {}) {
  const headers = {};
  if (auth !== undefined) headers.authorization = auth;
  if (proof !== undefined) headers.dpop = proof;
  if (origin) headers.origin = origin;
  const r = await fetch(url, { method, headers });
  return { status: r.status, www: r.headers.get("www-authenticate"), nonce: r.headers.get("dpop-nonce"), headers: r.headers, body: await r.json().catch(() => null) };
}
const proofFor = (o = {}) =>
  dpopProof(o.key ?? key, { htm: o.htm ?? "GET", htu: o.htu ?? rs.url, accessToken: o.token ?? dpopTokens.access_token, ...o });

describe("provider options", () => {
  test("by default DPoP and PAR are offered, not required, and introspection is there", async () => {
    const d = await discovery(op);
    assert.deepEqual(d.dpop_signing_alg_values_supported?.includes("ES256"), true);
    assert.equal(d.pushed_authorization_request_endpoint, `${op.issuer}/request`);
    assert.equal(d.require_pushed_authorization_requests, undefined);
    assert.equal(d.introspection_endpoint, `${op.issuer}/token/introspection`);
  });

  test("a code exchange with a proof gives DPoP tokens bound to the key, and is recorded with its claims", async () => {
    assert.equal(dpopTokens.token_type, "DPoP");
    assert.equal(bearerTokens.token_type, "Bearer");
    const exchanges = op.tokenRequests.filter((t) => t.grant_type === "authorization_code" && t.status === 200);
    const withProof = exchanges.filter((t) => t.dpop);
    assert.equal(withProof.length, 1);
    assert.equal(exchanges.length, 2);
    const { header, claims } = withProof[0].dpop;
    assert.equal(header.typ, "dpop+jwt");
    assert.equal(header.alg, "ES256");
    assert.deepEqual(header.jwk, key.jwk);
    assert.equal(claims.htm, "POST");
    assert.equal(claims.htu, `${op.issuer}/token`);
    assert.equal(withProof[0].token_type, "DPoP");
    const intro = await fetch(`${op.issuer}/token/introspection`, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from(`${op.introspectionClient.client_id}:${op.introspectionClient.client_secret}`).toString("base64")}` },
      body: new URLSearchParams({ token: dpopTokens.access_token }),
    }).then((r) => r.json());
    assert.equal(intro.active, true);
    assert.equal(intro.cnf?.jkt, key.jkt);
    assert.equal(intro.token_type, "DPoP");
  });

  test("introspection is refused to the SPA clients (only the resource server's client may)", async () => {
    const r = await fetch(`${op.issuer}/token/introspection`, {
      method: "POST",
      body: new URLSearchParams({ token: dpopTokens.access_token, client_id: "spa" }),
    }).then((r) => r.json());
    assert.equal(r.active, false);
  });

  test("the refresh grant of a DPoP session needs a proof of the same key", async () => {
    const s = await nodeLogin({ issuer: op.issuer, clientId: "spa", redirectUri: REDIRECT, user: "rita", dpopKey: key });
    const rt = s.tokens.refresh_token;
    assert.ok(rt);
    const body = { grant_type: "refresh_token", refresh_token: rt, client_id: "spa" };
    const wrong = await tokenRequest(op.issuer, body, { key: other });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, "invalid_grant");
    const none = await tokenRequest(op.issuer, body);
    assert.equal(none.status, 400, "no proof: refused");
    const ok = await tokenRequest(op.issuer, body, { key });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.token_type, "DPoP");
    const last = op.tokenRequests.at(-1);
    assert.equal(last.grant_type, "refresh_token");
    assert.deepEqual(last.dpop.header.jwk, key.jwk);
  });

  test("a client with dpop_bound_access_tokens gets no token without a proof", async () => {
    const r = await nodeLogin({ issuer: op.issuer, clientId: "bound", redirectUri: REDIRECT });
    assert.equal(r.tokenStatus, 400);
    assert.equal(r.tokens.error, "invalid_grant");
    assert.equal(op.tokenRequests.at(-1).dpop, null);
    assert.equal(op.tokenRequests.at(-1).error, "invalid_grant");
    const ok = await nodeLogin({ issuer: op.issuer, clientId: "bound", redirectUri: REDIRECT, dpopKey: key });
    assert.equal(ok.tokenStatus, 200);
    assert.equal(ok.tokens.token_type, "DPoP");
  });

  test("PAR: the browser's request has only client_id and request_uri; the push is recorded (with its proof)", async () => {
    const r = await nodeLogin({ issuer: op.issuer, clientId: "spa", redirectUri: REDIRECT, par: true, parDpop: true, dpopKey: key, origin: APP });
    assert.equal(r.tokenStatus, 200, JSON.stringify(r.error ?? r.tokens));
    assert.equal(r.tokens.token_type, "DPoP");
    assert.deepEqual([...new URL(r.authorizeUrl).searchParams.keys()].sort(), ["client_id", "request_uri"]);
    const push = op.parRequests.at(-1);
    assert.equal(push.status, 201);
    assert.equal(push.origin, APP);
    assert.equal(push.params.client_id, "spa");
    assert.equal(push.params.code_challenge_method, "S256");
    assert.equal(push.params.dpop_jkt, undefined, "the recorded form is what the client sent");
    assert.equal(push.dpop.claims.htu, `${op.issuer}/request`);
    const auth = op.authRequests.find((a) => a.params.request_uri === push.request_uri);
    assert.equal(auth.par, true);
    assert.equal(auth.pushed.state, push.params.state);
    assert.equal(op.authRequests.filter((a) => !a.par).every((a) => !("request_uri" in a.params)), true);
  });

  test("PAR: a proof on the push binds the code to that key; a code exchange with another key is refused", async () => {
    // What this means for a browser client whose key lives in memory only: a push made before a
    // full-page redirect must not carry a proof of a key that the callback page no longer has.
    const r = await nodeLogin({ issuer: op.issuer, clientId: "spa", redirectUri: REDIRECT, par: true, parDpop: true, dpopKey: key, exchangeKey: other });
    assert.equal(r.tokenStatus, 400);
    assert.equal(r.tokens.error, "invalid_grant");
    const unbound = await nodeLogin({ issuer: op.issuer, clientId: "spa", redirectUri: REDIRECT, par: true, dpopKey: key, exchangeKey: other });
    assert.equal(unbound.tokenStatus, 200, "a push without a proof leaves the key to the code exchange");
    assert.equal(unbound.tokens.token_type, "DPoP");
  });

  test("PAR answers CORS for the client's registered origins only", async () => {
    const pre = (origin) =>
      fetch(`${op.issuer}/request`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "dpop" },
      });
    assert.equal((await pre(APP)).headers.get("access-control-allow-origin"), APP);
    const r = await fetch(`${op.issuer}/request`, {
      method: "POST",
      headers: { origin: "http://evil.test", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: "spa", response_type: "code", redirect_uri: REDIRECT, scope: "openid", code_challenge: "x".repeat(43), code_challenge_method: "S256" }),
    });
    assert.equal(r.status, 400);
    assert.equal(r.headers.get("access-control-allow-origin"), null);
  });

  test("PAR errors come back as the provider's error: unregistered redirect_uri, unknown client", async () => {
    const bad = await nodeLogin({ issuer: op.issuer, clientId: "spa", redirectUri: `${APP}/elsewhere`, par: true, origin: APP });
    assert.equal(bad.par.status, 400);
    assert.equal(bad.par.body.error, "invalid_request");
    assert.match(bad.par.body.error_description, /redirect_uri/);
    const unknown = await nodeLogin({ issuer: op.issuer, clientId: "nobody", redirectUri: REDIRECT, par: true, origin: APP });
    assert.equal(unknown.par.status, 401);
    assert.equal(unknown.par.body.error, "invalid_client");
    assert.deepEqual(
      op.parRequests.slice(-2).map((p) => [p.status, p.error]),
      [
        [400, "invalid_request"],
        [401, "invalid_client"],
      ],
    );
  });

  test("a client with require_pushed_authorization_requests is refused a request not pushed", async () => {
    const r = await nodeLogin({ issuer: op.issuer, clientId: "par-only", redirectUri: REDIRECT });
    assert.equal(r.error?.error, "invalid_request", JSON.stringify(r.error));
    assert.match(r.error.error_description, /pushed/i);
    const ok = await nodeLogin({ issuer: op.issuer, clientId: "par-only", redirectUri: REDIRECT, par: true });
    assert.equal(ok.tokenStatus, 200);
  });

  test("par: { required: true } says so in the metadata and refuses requests not pushed; par: false, dpop: false turn them off", async () => {
    const req = await startProvider({ quiet: true, clients: [client("spa")], par: { required: true } });
    const off = await startProvider({ quiet: true, clients: [client("spa")], par: false, dpop: false });
    try {
      assert.equal((await discovery(req)).require_pushed_authorization_requests, true);
      const refused = await nodeLogin({ issuer: req.issuer, clientId: "spa", redirectUri: REDIRECT });
      assert.equal(refused.error?.error, "invalid_request", JSON.stringify(refused.error));
      const ok = await nodeLogin({ issuer: req.issuer, clientId: "spa", redirectUri: REDIRECT, par: true });
      assert.equal(ok.tokenStatus, 200);

      const d = await discovery(off);
      assert.equal(d.pushed_authorization_request_endpoint, undefined);
      assert.equal(d.dpop_signing_alg_values_supported, undefined);
      const bearer = await nodeLogin({ issuer: off.issuer, clientId: "spa", redirectUri: REDIRECT, dpopKey: key });
      assert.equal(bearer.tokenStatus, 200);
      assert.equal(bearer.tokens.token_type, "Bearer", "the proof is ignored");
    } finally {
      await Promise.allSettled([req.close(), off.close()]);
    }
  });

  test("dpop: { requireNonce: true }: use_dpop_nonce with a DPoP-Nonce header (exposed to CORS), then the nonce is taken", async () => {
    const nop = await startProvider({ quiet: true, clients: [client("spa")], dpop: { requireNonce: true } });
    try {
      const first = await nodeLogin({ issuer: nop.issuer, clientId: "spa", redirectUri: REDIRECT, dpopKey: key, origin: APP });
      assert.equal(first.tokenStatus, 400);
      assert.equal(first.tokens.error, "use_dpop_nonce");
      const nonce = first.tokenHeaders.get("dpop-nonce");
      assert.ok(nonce, "DPoP-Nonce header");
      assert.match(first.tokenHeaders.get("access-control-expose-headers") ?? "", /DPoP-Nonce/i);
      assert.equal(nop.tokenRequests.at(-1).error, "use_dpop_nonce");

      // The code survives a use_dpop_nonce answer: the same exchange again with the nonce works.
      const retried = await nodeLogin({ issuer: nop.issuer, clientId: "spa", redirectUri: REDIRECT, dpopKey: key, origin: APP, retryNonce: true });
      assert.equal(retried.first.tokens.error, "use_dpop_nonce");
      assert.equal(retried.tokenStatus, 200, JSON.stringify(retried.tokens));
      assert.equal(retried.tokens.token_type, "DPoP");
      assert.equal(nop.tokenRequests.at(-1).dpop.claims.nonce, retried.first.tokenHeaders.get("dpop-nonce"));

      nop.setDpopRequireNonce(false);
      const plain = await nodeLogin({ issuer: nop.issuer, clientId: "spa", redirectUri: REDIRECT, dpopKey: key, user: "nina" });
      assert.equal(plain.tokenStatus, 200, "without the requirement, no nonce needed");
      assert.ok(plain.tokenHeaders.get("dpop-nonce"), "a nonce is still offered");
      nop.setDpopRequireNonce(true);
      const body = { grant_type: "refresh_token", refresh_token: plain.tokens.refresh_token, client_id: "spa" };
      const without = await tokenRequest(nop.issuer, body, { key });
      assert.equal(without.body.error, "use_dpop_nonce");
      const withNonce = await tokenRequest(nop.issuer, body, { key, nonce: without.headers.get("dpop-nonce") });
      assert.equal(withNonce.status, 200, JSON.stringify(withNonce.body));
      assert.equal(nop.tokenRequests.at(-1).dpop.claims.nonce, without.headers.get("dpop-nonce"));
      assert.throws(() => op.setDpopRequireNonce(true), /requireNonce/);
    } finally {
      await nop.close();
    }
  });

  test("userinfo with a DPoP token: the scheme and proof are recorded; a Bearer scheme is refused", async () => {
    const { userinfo_endpoint } = await discovery(op);
    const ok = await fetch(userinfo_endpoint, {
      headers: {
        authorization: `DPoP ${dpopTokens.access_token}`,
        dpop: await dpopProof(key, { htm: "GET", htu: userinfo_endpoint, accessToken: dpopTokens.access_token }),
      },
    });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).sub, "dora");
    const rec = op.userinfoRequests.at(-1);
    assert.equal(rec.scheme, "DPoP");
    assert.equal(rec.dpop.claims.ath.length, 43);
    const bearer = await fetch(userinfo_endpoint, { headers: { authorization: `Bearer ${dpopTokens.access_token}` } });
    assert.equal(bearer.status, 401);
    assert.equal(op.userinfoRequests.at(-1).scheme, "Bearer");
    assert.match(op.userinfoRequests.at(-1).wwwAuthenticate ?? "", /invalid_token/);
  });
});

describe("resource server", () => {
  test("accepts the DPoP token with a fresh proof of its key, and says whose it is", async () => {
    const r = await callRs({ auth: `DPoP ${dpopTokens.access_token}`, proof: await proofFor() });
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.equal(r.body.sub, "dora");
    assert.equal(r.body.jkt, key.jkt);
    // A query string in the request URL is not part of htu.
    const q = await callRs({ url: `${rs.url}?x=1#f`, auth: `DPoP ${dpopTokens.access_token}`, proof: await proofFor() });
    assert.equal(q.status, 200, JSON.stringify(q));
  });

  const refusals = [
    ["no Authorization at all", async () => ({}), undefined],
    ["the token as a Bearer token", async () => ({ auth: `Bearer ${dpopTokens.access_token}` }), "invalid_token"],
    ["the token as Bearer, with a proof", async () => ({ auth: `Bearer ${dpopTokens.access_token}`, proof: await proofFor() }), "invalid_token"],
    ["the DPoP scheme without a proof", async () => ({ auth: `DPoP ${dpopTokens.access_token}` }), "invalid_dpop_proof"],
    ["a proof from another key", async () => ({ auth: `DPoP ${dpopTokens.access_token}`, proof: await proofFor({ key: other }) }), "invalid_dpop_proof"],
    ["a proof naming the bound key but signed by another", async () => ({ auth: `DPoP ${dpopTokens.access_token}`, proof: await proofFor({ signWith: other }) }), "invalid_dpop_proof"],
    ["a proof with the ath of another token", async () => ({ auth: `DPoP ${dpopTokens.access_token}`, proof: await proofFor({ claims: { ath: "A".repeat(43) } }) }), "invalid_dpop_proof"],
    ["a proof without ath", async () => ({ auth: `DPoP ${dpopTokens.access_token}`, proof: await proofFor({ claims: { ath: undefined } }) }), "invalid_dpop_proof"],
    ["a proof for POST", async () => ({ auth: `DPoP ${dpopTokens.access_token}`, proof: await proofFor({ htm: "POST" }) }), "invalid_dpop_proof"],
    ["a proof for another URL", async () => ({ auth: `DPoP ${dpopTokens.access_token}`, proof: await proofFor({ htu: `${rs.origin}/api/other` }) }), "invalid_dpop_proof"],
    ["a proof whose htu has a query", async () => ({ auth: `DPoP ${dpopTokens.access_token}`, proof: await proofFor({ claims: { htu: `${rs.url}?x=1` } }) }), "invalid_dpop_proof"],
    ["a proof issued 2 minutes ago", async () => ({ auth: `DPoP ${dpopTokens.access_token}`, proof: await proofFor({ claims: { iat: Math.floor(Date.now() / 1000) - 120 } }) }), "invalid_dpop_proof"],
    ["a proof issued 2 minutes ahead", async () => ({ auth: `DPoP ${dpopTokens.access_token}`, proof: await proofFor({ claims: { iat: Math.floor(Date.now() / 1000) + 120 } }) }), "invalid_dpop_proof"],
    ["a proof with typ JWT", async () => ({ auth: `DPoP ${dpopTokens.access_token}`, proof: await proofFor({ header: { typ: "JWT" } }) }), "invalid_dpop_proof"],
    ["a proof without jti", async () => ({ auth: `DPoP ${dpopTokens.access_token}`, proof: await proofFor({ claims: { jti: undefined } }) }), "invalid_dpop_proof"],
    ["a proof whose jwk carries the private key", async () => {
      const { exportJWK } = await import("jose");
      const priv = await exportJWK(key.privateKey);
      return { auth: `DPoP ${dpopTokens.access_token}`, proof: await proofFor({ header: { jwk: priv } }) };
    }, "invalid_dpop_proof"],
    ["two proofs", async () => ({ auth: `DPoP ${dpopTokens.access_token}`, proof: `${await proofFor()}, ${await proofFor()}` }), "invalid_dpop_proof"],
    ["a token that is not DPoP-bound, with a proof", async () => ({ auth: `DPoP ${bearerTokens.access_token}`, proof: await proofFor({ token: bearerTokens.access_token }) }), "invalid_token"],
    ["a made-up token with a proof", async () => ({ auth: "DPoP not-a-token", proof: await proofFor({ token: "not-a-token" }) }), "invalid_token"],
  ];
  for (const [name, make, error] of refusals) {
    test(`refuses ${name}: 401, WWW-Authenticate says why`, async () => {
      const r = await callRs(await make());
      assert.equal(r.status, 401, JSON.stringify(r.body));
      assert.match(r.www ?? "", /^DPoP /);
      if (error) {
        assert.match(r.www, new RegExp(`error="${error}"`));
        assert.match(r.www, /error_description="[^"]+"/);
        assert.equal(r.body.error, error);
      } else {
        assert.doesNotMatch(r.www, /error=/);
      }
    });
  }

  test("refuses a replayed proof (same jti), after accepting it once", async () => {
    const proof = await proofFor();
    const first = await callRs({ auth: `DPoP ${dpopTokens.access_token}`, proof });
    assert.equal(first.status, 200);
    const again = await callRs({ auth: `DPoP ${dpopTokens.access_token}`, proof });
    assert.equal(again.status, 401);
    assert.match(again.www, /invalid_dpop_proof/);
    assert.match(again.body.error_description, /replay/);
  });

  test("nonce mode: 401 use_dpop_nonce with a DPoP-Nonce header, then the proof with that nonce is accepted", async () => {
    rs.setRequireNonce(true);
    try {
      const first = await callRs({ auth: `DPoP ${dpopTokens.access_token}`, proof: await proofFor(), origin: APP });
      assert.equal(first.status, 401);
      assert.match(first.www, /error="use_dpop_nonce"/);
      assert.ok(first.nonce);
      assert.match(first.headers.get("access-control-expose-headers"), /DPoP-Nonce/);
      const bogus = await callRs({ auth: `DPoP ${dpopTokens.access_token}`, proof: await proofFor({ nonce: "made-up" }) });
      assert.match(bogus.www, /use_dpop_nonce/);
      const ok = await callRs({ auth: `DPoP ${dpopTokens.access_token}`, proof: await proofFor({ nonce: first.nonce }) });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(rs.requests.at(-1).proof.claims.nonce, first.nonce);
    } finally {
      rs.setRequireNonce(false);
    }
  });

  test("CORS: a preflight from the app origin allows Authorization and DPoP; answers expose DPoP-Nonce and WWW-Authenticate; other origins get nothing", async () => {
    const pre = await fetch(rs.url, {
      method: "OPTIONS",
      headers: { origin: APP, "access-control-request-method": "GET", "access-control-request-headers": "authorization,dpop" },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), APP);
    assert.match(pre.headers.get("access-control-allow-headers"), /Authorization/i);
    assert.match(pre.headers.get("access-control-allow-headers"), /DPoP/i);
    const r = await callRs({ origin: APP, auth: `Bearer ${dpopTokens.access_token}` });
    assert.equal(r.headers.get("access-control-allow-origin"), APP);
    assert.match(r.headers.get("access-control-expose-headers"), /WWW-Authenticate/);
    const evil = await fetch(rs.url, { method: "OPTIONS", headers: { origin: "http://evil.test", "access-control-request-method": "GET" } });
    assert.equal(evil.headers.get("access-control-allow-origin"), null);
  });
});

describe("the demo's /api/me (www/api/me.mjs)", () => {
  let server;
  let base;
  before(async () => {
    const apiMe = createApiMe({ issuer: op.issuer });
    server = http.createServer((req, res) => apiMe(req, res));
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    base = `http://localhost:${server.address().port}/api/me`;
  });
  after(() => new Promise((r) => server.close(r)));

  test("takes a Bearer token through the provider's userinfo, as before", async () => {
    const r = await fetch(base, { headers: { authorization: `Bearer ${bearerTokens.access_token}` } });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { sub: "bea", name: "bea", checkedBy: "userinfo" });
    const none = await fetch(base);
    assert.equal(none.status, 401);
    assert.equal((await none.json()).error, "missing_token");
  });

  test("takes a DPoP token with a proof of its key (cnf.jkt from the local provider's introspection)", async () => {
    const r = await fetch(base, {
      headers: { authorization: `DPoP ${dpopTokens.access_token}`, dpop: await proofFor({ htu: base }) },
    });
    assert.equal(r.status, 200, await r.clone().text());
    assert.deepEqual(await r.json(), { sub: "dora", checkedBy: "dpop", jkt: key.jkt });
  });

  test("refuses the DPoP token as Bearer, without a proof, or with another key's proof", async () => {
    const bearer = await fetch(base, { headers: { authorization: `Bearer ${dpopTokens.access_token}` } });
    assert.equal(bearer.status, 401);
    const noProof = await fetch(base, { headers: { authorization: `DPoP ${dpopTokens.access_token}` } });
    assert.equal(noProof.status, 401);
    assert.match(noProof.headers.get("www-authenticate"), /invalid_dpop_proof/);
    const otherKey = await fetch(base, {
      headers: { authorization: `DPoP ${dpopTokens.access_token}`, dpop: await proofFor({ htu: base, key: other }) },
    });
    assert.equal(otherKey.status, 401);
    assert.match(otherKey.headers.get("www-authenticate"), /invalid_dpop_proof/);
  });
});
