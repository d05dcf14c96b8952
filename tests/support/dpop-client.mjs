// A DPoP client in Node for the tests: key pairs, proofs (good ones and deliberately bad ones), and
// an Authorization Code + PKCE login against the local provider (tests/support/provider.mjs) with
// the interaction pages driven by plain HTTP, optionally pushed (PAR) and DPoP-bound. It lets the
// tests prove the provider's options and the resource server without the browser library.
import { createHash, randomUUID } from "node:crypto";
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { b64u, rand, s256 } from "./util.mjs";

/** An ES256 key pair: `privateKey` (a KeyObject), the public `jwk`, its RFC 7638 `jkt`. */
export async function createDpopKey() {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, publicKey, jwk, jkt: await calculateJwkThumbprint(jwk, "sha256") };
}

export const ath = (token) => b64u(createHash("sha256").update(token, "ascii").digest());

/**
 * A DPoP proof JWT. `claims` and `header` override or remove (value undefined) what a correct
 * proof has: jti, htm, htu (query and fragment removed), iat, ath (when `accessToken`), nonce.
 * @param {Awaited<ReturnType<typeof createDpopKey>>} key
 * @param {{ htm: string, htu: string, accessToken?: string, nonce?: string,
 *           claims?: object, header?: object, signWith?: Awaited<ReturnType<typeof createDpopKey>> }} o
 *   signWith: sign with another key than the one in the jwk header (a forged proof).
 */
export async function dpopProof(key, o) {
  const htu = new URL(o.htu);
  htu.search = "";
  htu.hash = "";
  const claims = { jti: randomUUID(), htm: o.htm, htu: htu.href, iat: Math.floor(Date.now() / 1000) };
  if (o.accessToken !== undefined) claims.ath = ath(o.accessToken);
  if (o.nonce !== undefined) claims.nonce = o.nonce;
  Object.assign(claims, o.claims ?? {});
  const header = { alg: "ES256", typ: "dpop+jwt", jwk: key.jwk, ...(o.header ?? {}) };
  for (const obj of [claims, header]) for (const k of Object.keys(obj)) if (obj[k] === undefined) delete obj[k];
  return new SignJWT(claims).setProtectedHeader(header).sign((o.signWith ?? key).privateKey);
}

/** A minimal cookie jar: name=value per origin, paths and expiry ignored except deletion. */
function jar() {
  const cookies = new Map();
  return {
    take(res) {
      for (const line of res.headers.getSetCookie?.() ?? []) {
        const [pair, ...attrs] = line.split(";");
        const i = pair.indexOf("=");
        const name = pair.slice(0, i).trim();
        const expired = attrs.some((a) => /^\s*expires=.*1970/i.test(a)) || attrs.some((a) => /^\s*max-age=0\b/i.test(a));
        if (expired) cookies.delete(name);
        else cookies.set(name, pair.slice(i + 1).trim());
      }
    },
    header: () => [...cookies].map(([k, v]) => `${k}=${v}`).join("; "),
  };
}

/**
 * Logs `user` in at the local provider from Node and exchanges the code. Does not throw on an
 * error answer of the provider: returns what happened.
 *
 * @param {{ issuer: string, clientId: string, redirectUri: string, user?: string,
 *           scope?: string, dpopKey?: Awaited<ReturnType<typeof createDpopKey>>,
 *           par?: boolean, parDpop?: boolean, dpopJkt?: string, origin?: string, retryNonce?: boolean, exchangeKey?: object,
 *           extraParams?: Record<string,string> }} o
 *   dpopKey: sends a DPoP proof with the code exchange (and the push when parDpop).
 *   dpopJkt: sent as dpop_jkt in the authorization request.
 *   origin: sent as the Origin header of the push and token requests (as a browser would).
 *   exchangeKey: the key of the code exchange's proof, when not dpopKey.
 *   retryNonce: on use_dpop_nonce, sends the code exchange once more with the nonce given.
 * @returns {Promise<{ tokens?: object, tokenStatus?: number, tokenHeaders?: Headers, authorizeUrl: string,
 *                    par?: { status: number, body: object }, error?: object }>}
 */
