// A local OpenID provider that plays one real provider at a time: Entra ID (single tenant,
// `common`, `organizations`), Keycloak, Auth0, Okta (org and `default` servers), Google, Cognito,
// ZITADEL, authentik. Each profile is a file in tests/support/profiles/ (built from each
// provider's published documents and examples): its discovery document is served verbatim, with every https
// origin rewritten to a loopback origin of this server (paths kept, Entra's `{tenantid}` kept),
// its JWKS keeps the published member set with our own key material, its ID tokens, redirect
// parameters, token and refresh responses follow the examples, and the behaviour table below
// adds what the JSON only describes in prose (iat backdating, refresh rotation, logout rules...).
//
//   const op = await startProfileProvider("keycloak");
//   op.issuer, op.clientId, op.user.sub, op.endpoints.{authorization,token,userinfo,jwks,
//     end_session,logout}, op.allowOrigins([app.origin])
//   ... drive a client ...
//   op.authorizeRequests / tokenRequests (entry.grantType) / userinfoRequests
//     (entry.authorization) / logoutRequests (entry.query) / issued (every token response)
//   await op.close();
//
// No login UI: /authorize answers at once for the profile's test user. `prompt=none` always ends
// in `login_required` (no provider sessions here; authentik: `consent_required` when
// `offline_access` is asked for), so nothing logs in by itself.
//
// Provider sessions (opt-in: `startProfileProvider("keycloak", { sessions: true })`): an
// interactive /authorize also starts a browser session at the provider (OIDC Session Management
// 1.0): a session id `sid`, an HttpOnly session cookie and a readable "browser state" cookie (opbs),
// both `Path=/; SameSite=None; Secure` (Chromium accepts Secure cookies from http://127.0.0.1 and
// http://localhost: potentially trustworthy origins). Then
//   - an interactive /authorize with a live session is SSO (same sid and opbs) unless
//     `login_hint=<sub>` names another user or `prompt=login`: then a new session replaces it.
//     login_hint picks opts.users' entry with that sub, else the test user with that sub;
//     without login_hint the session's user (or the test user) logs in. prompt=none ignores it.
//   - `prompt=none` with a live session answers a code for that session's user, else
//     `login_required`.
//   - every successful authorization response carries session_state =
//     b64u(sha256(client_id + " " + origin of redirect_uri + " " + opbs + " " + salt)) + "." + salt,
//     the token response repeats it, ID tokens carry `sid`.
//   - check_session_iframe (Keycloak's login-status-iframe.html) is a page whose script answers
//     postMessage("<client_id> <session_state>") with "unchanged" / "changed" / "error" (malformed
//     message or unknown client_id) to e.source at e.origin, from the opbs cookie (crypto.subtle,
//     or a JS SHA-256 where the frame is not a secure context; the page's <html data-sha256> says
//     which). No CSP, no X-Frame-Options.
//   - the end-session endpoint logs out where the profile's rules let it (Keycloak without
//     id_token_hint: no confirmation page, it just logs out): ends the browser's session (from
//     the cookie, else the id_token_hint's sid), clears both cookies, and when front-channel URIs
//     are registered renders one hidden <iframe> per URI (`?iss=..&sid=..` when sessionRequired,
//     the default where discovery has frontchannel_logout_session_supported), waits for their load
//     events (at most opts.frontChannelTimeoutMs, 3000), then goes to post_logout_redirect_uri or
//     shows "You are logged out" (<body data-done="1">).
//   op.sessions (live sids), op.session(sid) (the record), op.endSession(sid) (server side only:
//   cookies untouched, so check_session still says unchanged but prompt=none gets login_required),
//   op.frontChannelLogoutUris (get/set; strings or { uri, sessionRequired }), op.frontChannelLoads
//   (one entry per rendered iframe: { logoutId, uri, iss, sid, loaded, loadedAt }; `loaded` comes
//   from the logout page's load event, what the frame itself requested only its server knows),
//   op.cookieNames, op.endpoints.check_session, sessionStateFor(clientId, origin, opbs, salt).
//
// Loopback hosts: the issuer's origin listens on 127.0.0.1; every other origin in the discovery
// document (Cognito's hosted domain, Entra's graph.microsoft.com, Google's googleapis.com hosts)
// gets its own listener on 127.0.0.2, 127.0.0.3, ... (falling back to 127.0.0.1 with another port
// when such an address cannot be bound), so "issuer host ≠ endpoint host" holds here too.
import http from "node:http";
import { createHash, randomUUID, generateKeyPair as nodeGenerateKeyPair, sign as nodeSign } from "node:crypto";
import { execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { mkdtemp, writeFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { atHashFor, b64u, now, rand, readBody, s256 } from "./util.mjs";

/** OIDC Session Management 1.0 §4.2: the session_state of one authorization response. */
export function sessionStateFor(clientId, origin, opbs, salt = rand(12)) {
  return `${b64u(createHash("sha256").update(`${clientId} ${origin} ${opbs} ${salt}`, "utf8").digest())}.${salt}`;
}

/** Where the front-channel logout page reports its iframes' load events (any listener). */
const FC_LOADED_PATH = "/__pixy/frontchannel-loaded";

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "profiles");

/** Every profile name (one per JSON file). */
export const PROFILE_NAMES = readdirSync(DIR)
  .filter((f) => f.endsWith(".json"))
  .map((f) => f.slice(0, -5))
  .sort();

export function loadProfile(name) {
  if (!PROFILE_NAMES.includes(name)) throw new Error(`unknown provider profile: ${name}`);
  return JSON.parse(readFileSync(path.join(DIR, `${name}.json`), "utf8"));
}

/** The Microsoft personal-accounts tenant (`tid`/`iss` of outlook.com users). */
export const ENTRA_PERSONAL_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad";

const genKeyPair = promisify(nodeGenerateKeyPair);
const run = promisify(execFile);

// ---------------------------------------------------------------------------------------------
// Behaviour per profile: what the JSON says only in prose. Anything derivable from the JSON
// (redirect parameters, iss advertised, at_hash/nbf presence, token response members, aud shape,
// key shapes) is read from it instead.
//
//   iatOffset        seconds added to iat/nbf (Entra backdates by 300)
//   requireOrigin    token endpoint refuses requests without an Origin header (Entra spa)
//   rejectSecretWithOrigin   ... and refuses a client secret when Origin is present (Entra)
//   requireSecret    token endpoint demands client_secret (Google web clients)
//   pkceWithOrigin   a request with Origin must use PKCE (Okta)
//   requireStateNonce  /authorize refuses requests without state and nonce (Okta)
//   errorStyle       "aadsts": Entra error bodies (error_codes, trace_id, correlation_id...)
//   tokenType        token_type to send instead of the example's ("bearer": old Keycloak)
//   expiresInString  expires_in as a JSON string (Okta's implicit docs, Entra v1)
//   refresh.issue    "always" | "offline_access" (scope must hold it) | "access_type" (Google's
//                    access_type=offline)
//   refresh.rotate   "keep-old" (new RT, old still valid) | "revoke" (new RT, old revoked,
//                    reuse revokes the family) | "none" (no RT in refresh responses)
//   refresh.graceS   reuse window after rotation (Okta)
//   refresh.nonce    "original" | "absent": nonce of refreshed ID tokens
//   refresh.atHash   false: refreshed ID tokens carry no at_hash (authentik)
//   signing          list of algs used in turn for successive ID tokens (ZITADEL web keys)
//   signKid          kid of the signing key (default: the example header's kid)
//   extraKeys        keys added to the published JWKS shape
//   accessToken      "opaque" | "jwt" | "jwe" | "graph" (JWT with a nonce header that nobody
//                    but Graph can verify)
//   offlineConsent   prompt=none + offline_access => consent_required (authentik)
//   userinfo         extra claims only userinfo has (thin ID tokens: Okta, ZITADEL)
//   logout           how the end-session endpoint behaves (see logout() below)
//   extraEndpoints   endpoints not in discovery: { name: { like: "<discovery key>", path } }
// ---------------------------------------------------------------------------------------------
const ENTRA = {
  iatOffset: -300,
  requireOrigin: true,
  rejectSecretWithOrigin: true,
  errorStyle: "aadsts",
  // [unverified] nonce of refreshed Entra ID tokens; absent is the stricter case for a client.
  refresh: { issue: "offline_access", rotate: "keep-old", nonce: "absent" },
  accessToken: "graph",
  logout: "entra",
  userinfo: { given_name: "Ada", family_name: "Lovelace", email: "ada@contoso.onmicrosoft.com",
    picture: "https://graph.microsoft.com/v1.0/me/photo/$value" },
};
const OKTA = {
  pkceWithOrigin: true,
  requireStateNonce: true,
  refresh: { issue: "offline_access", rotate: "revoke", graceS: 30, nonce: "original" },
  accessToken: "jwt",
  logout: "okta",
  userinfo: { given_name: "Ada", family_name: "Lovelace", locale: "en-US", zoneinfo: "America/Los_Angeles",
    email_verified: true, updated_at: 1767225000 },
};
export const BEHAVIOURS = {
  "entra-tenant": { ...ENTRA },
  "entra-common": { ...ENTRA },
  "entra-organizations": { ...ENTRA },
  keycloak: {
    // Old Keycloak releases answer lowercase "bearer"; a client must compare case-insensitively.
    tokenType: "bearer",
    refresh: { issue: "always", rotate: "keep-old", nonce: "absent" }, // Keycloak 25+
    accessToken: "jwt",
    logout: "keycloak",
  },
  auth0: {
    refresh: { issue: "offline_access", rotate: "revoke", nonce: "original" },
    accessToken: "jwe",
    logout: "auth0",
    extraEndpoints: { legacy_logout: { like: "authorization_endpoint", path: "/v2/logout" } },
  },
  "okta-default": { ...OKTA },
  // The org server variant also types expires_in as a string (as Okta's docs do for implicit).
  "okta-org": { ...OKTA, expiresInString: true },
  google: {
    requireSecret: true,
    refresh: { issue: "access_type", rotate: "none", nonce: "original" },
    accessToken: "opaque",
    logout: "none",
    userinfo: { given_name: "Ada", family_name: "Lovelace", hd: "example.com" },
  },
  cognito: {
    // Sign with the key whose kid holds '+', '/' and '='.
    signKid: "FAKEzyxwVUTS9876rqpoNMLK5432jihgFEDC1098ba+/=",
    // [unverified] nonce of refreshed Cognito ID tokens; absent is the stricter case.
    refresh: { issue: "always", rotate: "none", nonce: "absent" },
    accessToken: "jwt",
    logout: "cognito",
    extraEndpoints: { logout: { like: "token_endpoint", path: "/logout" } },
    userinfo: { email_verified: "true", username: "ada" }, // Cognito's userInfo has string booleans
  },
  zitadel: {
    // The instance's active web key switches: ES256 for the login, then Ed25519, then back.
    signing: ["ES256", "EdDSA"],
    extraKeys: [{ use: "sig", kty: "OKP", kid: "312837500000000002", crv: "Ed25519", alg: "EdDSA", x: "FAKE" }],
    refresh: { issue: "offline_access", rotate: "revoke", nonce: "original" },
    accessToken: "opaque",
    logout: "zitadel",
    userinfo: { name: "Ada Lovelace", given_name: "Ada", family_name: "Lovelace", preferred_username: "ada",
      email: "ada@example.com", email_verified: true, locale: "en", updated_at: 1767225000 },
  },
  authentik: {
    refresh: { issue: "offline_access", rotate: "none", nonce: "absent", atHash: false },
    offlineConsent: true,
    accessToken: "jwt",
    logout: "authentik",
  },
};

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------
const ALG_OF = { RSA: "RS256", EC: "ES256", OKP: "EdDSA" };

async function certFor(privateKey, kid) {
  // A real self-signed certificate for the key, so x5c/x5t/x5t#S256 are genuine. Needs the
  // openssl CLI; without it those members are left out.
  const dir = await mkdtemp(path.join(os.tmpdir(), "pixy-profile-key-"));
  try {
    const file = path.join(dir, "key.pem");
    await writeFile(file, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    const { stdout } = await run("openssl", ["req", "-new", "-x509", "-key", file,
      "-subj", `/CN=${String(kid).replace(/[^\w.-]/g, "_").slice(0, 60)}`, "-days", "2", "-outform", "DER"],
    { encoding: "buffer", maxBuffer: 1 << 20 });
    return Buffer.from(stdout);
  } catch {
    return null;
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** Our own key for one published JWK shape: same members, same order, real values. */
async function makeKey(shape) {
  const kty = shape.kty;
  let pair;
  if (kty === "RSA") pair = await genKeyPair("rsa", { modulusLength: 2048 });
  else if (kty === "EC") pair = await genKeyPair("ec", { namedCurve: shape.crv ?? "P-256" });
  else if (kty === "OKP") pair = await genKeyPair("ed25519");
  else throw new Error(`unsupported key type ${kty}`);
  const real = pair.publicKey.export({ format: "jwk" });
  const cert = "x5c" in shape ? await certFor(pair.privateKey, shape.kid ?? "key") : null;
  const jwk = {};
  for (const [k, v] of Object.entries(shape)) {
    if (["n", "e", "x", "y", "crv"].includes(k)) jwk[k] = real[k];
    else if (k === "x5c") {
      if (cert) jwk.x5c = [cert.toString("base64")];
    } else if (k === "x5t") {
      if (cert) jwk.x5t = b64u(createHash("sha1").update(cert).digest());
      else jwk.x5t = v;
    } else if (k === "x5t#S256") {
      if (cert) jwk[k] = b64u(createHash("sha256").update(cert).digest());
    } else jwk[k] = v;
  }
  const alg = shape.alg && shape.use !== "enc" ? shape.alg : ALG_OF[kty];
  return { kid: shape.kid, alg, use: shape.use ?? "sig", kty, privateKey: pair.privateKey, jwk };
}

function signJws(header, payload, key) {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  let sig;
  if (key.alg === "RS256") sig = nodeSign("sha256", Buffer.from(input), key.privateKey);
  else if (key.alg === "ES256") sig = nodeSign("sha256", Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" });
  else if (key.alg === "EdDSA") sig = nodeSign(null, Buffer.from(input), key.privateKey);
  else throw new Error(`cannot sign with ${key.alg}`);
  return `${input}.${b64u(sig)}`;
}

export { atHashFor };

async function listen(server, host, port) {
  await new Promise((resolve, reject) => {
    const onErr = (e) => reject(e);
    server.once("error", onErr);
    server.listen(port, host, () => {
      server.off("error", onErr);
      resolve();
    });
  });
  return server.address().port;
}

// ---------------------------------------------------------------------------------------------
// The provider
// ---------------------------------------------------------------------------------------------

/**
 * @param {string} name  a profile name (PROFILE_NAMES)
 * @param {{ port?: number, user?: object, behaviour?: object, allowedOrigins?: string[] | "*",
 *   sessions?: boolean, users?: object[], frontChannelLogoutUri?: string | string[] | object[],
 *   frontChannelTimeoutMs?: number }} [opts]
 *   user: overrides of the test user (sub, tid, name, ...); behaviour: overrides of BEHAVIOURS[name]
 *   (e.g. google { requireSecret: false }); allowedOrigins: the CORS allow-list of token/userinfo
 *   (Keycloak Web origins, Okta Trusted Origins, ...), empty until allowOrigins() is called.
 *   sessions: provider sessions (see the header); users: more test users (overrides, each with a
 *   sub) that `login_hint=<sub>` logs in; frontChannelLogoutUri: the registered front-channel
 *   logout URI(s); frontChannelTimeoutMs: how long the logout page waits for their iframes.
 */
export async function startProfileProvider(name, opts = {}) {
  const profile = loadProfile(name);
  const b = { ...BEHAVIOURS[name], ...(opts.behaviour ?? {}) };
  b.refresh = { ...(BEHAVIOURS[name]?.refresh ?? {}), ...(opts.behaviour?.refresh ?? {}) };
  const ex = profile.id_token_claims_example;
  const clientId = Array.isArray(ex.aud) ? ex.azp ?? ex.aud[0] : ex.aud;
  let allowed = opts.allowedOrigins ?? [];

  // --- origins: every https origin in the discovery document gets a loopback listener --------
  const realOrigins = [];
  const collect = (v) => {
    if (typeof v === "string") {
      const m = /^https:\/\/[^/?#]+/.exec(v);
      if (m && !realOrigins.includes(m[0])) realOrigins.push(m[0]);
    } else if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === "object") Object.values(v).forEach(collect);
  };
  const issuerOrigin = /^https:\/\/[^/?#]+/.exec(profile.discovery.issuer)[0];
  collect(profile.discovery_url);
  collect(profile.discovery);
  realOrigins.sort((a, c) => (a === issuerOrigin ? -1 : c === issuerOrigin ? 1 : 0));

  const servers = [];
  const originMap = new Map(); // real origin -> loopback origin
  let hostIndex = 1;
  for (const real of realOrigins) {
    const server = http.createServer();
    server.keepAliveTimeout = 1000;
    let host = real === issuerOrigin ? "127.0.0.1" : `127.0.0.${++hostIndex}`;
    let port;
    try {
      port = await listen(server, host, real === issuerOrigin ? opts.port ?? 0 : 0);
    } catch (e) {
      if (host === "127.0.0.1") throw e;
      host = "127.0.0.1";
      port = await listen(server, host, 0);
    }
    const loop = `http://${host}:${port}`;
    originMap.set(real, loop);
    servers.push({ server, loop, real });
  }
  const rw = (v) => {
    if (typeof v === "string") {
      const m = /^https:\/\/[^/?#]+/.exec(v);
      return m && originMap.has(m[0]) ? originMap.get(m[0]) + v.slice(m[0].length) : v;
    }
    if (Array.isArray(v)) return v.map(rw);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rw(x)]));
    return v;
  };

  const discovery = rw(profile.discovery);
  const issuer = discovery.issuer; // for Entra common/organizations: the {tenantid} template
  const multiTenant = issuer.includes("{tenantid}");
  const advertisedIss = discovery.authorization_response_iss_parameter_supported === true;

  // --- routes -----------------------------------------------------------------------------
  const routes = new Map(); // loopback origin + path -> role
  const endpoints = {};
  const addRoute = (role, url) => {
    if (!url) return;
    // Route on origin + path; `{tenantid}` never appears in an endpoint the client calls.
    const m = /^(http:\/\/[^/?#]+)([^?#]*)/.exec(url);
    routes.set(m[1] + m[2], role);
    endpoints[role] = url;
  };
  addRoute("discovery", rw(profile.discovery_url));
  addRoute("authorization", discovery.authorization_endpoint);
  addRoute("token", discovery.token_endpoint);
  addRoute("userinfo", discovery.userinfo_endpoint);
  addRoute("jwks", discovery.jwks_uri);
  addRoute("end_session", discovery.end_session_endpoint);
  addRoute("revocation", discovery.revocation_endpoint);
  const sessionsMode = opts.sessions === true;
  if (sessionsMode) addRoute("check_session", discovery.check_session_iframe);
  for (const [role, e] of Object.entries(b.extraEndpoints ?? {})) {
    addRoute(role, new URL(e.path, discovery[e.like]).href);
  }

  // --- keys -----------------------------------------------------------------------------------
  const shapes = [...profile.jwks_example.keys, ...(b.extraKeys ?? [])].map((k) =>
    k.issuer ? { ...k, issuer: rw(k.issuer) } : k);
  const keys = await Promise.all(shapes.map(makeKey));
  const ghost = await makeKey({ kty: "RSA", kid: rand(20), alg: "RS256", use: "sig" }); // never published
  const sigKeys = keys.filter((k) => k.use !== "enc");
  const headerShape = profile.id_token_header_example;
  let idTokenCount = 0;
  function signingKey() {
    if (b.signing) {
      const alg = b.signing[idTokenCount % b.signing.length];
      return sigKeys.find((k) => k.alg === alg);
    }
    const kid = b.signKid ?? headerShape.kid;
    return sigKeys.find((k) => k.kid === kid) ?? sigKeys[0];
  }
  function header(key) {
    const h = {};
    for (const k of Object.keys(headerShape)) {
      if (k === "alg") h.alg = key.alg;
      else if (k === "kid") h.kid = key.kid;
      else h[k] = headerShape[k];
    }
    return h;
  }

  // --- the test user ------------------------------------------------------------------------
  let user = {};
  const setUser = (overrides = {}) => {
    user = {};
    for (const [k, v] of Object.entries(ex)) {
      if (["iss", "aud", "azp", "client_id", "iat", "exp", "nbf", "auth_time", "nonce", "at_hash", "jti",
        "sid", "uti", "rh", "aio", "event_id", "origin_jti"].includes(k)) continue;
      user[k] = v;
    }
    Object.assign(user, overrides);
  };
  setUser(opts.user);

  const tokenIssuer = (tid) => (multiTenant ? issuer.replace("{tenantid}", tid) : issuer);

  // --- state ----------------------------------------------------------------------------------
  const requests = [];
  const discoveryRequests = [];
  const jwksRequests = [];
  const authorizeRequests = [];
  const tokenRequests = [];
  const userinfoRequests = [];
  const logoutRequests = [];
  /** Every successful token response: { grantType, response, idToken, claims, accessToken, refreshToken, alg }. */
  const issued = [];
  const codes = new Map();
  const refreshTokens = new Map();
  const accessTokens = new Map();
  const idTokens = new Map(); // jwt -> claims

  // --- provider sessions (opts.sessions) ------------------------------------------------------
  const issuerPort = new URL(originMap.get(issuerOrigin)).port;
  const cookieNames = { session: `op_session_${issuerPort}`, browserState: `op_bs_${issuerPort}` };
  const COOKIE_ATTRS = "Path=/; SameSite=None; Secure";
  /** sid -> { sid, user, opbs, token, authTime, createdAt, live, endedAt, endedBy } */
  const opSessions = new Map();
  const extraUsers = opts.users ?? [];
  const fcUris = () => frontChannel.map((f) => (typeof f === "string"
    ? { uri: f, sessionRequired: discovery.frontchannel_logout_session_supported === true }
    : { sessionRequired: discovery.frontchannel_logout_session_supported === true, ...f }));
  let frontChannel = [opts.frontChannelLogoutUri ?? []].flat();
  const frontChannelLoads = [];
  const fcTimeoutMs = opts.frontChannelTimeoutMs ?? 3000;
  let logoutCount = 0;

  function parseCookies(header) {
    const out = {};
    for (const part of (header ?? "").split(";")) {
      const i = part.indexOf("=");
      if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
    }
    return out;
  }
  /** The session the browser's cookie names (live or not), or null. */
  function cookieSession(headers) {
    const token = parseCookies(headers.cookie)[cookieNames.session];
    if (!token) return null;
    for (const s of opSessions.values()) if (s.token === token) return s;
    return null;
  }
  function userFor(hint) {
    if (hint === user.sub) return { ...user };
    const known = extraUsers.find((u) => u.sub === hint);
    if (known) return { ...user, ...known };
    const u = { ...user, sub: hint };
    if ("preferred_username" in u) u.preferred_username = hint;
    if ("name" in u) u.name = `Test user ${hint}`;
    if ("email" in u) u.email = `${hint}@example.com`;
    return u;
  }
  function startOpSession(sessionUser) {
    const s = {
      sid: name.startsWith("entra") || name === "keycloak" ? randomUUID() : rand(24),
      user: sessionUser,
      opbs: rand(16),
      token: rand(32),
      authTime: now(),
      createdAt: Date.now(),
      live: true,
      endedAt: null,
      endedBy: null,
    };
    opSessions.set(s.sid, s);
    return s;
  }
  function endOpSession(sid, by) {
    const s = opSessions.get(sid);
    if (!s || !s.live) return false;
    s.live = false;
    s.endedAt = Date.now();
    s.endedBy = by;
    return true;
  }
  const sessionCookies = (s) => [
    `${cookieNames.session}=${s.token}; ${COOKIE_ATTRS}; HttpOnly`,
    `${cookieNames.browserState}=${s.opbs}; ${COOKIE_ATTRS}`,
  ];
  const clearCookies = () => [
    `${cookieNames.session}=; ${COOKIE_ATTRS}; HttpOnly; Max-Age=0`,
    `${cookieNames.browserState}=; ${COOKIE_ATTRS}; Max-Age=0`,
  ];

  function cors(origin, role) {
    // Discovery and keys are public: every provider here answers them with `*` (Okta's /keys
    // famously so, which fails a fetch that sends credentials).
    if (role === "discovery" || role === "jwks") return { "access-control-allow-origin": "*" };
    if (!origin) return {};
    if (allowed === "*" || allowed.includes(origin)) {
      return { "access-control-allow-origin": origin, "access-control-expose-headers": "www-authenticate", vary: "Origin" };
    }
    return {};
  }
  function send(res, extraHeaders, status, type, body) {
    const headers = { "cache-control": "no-store", pragma: "no-cache", ...extraHeaders };
    if (type) headers["content-type"] = type;
    if (body != null) headers["content-length"] = Buffer.byteLength(body);
    res.writeHead(status, headers);
    res.end(body ?? undefined);
  }
  const html = (text) => `<!doctype html><meta charset="utf-8"><title>${name}</title><p>${text}</p>`;

  function oauthError(entry, error, description, aadsts) {
    entry.error = error;
    entry.errorDescription = description;
    if (b.errorStyle === "aadsts") {
      return {
        error,
        error_description: `AADSTS${aadsts ?? 50000}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
        error_codes: [aadsts ?? 50000],
        timestamp: new Date().toISOString().replace("T", " ").replace("Z", "Z"),
        trace_id: randomUUID(),
        correlation_id: randomUUID(),
        error_uri: `${originMap.get(issuerOrigin)}/error?code=${aadsts ?? 50000}`,
      };
    }
    return { error, error_description: description };
  }

  function makeAccessToken(scope, sessionUser, tid) {
    const t = now();
    const ttl = Number(profile.token_response_example.expires_in ?? 3600);
    switch (b.accessToken) {
      case "jwt": {
        const key = sigKeys.find((k) => k.alg === "RS256") ?? sigKeys[0];
        const claims = { iss: tokenIssuer(tid), sub: sessionUser.sub, iat: t, exp: t + ttl, jti: randomUUID(), scope };
        if (name === "cognito") Object.assign(claims, { client_id: clientId, token_use: "access", username: sessionUser["cognito:username"] });
        else claims.aud = name.startsWith("okta") ? "api://default" : clientId;
        return signJws({ alg: key.alg, kid: key.kid, typ: "JWT" }, claims, key);
      }
      case "graph":
        // Graph's own token: a nonce header makes it unverifiable by anyone but Graph.
        return signJws({ typ: "JWT", nonce: rand(16), alg: "RS256", kid: ghost.kid },
          { aud: "00000003-0000-0000-c000-000000000000", iss: `https://sts.windows.net/${tid}/`, iat: t - 300, exp: t + ttl,
            scp: scope, tid, oid: sessionUser.oid, sub: rand(16) }, ghost);
      case "jwe":
        return `${b64u(JSON.stringify({ alg: "dir", enc: "A256GCM", iss: issuer }))}..${rand(12)}.${rand(64)}.${rand(16)}`;
      default:
        return name === "google" ? `ya29.${rand(48)}` : rand(32);
    }
  }

  function makeIdToken({ sess, accessToken, refreshed }) {
    const key = signingKey();
    idTokenCount += 1;
    const t = now();
    const iat = t + (b.iatOffset ?? 0);
    const ttl = ex.exp - ex.iat;
    const c = {};
    for (const [k, v] of Object.entries(ex)) {
      switch (k) {
        case "iss": c.iss = tokenIssuer(sess.user.tid); break;
        case "aud": c.aud = Array.isArray(v) ? [clientId, ...v.filter((a) => a !== clientId)] : clientId; break;
        case "azp": case "client_id": c[k] = clientId; break;
        case "iat": case "nbf": c[k] = iat; break;
        case "exp": c.exp = iat + ttl; break;
        case "auth_time": c.auth_time = sess.authTime; break;
        case "nonce":
          if (!refreshed) {
            if (sess.nonce !== undefined) c.nonce = sess.nonce;
          } else if (b.refresh.nonce === "original" && sess.nonce !== undefined) c.nonce = sess.nonce;
          break;
        case "at_hash":
          if (!(refreshed && b.refresh.atHash === false)) c.at_hash = atHashFor(key.alg, accessToken);
          break;
        case "jti": c.jti = typeof v === "string" && v.startsWith("ID.") ? `ID.${rand(32)}` : randomUUID(); break;
        case "sid": c.sid = sess.sid; break;
        case "uti": c.uti = rand(16); break;
        default: c[k] = k in sess.user ? sess.user[k] : v;
      }
    }
    // A nonce sent on a login where the example shows none is still echoed.
    if (!refreshed && sess.nonce !== undefined && c.nonce === undefined) c.nonce = sess.nonce;
    if (sessionsMode && sess.sid && c.sid === undefined) c.sid = sess.sid;
    const jwt = signJws(header(key), c, key);
    idTokens.set(jwt, c);
    return { jwt, claims: c, alg: key.alg, kid: key.kid };
  }

  function tokenBody(example, { accessToken, idToken, refreshToken, scope, sess }) {
    const r = {};
    for (const [k, v] of Object.entries(example)) {
      switch (k) {
        case "access_token": r[k] = accessToken; break;
        case "id_token": if (idToken) r[k] = idToken; break;
        case "refresh_token": if (refreshToken) r[k] = refreshToken; break;
        case "scope": r.scope = scope; break;
        case "expires_in": r.expires_in = b.expiresInString ? String(v) : v; break;
        case "token_type": r.token_type = b.tokenType ?? v; break;
        case "session_state": r.session_state = sess.sessionState ?? sess.sid; break;
        default: r[k] = v;
      }
    }
    if (idToken && !("id_token" in r)) r.id_token = idToken;
    if (refreshToken && !("refresh_token" in r)) r.refresh_token = refreshToken;
    return r;
  }

  function responseScope(requested) {
    const list = (requested ?? "openid").split(" ").filter(Boolean);
    if (name.startsWith("entra")) {
      return [...list.filter((s) => s !== "offline_access"), "https://graph.microsoft.com/User.Read"].join(" ");
    }
    if (name === "google") {
      return ["openid", ...(list.includes("email") ? ["https://www.googleapis.com/auth/userinfo.email"] : []),
        ...(list.includes("profile") ? ["https://www.googleapis.com/auth/userinfo.profile"] : [])].join(" ");
    }
    return list.join(" ");
  }

  function wantsRefreshToken(aq) {
    const scopes = (aq.scope ?? "").split(" ");
    switch (b.refresh.issue) {
      case "always": return true;
      case "access_type": return aq.access_type === "offline";
      default: return scopes.includes("offline_access");
    }
  }

  function newRefreshToken(sess) {
    const rt = name === "auth0" ? `v1.${rand(40)}` : name === "google" ? `1//${rand(40)}` : rand(40);
    refreshTokens.set(rt, { sess, revoked: false, rotatedAt: null });
    return rt;
  }

  async function handle(req, res, loop) {
    const url = new URL(req.url, loop);
    const origin = req.headers.origin;
    const role = routes.get(loop + url.pathname);
    const rawBody = req.method === "POST" ? await readBody(req) : "";
    const isForm = (req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded");
    const body = isForm ? Object.fromEntries(new URLSearchParams(rawBody)) : {};
    const entry = {
      role: role ?? null,
      method: req.method,
      origin: loop,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      rawQuery: url.search,
      body,
      headers: { ...req.headers },
      at: Date.now(),
    };
    requests.push(entry);
    const c = cors(origin, role);
    const json = (status, obj, extra = {}) => send(res, { ...c, ...extra }, status, "application/json", JSON.stringify(obj));

    if (req.method === "OPTIONS") {
      return send(res, {
        ...c,
        "access-control-allow-methods": "GET, POST, OPTIONS",
        "access-control-allow-headers": req.headers["access-control-request-headers"] || "authorization, content-type",
        "access-control-max-age": "0",
      }, 204, null, null);
    }
    if (sessionsMode && url.pathname === FC_LOADED_PATH) {
      const rec = frontChannelLoads.find((f) => f.logoutId === url.searchParams.get("logout") &&
        String(f.index) === url.searchParams.get("i"));
      if (rec && !rec.loaded) {
        rec.loaded = true;
        rec.loadedAt = Date.now();
      }
      return send(res, {}, 204, null, null);
    }
    if (!role) return send(res, c, 404, "text/plain", `not found: ${url.pathname} on ${loop}`);

    switch (role) {
      case "discovery":
        discoveryRequests.push(entry);
        return json(200, discovery);

      case "jwks":
        jwksRequests.push(entry);
        return send(res, c, 200, "application/json", JSON.stringify({ keys: keys.map((k) => k.jwk) }));

      case "authorization": {
        authorizeRequests.push(entry);
        const q = url.searchParams;
        let target;
        try {
          target = new URL(q.get("redirect_uri"));
        } catch {
          return send(res, c, 400, "text/html; charset=utf-8", html("invalid redirect_uri"));
        }
        if (q.get("client_id") !== clientId) {
          entry.error = "unauthorized_client";
          return send(res, c, 400, "text/html; charset=utf-8", html(`unknown client_id ${q.get("client_id")}`));
        }
        const p = new URLSearchParams();
        const errorRedirect = (error, description) => {
          entry.error = error;
          for (const k of profile.authorization_error_params) {
            if (k === "error") p.set("error", error);
            else if (k === "error_description") p.set("error_description", description);
            else if (k === "state" && q.has("state")) p.set("state", q.get("state"));
            else if (k === "iss") p.set("iss", issuer);
          }
        };
        const scopes = (q.get("scope") ?? "").split(" ");
        const silent = q.get("prompt") === "none";
        if (silent) entry.silent = true;
        const fromCookie = sessionsMode ? cookieSession(entry.headers) : null;
        const live = fromCookie?.live ? fromCookie : null;
        let setCookies;
        if (silent && b.offlineConsent && scopes.includes("offline_access")) {
          errorRedirect("consent_required", "Consent required");
        } else if (silent && !live) {
          errorRedirect("login_required", "End-User authentication is required");
        } else if (q.get("response_type") !== "code") {
          errorRedirect("unsupported_response_type", "response_type must be code");
        } else if (!scopes.includes("openid")) {
          errorRedirect("invalid_scope", "openid scope missing");
        } else if (q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")) {
          errorRedirect("invalid_request", "PKCE with S256 is required");
        } else if (b.requireStateNonce && (!q.get("state") || !q.get("nonce"))) {
          errorRedirect("invalid_request", "state and nonce are required");
        } else {
          const code = rand(32);
          let sessionState = randomUUID();
          let sidOf = name.startsWith("entra") || name === "keycloak" ? sessionState : rand(24);
          let sessionUser = { ...user };
          let authTime = now() - 5;
          if (sessionsMode) {
            let opSess = live;
            if (!silent) {
              const hint = q.get("login_hint");
              const wanted = hint ? userFor(hint) : opSess?.user ?? { ...user };
              if (!opSess || opSess.user.sub !== wanted.sub || q.get("prompt") === "login") {
                if (opSess) endOpSession(opSess.sid, "replaced");
                opSess = startOpSession(wanted);
                setCookies = sessionCookies(opSess);
                entry.newSession = true;
              }
            }
            entry.sid = opSess.sid;
            sidOf = opSess.sid;
            sessionUser = { ...opSess.user };
            authTime = opSess.authTime;
            sessionState = sessionStateFor(clientId, target.origin, opSess.opbs);
          }
          const sess = {
            user: sessionUser,
            nonce: q.get("nonce") ?? undefined,
            authTime,
            sid: sidOf,
            sessionState,
            scope: q.get("scope"),
            aq: Object.fromEntries(q),
          };
          codes.set(code, { sess, used: false });
          entry.code = code;
          for (const k of profile.authorization_response_params) {
            if (k === "code") p.set("code", code);
            else if (k === "state") { if (q.has("state")) p.set("state", q.get("state")); }
            else if (k === "iss") p.set("iss", issuer);
            else if (k === "session_state") p.set("session_state", sessionState);
            else if (k === "scope") p.set("scope", ["email", "profile", "https://www.googleapis.com/auth/userinfo.email",
              "openid", "https://www.googleapis.com/auth/userinfo.profile"].join(" "));
            else if (k === "authuser") p.set("authuser", "0");
            else if (k === "prompt") p.set("prompt", "consent");
          }
          if ((profile.authorization_response_params_optional ?? []).some((s) => s.startsWith("client_info")) && q.get("client_info") === "1") {
            p.set("client_info", b64u(JSON.stringify({ uid: user.oid, utid: user.tid })));
          }
          if (name === "google" && user.hd) p.set("hd", user.hd);
          if (sessionsMode && !p.has("session_state")) p.set("session_state", sessionState);
        }
        for (const [k, v] of p) target.searchParams.append(k, v);
        entry.redirectedTo = target.href;
        entry.responseParams = Object.fromEntries(p);
        const cookieHeader = setCookies ? { "set-cookie": setCookies } : {};
        return send(res, { ...c, ...cookieHeader, location: target.href }, 302, "text/plain", `Redirecting to ${target.href}`);
      }

      case "token": {
        if (req.method !== "POST") return json(405, { error: "invalid_request" });
        tokenRequests.push(entry);
        entry.grantType = body.grant_type;
        const fail = (status, error, description, aadsts) => json(status, oauthError(entry, error, description, aadsts));
        if (b.requireOrigin && !origin) {
          return fail(400, "invalid_request", "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.", 9002327);
        }
        if (b.rejectSecretWithOrigin && origin && (body.client_secret || body.client_assertion)) {
          return fail(401, "invalid_client", "Public clients can't send a client secret.", 700025);
        }
        if (b.requireSecret && !body.client_secret) {
          return fail(400, "invalid_request", "client_secret is missing.");
        }
        if (body.client_id !== undefined && body.client_id !== clientId) {
          return fail(400, "invalid_client", "Client authentication failed");
        }
        if (body.grant_type === "authorization_code") {
          const stored = codes.get(body.code);
          if (!stored) return fail(400, "invalid_grant", "unknown code");
          if (stored.used) return fail(400, "invalid_grant", "code already used");
          stored.used = true;
          const { sess } = stored;
          const aq = sess.aq;
          entry.authorizeQuery = aq;
          if (body.client_id !== aq.client_id) return fail(400, "invalid_client", "client_id differs from the authorization request");
          if (body.redirect_uri !== aq.redirect_uri) return fail(400, "invalid_grant", "redirect_uri differs from the authorization request");
          if (b.pkceWithOrigin && origin && !body.code_verifier) {
            return fail(400, "invalid_request", "Browser requests to the token endpoint must use Proof Key for Code Exchange.");
          }
          entry.pkceOk = typeof body.code_verifier === "string" && /^[A-Za-z0-9\-._~]{43,128}$/.test(body.code_verifier) &&
            s256(body.code_verifier) === aq.code_challenge;
          if (!entry.pkceOk) return fail(400, "invalid_grant", "PKCE verification failed");
          const scope = responseScope(sess.scope);
          const accessToken = makeAccessToken(scope, sess.user, sess.user.tid);
          accessTokens.set(accessToken, { sess, scope });
          const id = makeIdToken({ sess, accessToken, refreshed: false });
          const refreshToken = wantsRefreshToken(aq) ? newRefreshToken(sess) : undefined;
          const response = tokenBody(profile.token_response_example, { accessToken, idToken: id.jwt, refreshToken, scope, sess });
          const rec = { grantType: "authorization_code", response, accessToken, idToken: id.jwt, claims: id.claims, alg: id.alg,
            kid: id.kid, refreshToken };
          issued.push(rec);
          entry.issued = rec;
          return json(200, response);
        }
        if (body.grant_type === "refresh_token") {
          const stored = refreshTokens.get(body.refresh_token);
          if (!stored) return fail(400, "invalid_grant", "Unknown or invalid refresh token.");
          if (stored.revoked) {
            const inGrace = b.refresh.graceS && stored.rotatedAt && Date.now() - stored.rotatedAt < b.refresh.graceS * 1000;
            if (!inGrace) {
              entry.reuse = true;
              if (b.refresh.rotate === "revoke") for (const v of refreshTokens.values()) if (v.sess === stored.sess) v.revoked = true;
              return fail(400, "invalid_grant", "Unknown or invalid refresh token.");
            }
          }
          const { sess } = stored;
          const scope = responseScope(sess.scope);
          const accessToken = makeAccessToken(scope, sess.user, sess.user.tid);
          accessTokens.set(accessToken, { sess, scope });
          const id = makeIdToken({ sess, accessToken, refreshed: true });
          let refreshToken;
          if (b.refresh.rotate !== "none") {
            refreshToken = newRefreshToken(sess);
            if (b.refresh.rotate === "revoke") {
              stored.revoked = true;
              stored.rotatedAt = Date.now();
            }
          }
          const example = profile.refresh_response_example ?? profile.token_response_example;
          const response = tokenBody(example, { accessToken, idToken: id.jwt, refreshToken, scope, sess });
          if (!refreshToken) delete response.refresh_token;
          const rec = { grantType: "refresh_token", response, accessToken, idToken: id.jwt, claims: id.claims, alg: id.alg,
            kid: id.kid, refreshToken, usedRefreshToken: body.refresh_token };
          issued.push(rec);
          entry.issued = rec;
          return json(200, response);
        }
        return fail(400, "unsupported_grant_type", `grant_type ${body.grant_type}`);
      }

      case "userinfo": {
        userinfoRequests.push(entry);
        entry.authorization = req.headers.authorization ?? null;
        const m = /^Bearer ([^\s]+)$/i.exec(req.headers.authorization ?? "");
        const known = m && accessTokens.get(m[1]);
        entry.tokenInQuery = url.searchParams.has("access_token") || "access_token" in body;
        if (!known || (name === "cognito" && !known.scope.split(" ").includes("openid"))) {
          return json(401, { error: "invalid_token", error_description: "Access token is missing or invalid" },
            { "www-authenticate": `Bearer error="invalid_token"` });
        }
        const u = { sub: known.sess.user.sub };
        for (const k of ["name", "given_name", "family_name", "nickname", "preferred_username", "email", "email_verified",
          "picture", "updated_at", "locale"]) {
          if (k in known.sess.user) u[k] = known.sess.user[k];
        }
        Object.assign(u, b.userinfo ?? {});
        entry.response = u;
        return json(200, u);
      }

      case "end_session":
      case "logout":
      case "legacy_logout":
        logoutRequests.push(entry);
        entry.endpoint = role;
        return logout(entry, url.searchParams, res, c, loop);

      case "revocation":
        return send(res, c, 200, "text/plain", "");

      case "check_session":
        return send(res, {}, 200, "text/html; charset=utf-8", checkSessionPage());

      default:
        return send(res, c, 404, "text/plain", "not found");
    }
  }

  /** Logout the provider's way; entry.outcome says what happened. */
  function logout(entry, q, res, c, loop) {
    const hint = q.get("id_token_hint");
    const hintOk = hint != null && idTokens.has(hint);
    const plr = q.get("post_logout_redirect_uri");
    const state = q.get("state");
    entry.hintOk = hintOk;
    const page = (status, text) => {
      if (sessionsMode && status === 200) return loggedOut(null, text);
      entry.outcome = `page ${status}: ${text}`;
      return send(res, c, status, "text/html; charset=utf-8", html(text));
    };
    const go = (target, extra = {}) => {
      let t;
      try {
        t = new URL(target);
        if (!/^https?:$/.test(t.protocol)) throw new Error("scheme");
      } catch {
        if (!sessionsMode) throw new Error(`invalid logout target ${target}`);
        entry.outcome = "page 400: Invalid redirect uri";
        return send(res, c, 400, "text/html; charset=utf-8", html("Invalid redirect uri"));
      }
      for (const [k, v] of Object.entries(extra)) if (v != null) t.searchParams.set(k, v);
      if (sessionsMode) return loggedOut(t.href, null);
      entry.outcome = `redirect ${t.href}`;
      return send(res, { ...c, location: t.href }, 302, "text/plain", `Redirecting to ${t.href}`);
    };
    /** Sessions mode: end the browser's session, clear the cookies, front-channel, then target or text. */
    const loggedOut = (target, text) => {
      const fromCookie = cookieSession(entry.headers);
      const hinted = hintOk ? opSessions.get(idTokens.get(hint).sid) : null;
      const ended = [fromCookie, hinted].find((s) => s?.live) ?? null;
      if (ended) endOpSession(ended.sid, "logout");
      entry.endedSid = ended?.sid ?? null;
      const headers = { ...c, "set-cookie": clearCookies() };
      const frames = ended ? fcUris() : [];
      if (!frames.length) {
        if (target) {
          entry.outcome = `redirect ${target}`;
          return send(res, { ...headers, location: target }, 302, "text/plain", `Redirecting to ${target}`);
        }
        entry.outcome = `page 200: ${text ?? "You are logged out"}`;
        return send(res, headers, 200, "text/html; charset=utf-8",
          html(text ?? "You are logged out").replace("<p>", `<body data-done="1"><p id="msg">`));
      }
      const logoutId = String(++logoutCount);
      const iss = tokenIssuer(ended.user.tid);
      const srcs = frames.map((f, index) => {
        const u = new URL(f.uri);
        if (f.sessionRequired) {
          u.searchParams.set("iss", iss);
          u.searchParams.set("sid", ended.sid);
        }
        frontChannelLoads.push({ logoutId, index, uri: u.href, iss: f.sessionRequired ? iss : null,
          sid: f.sessionRequired ? ended.sid : null, loaded: false, loadedAt: null, renderedAt: Date.now() });
        return u.href;
      });
      entry.outcome = `frontchannel ${srcs.length} then ${target ? `redirect ${target}` : "page"}`;
      entry.frontChannel = srcs;
      return send(res, headers, 200, "text/html; charset=utf-8", frontChannelPage({ srcs, target, text, logoutId, loop }));
    };
    switch (b.logout) {
      case "keycloak":
        if (plr && !hint && !q.get("client_id")) {
          return page(400, "Either the parameter client_id or the parameter id_token_hint is required when post_logout_redirect_uri is used.");
        }
        if (hint && !hintOk) return page(400, "Invalid parameter: id_token_hint");
        // Keycloak asks for confirmation without id_token_hint; with sessions here it just logs out.
        if (!hint && !sessionsMode) return page(200, "Do you want to log out? (confirmation page)");
        return plr ? go(plr, { state }) : page(200, "You are logged out");
      case "okta":
        if (!hintOk) return page(400, "The id_token_hint is required and must be valid (Okta error page)");
        return plr ? go(plr, { state }) : page(200, "Signed out");
      case "auth0":
        if (entry.endpoint === "legacy_logout") {
          const returnTo = q.get("returnTo");
          return returnTo ? go(returnTo) : page(200, "OK");
        }
        if (plr && !hint && !q.get("client_id")) return page(400, "post_logout_redirect_uri needs client_id or id_token_hint");
        if (hint && !hintOk) return page(400, "invalid id_token_hint");
        return plr ? go(plr, { state }) : page(200, "You are logged out");
      case "cognito": {
        if (q.get("client_id") !== clientId) return page(400, "Required String parameter 'client_id' is not present");
        const lu = q.get("logout_uri");
        if (lu) return go(lu);
        if (q.get("redirect_uri") && q.get("response_type")) return go(`${endpoints.authorization}?${q}`);
        return page(400, "Required parameter logout_uri or redirect_uri is missing");
      }
      case "zitadel":
      case "authentik":
      case "entra":
        if (hint && !hintOk) return page(400, "invalid id_token_hint");
        return plr ? go(plr, { state }) : page(200, "You are signed out");
      default:
        return page(404, "no end-session endpoint");
    }
  }

  const esc = (s) => String(s).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  /** Rendered by the end-session endpoint: the front-channel iframes, then the redirect or a text. */
  function frontChannelPage({ srcs, target, text, logoutId, loop }) {
    const beacon = `${loop}${FC_LOADED_PATH}?logout=${encodeURIComponent(logoutId)}&i=`;
    return `<!doctype html><meta charset="utf-8"><title>${name}: logging out</title>
<script>
  let left = ${srcs.length};
  let done = false;
  const target = ${JSON.stringify(target)};
  function finish() {
    if (done) return;
    done = true;
    if (target) location.replace(target);
    else {
      document.getElementById("msg").textContent = ${JSON.stringify(text ?? "You are logged out")};
      document.body.dataset.done = "1";
    }
  }
  function fcLoaded(i) {
    navigator.sendBeacon(${JSON.stringify(beacon)} + i);
    if (--left === 0) setTimeout(finish, 0);
  }
  setTimeout(finish, ${fcTimeoutMs});
</script>
<body><p id="msg">Logging out...</p>
${srcs.map((s, i) => `<iframe src="${esc(s)}" onload="fcLoaded(${i})" style="display:none" title="front-channel logout ${i}"></iframe>`).join("\n")}
</body>`;
  }

  /** check_session_iframe (OIDC Session Management 1.0 §3.2), answering from the opbs cookie. */
  function checkSessionPage() {
    return `<!doctype html><meta charset="utf-8"><title>${name}: check session</title>
<script>
(() => {
  const COOKIE = ${JSON.stringify(cookieNames.browserState)};
  const CLIENTS = ${JSON.stringify([clientId])};
  document.documentElement.dataset.sha256 = window.crypto && crypto.subtle ? "subtle" : "js";
  const opbs = () => {
    for (const kv of document.cookie.split("; ")) {
      const i = kv.indexOf("=");
      if (i > 0 && kv.slice(0, i) === COOKIE) return decodeURIComponent(kv.slice(i + 1));
    }
    return "";
  };
  const b64u = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  // SHA-256 in plain JS, for a frame that is not a secure context (no crypto.subtle).
  function sha256js(bytes) {
    const K = [];
    const H = [];
    const frac = (x) => ((x - Math.floor(x)) * 4294967296) >>> 0;
    for (let n = 2, found = 0; found < 64; n++) {
      let prime = true;
      for (let d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
      if (!prime) continue;
      if (found < 8) H.push(frac(Math.sqrt(n)));
      K.push(frac(Math.cbrt(n)));
      found++;
    }
    const len = bytes.length;
    const total = Math.ceil((len + 9) / 64) * 64;
    const m = new Uint8Array(total);
    m.set(bytes);
    m[len] = 0x80;
    const dv = new DataView(m.buffer);
    dv.setUint32(total - 8, Math.floor(len / 0x20000000));
    dv.setUint32(total - 4, (len * 8) >>> 0);
    const w = new Uint32Array(64);
    const rotr = (x, r) => (x >>> r) | (x << (32 - r));
    for (let o = 0; o < total; o += 64) {
      for (let i = 0; i < 16; i++) w[i] = dv.getUint32(o + i * 4);
      for (let i = 16; i < 64; i++) {
        const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
        const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
      }
      let [a, b, c, d, e, f, g, h] = H;
      for (let i = 0; i < 64; i++) {
        const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
        const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
        h = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
      }
      [a, b, c, d, e, f, g, h].forEach((v, i) => { H[i] = (H[i] + v) >>> 0; });
    }
    const out = new Uint8Array(32);
    H.forEach((v, i) => new DataView(out.buffer).setUint32(i * 4, v));
    return out;
  }
  async function sha256(text) {
    const data = new TextEncoder().encode(text);
    if (window.crypto && crypto.subtle) return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
    return sha256js(data);
  }
  window.__sha256js = (text) => b64u(sha256js(new TextEncoder().encode(text)));
  window.addEventListener("message", async (e) => {
    if (!e.source) return;
    const answer = (s) => {
      try {
        e.source.postMessage(s, e.origin);
      } catch {
        // an opaque origin cannot be answered
      }
    };
    if (typeof e.data !== "string") return answer("error");
    const parts = e.data.split(" ");
    if (parts.length !== 2) return answer("error");
    const [cid, ss] = parts;
    const dot = ss.lastIndexOf(".");
    if (!CLIENTS.includes(cid) || dot < 1 || dot === ss.length - 1) return answer("error");
    const salt = ss.slice(dot + 1);
    const h = b64u(await sha256(cid + " " + e.origin + " " + opbs() + " " + salt));
    answer(h === ss.slice(0, dot) ? "unchanged" : "changed");
  });
})();
</script>`;
  }

  for (const { server, loop } of servers) {
    server.on("request", (req, res) => {
      handle(req, res, loop).catch((err) => {
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "text/plain", "access-control-allow-origin": req.headers.origin ?? "*" });
          res.end(`profile provider failure: ${err.stack ?? err.message}`);
        } else res.destroy();
      });
    });
  }

  return {
    name,
    profile,
    behaviour: b,
    issuer,
    /** The issuer a client configures: for Entra common/organizations the authority URL. */
    configIssuer: multiTenant ? rw(profile.discovery_url).replace(/\/\.well-known\/openid-configuration$/, "") : issuer,
    multiTenant,
    advertisedIss,
    clientId,
    discovery,
    discoveryUrl: rw(profile.discovery_url),
    endpoints,
    /** real https origin -> loopback origin */
    origins: Object.fromEntries(originMap),
    keys,
    get user() {
      return user;
    },
    /** Replace the test user (from the example's claims plus these overrides) for the next logins. */
    setUser,
    tokenIssuer,
    /** The CORS allow-list of the token, userinfo and logout endpoints ("*" = any origin). */
    allowOrigins(list) {
      allowed = list === "*" ? "*" : [...list];
    },
    requests,
    discoveryRequests,
    jwksRequests,
    authorizeRequests,
    tokenRequests,
    userinfoRequests,
    logoutRequests,
    issued,
    /** Provider sessions (opts.sessions) */
    sessionsEnabled: sessionsMode,
    cookieNames,
    /** The sids of the live provider sessions. */
    get sessions() {
      return [...opSessions.values()].filter((s) => s.live).map((s) => s.sid);
    },
    /** One provider session's record (live or ended): { sid, user, opbs, authTime, live, endedBy, ... }. */
    session: (sid) => opSessions.get(sid) ?? null,
    /** Ends a provider session server side only (the browser's cookies stay as they are). */
    endSession: (sid) => endOpSession(sid, "endSession"),
    get frontChannelLogoutUris() {
      return frontChannel;
    },
    set frontChannelLogoutUris(list) {
      frontChannel = [list ?? []].flat();
    },
    frontChannelLoads,
    sessionStateFor,
    close: () =>
      Promise.all(servers.map(({ server }) => new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }))),
  };
}
