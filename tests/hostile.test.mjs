// Self-test of the hostile provider (tests/support/hostile.mjs), without a browser: a small
// reference relying party written with `jose` runs each scenario over fetch and must reach the
// verdict the scenario expects. If this fails, the conformance suite's provider is wrong, not
// the library.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader, customFetch } from "jose";
import { startHostile, SCENARIOS, CLIENT_ID, DEFAULT_SUB, atHash } from "./support/hostile.mjs";

const REDIRECT = "http://localhost:1/cb?x=1";
let op;
before(async () => {
  op = await startHostile();
});
after(() => op?.close());

class RpError extends Error {
  constructor(code, msg) {
    super(msg);
    this.code = code;
  }
}

const get = (url, init) => fetch(url, { ...init, signal: AbortSignal.timeout(5000) });

async function referenceLogin() {
  const marks = { jwks: op.jwksRequests.length, token: op.tokenRequests.length };
  const r = await get(`${op.issuer}/.well-known/openid-configuration`);
  const md = await r.json();
  if (!md || Array.isArray(md) || typeof md !== "object") throw new RpError("invalid_response", "shape");
  if (md.issuer !== op.issuer) throw new RpError("issuer_mismatch", md.issuer);

  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const state = randomBytes(16).toString("base64url");
  const nonce = randomBytes(16).toString("base64url");
  const au = new URL(md.authorization_endpoint);
  for (const [k, v] of Object.entries({
    response_type: "code", client_id: CLIENT_ID, redirect_uri: REDIRECT, scope: "openid profile",
    state, nonce, code_challenge: challenge, code_challenge_method: "S256",
  })) au.searchParams.set(k, v);
  const ar = await get(au, { redirect: "manual" });
  assert.equal(ar.status, 302);
  const cb = new URL(ar.headers.get("location"));
  assert.equal(cb.origin + cb.pathname, "http://localhost:1/cb");
  assert.equal(cb.searchParams.get("x"), "1");
  const p = cb.searchParams;
  if (p.get("error")) throw new RpError("provider_error", p.get("error"));
  if (p.get("state") !== state) throw new RpError("state_mismatch", "state");
  if (md.authorization_response_iss_parameter_supported && p.get("iss") !== md.issuer) {
    throw new RpError("issuer_mismatch", "iss param");
  }

  const tr = await get(md.token_endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", code: p.get("code"), redirect_uri: REDIRECT,
      client_id: CLIENT_ID, code_verifier: verifier,
    }),
  });
  const text = await tr.text();
  if (text.length > 1024 * 1024) throw new RpError("invalid_response", "too large");
  if (!tr.ok || !(tr.headers.get("content-type") ?? "").startsWith("application/json")) {
    throw new RpError("invalid_response", `status ${tr.status}`);
  }
  let tok;
  try {
    tok = JSON.parse(text);
  } catch {
    throw new RpError("invalid_response", "not json");
  }
  const jwt = tok.id_token;
  if (typeof jwt !== "string" || jwt.split(".").length !== 3) throw new RpError("invalid_id_token", "segments");

  let header;
  try {
    header = decodeProtectedHeader(jwt);
  } catch {
    throw new RpError("invalid_id_token", "header");
  }
  if (!["RS256", "PS256", "ES256"].includes(header.alg)) throw new RpError("invalid_id_token", "alg");
  // jose refetches on an unknown kid (rate-limited by cooldownDuration); fresh set per login.
  const jwks = createRemoteJWKSet(new URL(md.jwks_uri), { cooldownDuration: 0, [customFetch]: get });
  let payload;
  try {
    ({ payload } = await jwtVerify(jwt, jwks, {
      issuer: md.issuer, audience: CLIENT_ID, algorithms: ["RS256", "PS256", "ES256"],
      requiredClaims: ["iss", "sub", "aud", "exp", "iat"], clockTolerance: 60,
    }));
  } catch (e) {
    throw new RpError("invalid_id_token", e.code ?? e.message);
  }
  if (payload.nonce !== nonce) throw new RpError("invalid_id_token", "nonce");
  if (payload.azp !== undefined && payload.azp !== CLIENT_ID) throw new RpError("invalid_id_token", "azp");
  if (payload.at_hash !== undefined && payload.at_hash !== atHash(tok.access_token)) {
    throw new RpError("invalid_id_token", "at_hash");
  }

  const ur = await get(md.userinfo_endpoint, { headers: { authorization: `Bearer ${tok.access_token}` } });
  assert.equal(ur.status, 200);
  const ui = await ur.json();
  const t = op.tokenRequests.at(-1);
  assert.equal(t.pkceOk, true);
  assert.equal(t.redirectUriOk, true);
  return {
    payload, userinfoSubOk: ui.sub === payload.sub,
    jwksFetches: op.jwksRequests.length - marks.jwks,
  };
}