export async function nodeLogin(o) {
  const meta = await (await fetch(`${o.issuer}/.well-known/openid-configuration`)).json();
  const verifier = rand(32);
  const params = {
    client_id: o.clientId,
    redirect_uri: o.redirectUri,
    response_type: "code",
    scope: o.scope ?? "openid profile offline_access",
    prompt: "consent",
    state: rand(16),
    nonce: rand(16),
    code_challenge: s256(verifier),
    code_challenge_method: "S256",
    ...(o.dpopJkt ? { dpop_jkt: o.dpopJkt } : {}),
    ...(o.extraParams ?? {}),
  };
  const originHeader = o.origin ? { origin: o.origin } : {};
  let authorizeUrl;
  const out = {};
  if (o.par) {
    const headers = { "content-type": "application/x-www-form-urlencoded", ...originHeader };
    if (o.parDpop && o.dpopKey) {
      headers.dpop = await dpopProof(o.dpopKey, { htm: "POST", htu: meta.pushed_authorization_request_endpoint });
    }
    const r = await fetch(meta.pushed_authorization_request_endpoint, {
      method: "POST",
      headers,
      body: new URLSearchParams(params),
    });
    out.par = { status: r.status, body: await r.json() };
    if (r.status !== 201) return { ...out, error: out.par.body, authorizeUrl: "" };
    authorizeUrl = `${meta.authorization_endpoint}?${new URLSearchParams({ client_id: o.clientId, request_uri: out.par.body.request_uri })}`;
  } else {
    authorizeUrl = `${meta.authorization_endpoint}?${new URLSearchParams(params)}`;
  }
  out.authorizeUrl = authorizeUrl;

  // Follow the provider's redirects and pages until it redirects to redirectUri.
  const cookies = jar();
  let url = authorizeUrl;
  let callback;
  for (let hop = 0; hop < 20 && !callback; hop++) {
    const r = await fetch(url, { redirect: "manual", headers: { cookie: cookies.header() } });
    cookies.take(r);
    if (r.status >= 300 && r.status < 400) {
      const next = new URL(r.headers.get("location"), url).href;
      await r.arrayBuffer();
      if (next.startsWith(o.redirectUri)) callback = new URL(next);
      else url = next;
      continue;
    }
    const body = await r.text();
    const form = /action="(\/interaction\/[^"]+\/login)"/.exec(body);
    if (r.status === 200 && form) {
      const p = await fetch(new URL(form[1], url), {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookies.header() },
        body: new URLSearchParams({ login: o.user ?? "node-user" }),
      });
      cookies.take(p);
      await p.arrayBuffer();
      url = new URL(p.headers.get("location"), url).href;
      continue;
    }
    return { ...out, error: { status: r.status, page: body.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").slice(0, 400) } };
  }
  if (!callback) return { ...out, error: { message: "no redirect to the redirect URI" } };
  if (callback.searchParams.get("error")) {
    return { ...out, error: Object.fromEntries(callback.searchParams) };
  }
  const exchange = async (nonce) => {
    const headers = { "content-type": "application/x-www-form-urlencoded", ...originHeader };
    const k = o.exchangeKey ?? o.dpopKey;
    if (k) headers.dpop = await dpopProof(k, { htm: "POST", htu: meta.token_endpoint, nonce });
    const r = await fetch(meta.token_endpoint, {
      method: "POST",
      headers,
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: callback.searchParams.get("code"),
        redirect_uri: o.redirectUri,
        client_id: o.clientId,
        code_verifier: verifier,
      }),
    });
    return { ...out, tokenStatus: r.status, tokenHeaders: r.headers, tokens: await r.json() };
  };
  const first = await exchange();
  if (o.retryNonce && first.tokens.error === "use_dpop_nonce" && first.tokenHeaders.get("dpop-nonce")) {
    return { ...(await exchange(first.tokenHeaders.get("dpop-nonce"))), first };
  }
  return first;
}

/** The token endpoint, once, with a DPoP proof for `key` (and `nonce`); for refresh grants. */
export async function tokenRequest(issuer, body, { key, nonce, origin } = {}) {
  const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  const headers = { "content-type": "application/x-www-form-urlencoded", ...(origin ? { origin } : {}) };
  if (key) headers.dpop = await dpopProof(key, { htm: "POST", htu: meta.token_endpoint, nonce });
  const r = await fetch(meta.token_endpoint, { method: "POST", headers, body: new URLSearchParams(body) });
  return { status: r.status, headers: r.headers, body: await r.json() };
}