for (const [name, sc] of Object.entries(SCENARIOS)) {
  test(`hostile scenario ${name}`, async () => {
    op.setScenario(name);
    const e = sc.expect;
    if (name === "rp-key-rotation-op-sign-key") {
      const first = await referenceLogin();
      assert.equal(first.payload.sub, DEFAULT_SUB);
      const tokenMark = op.tokenRequests.length;
      const second = await referenceLogin();
      assert.equal(decodeProtectedHeader(op.tokenRequests[tokenMark].issued.idToken).kid, op.keys.rot.kid);
      assert.equal(second.payload.sub, DEFAULT_SUB);
      return;
    }
    let res, err;
    try {
      res = await referenceLogin();
    } catch (x) {
      if (!(x instanceof RpError)) throw x;
      err = x;
    }
    if (e.accept) {
      assert.equal(err, undefined, `unexpected ${err?.code}: ${err?.message}`);
      assert.equal(res.payload.sub, DEFAULT_SUB);
      assert.equal(res.userinfoSubOk, !e.userinfoReject);
      if (name === "es256") assert.equal(decodeProtectedHeader(op.tokenRequests.at(-1).issued.idToken).alg, "ES256");
      if (name === "ps256") assert.equal(decodeProtectedHeader(op.tokenRequests.at(-1).issued.idToken).alg, "PS256");
    } else if (e.either) {
      assert.ok(res || e.codes.includes(err.code), `got ${err?.code}`);
    } else {
      assert.ok(err, "reference RP accepted a hostile response");
      assert.ok(e.codes.includes(err.code), `expected ${e.codes}, got ${err.code} (${err.message})`);
      if (name === "unknown-kid-after-refetch") {
        assert.ok(op.jwksRequests.length >= 2);
      }
    }
  });
}

test("hostile scenario rp-key-rotation-op-sign-key with a stale first JWKS", async () => {
  op.setScenario("rp-key-rotation-op-sign-key", { staleJwksFetches: 1 });
  await referenceLogin();
  const second = await referenceLogin(); // jose refetches on the unknown kid
  assert.equal(second.jwksFetches, 2);
  assert.equal(second.payload.sub, DEFAULT_SUB);
});

test("CORS preflight and headers", async () => {
  op.setScenario("default");
  const r = await get(`${op.issuer}/userinfo`, {
    method: "OPTIONS",
    headers: { origin: "http://localhost:5", "access-control-request-method": "GET",
      "access-control-request-headers": "authorization" },
  });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get("access-control-allow-origin"), "http://localhost:5");
  assert.match(r.headers.get("access-control-allow-headers"), /authorization/);
  const d = await get(`${op.issuer}/jwks`, { headers: { origin: "http://localhost:5" } });
  assert.equal(d.headers.get("access-control-allow-origin"), "http://localhost:5");
  const ks = (await d.json()).keys.map((k) => k.kid);
  assert.equal(new Set(ks).size, 3);
});

test("token endpoint enforces PKCE S256 and redirect_uri", async () => {
  op.setScenario("default");
  const mk = async (method) => {
    const au = new URL(`${op.issuer}/authorize`);
    au.search = new URLSearchParams({ response_type: "code", client_id: CLIENT_ID, redirect_uri: REDIRECT,
      state: "s", nonce: "n", code_challenge: method === "plain" ? "v".repeat(43) : createHash("sha256").update("v".repeat(43)).digest("base64url"),
      code_challenge_method: method }).toString();
    const ar = await get(au, { redirect: "manual" });
    return new URL(ar.headers.get("location")).searchParams.get("code");
  };
  const tokenWith = (code, extra) => get(`${op.issuer}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code, client_id: CLIENT_ID,
      redirect_uri: REDIRECT, code_verifier: "v".repeat(43), ...extra }),
  });
  assert.equal((await tokenWith(await mk("plain"))).status, 400);
  assert.equal((await tokenWith(await mk("S256"), { redirect_uri: REDIRECT + "&" })).status, 400);
  assert.equal((await tokenWith(await mk("S256"), { code_verifier: "w".repeat(43) })).status, 400);
  const code = await mk("S256");
  assert.equal((await tokenWith(code)).status, 200);
  assert.equal((await tokenWith(code)).status, 400, "code reuse");
  assert.equal((await get(`${op.issuer}/userinfo`)).status, 401);
});
