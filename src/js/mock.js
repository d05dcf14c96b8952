// pixy-oidc/mock: an in-memory stand-in for an `Oidc` instance, for app tests and demos that run
// without a provider. It has the same members as the real thing; login() and logout() flip the
// state at once and emit the events a real login or logout would. It never loads the wasm: it
// imports only the core's wasm-free error class, so `err instanceof OidcError` holds.
import { OidcError } from "./errors.js";

/** @deprecated The mock throws the core's own OidcError; this name stays for compatibility. */
export const MockOidcError = OidcError;

const DEFAULT_CLAIMS = Object.freeze({
  sub: "mock-user",
  name: "Mock User",
  preferred_username: "mock-user",
  email: "mock-user@example.test",
  email_verified: true,
});

const base64url = (text) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

/** An unsigned (`alg: none`) JWT carrying the claims: readable by app code, valid nowhere. */
function fakeJwt(claims) {
  return `${base64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${base64url(JSON.stringify(claims))}.`;
}

const never = () => new Promise(() => {});

/**
 * @param {import("./mock.d.ts").MockOidcOptions} [options]
 * @returns {import("./mock.d.ts").MockOidc}
 */
export function createMockOidc(options = {}) {
  const lifetimeMs = (options.accessTokenLifetimeSeconds ?? 3600) * 1000;
  let loginClaims = options.claims ?? DEFAULT_CLAIMS;
  let isLoggedIn = Boolean(options.isLoggedIn);
  let claims = null;
  let tokens = null;
  let issued = 0;
  const listeners = new Set();

  /** The given claims, completed with the registered ones an ID token always has. */
  function completeClaims(given) {
    const now = Math.floor(Date.now() / 1000);
    return Object.freeze({ iss: "https://mock.invalid", aud: "mock-client", iat: now, exp: now + lifetimeMs / 1000, ...given });
  }

  function issueTokens() {
    issued += 1;
    const now = Date.now();
    tokens = Object.freeze({
      accessToken: `mock-access-token-${issued}`,
      idToken: fakeJwt(claims),
      tokenType: "Bearer",
      scope: "openid profile",
      accessTokenExpiresAt: now + lifetimeMs,
      ...(options.tokens ?? {}),
    });
  }
  if (isLoggedIn) {
    claims = completeClaims(loginClaims);
    issueTokens();
  }

  function emit(event) {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (e) {
        // A throwing listener must not stop the others, as with the real instance.
        if (typeof globalThis.reportError === "function") globalThis.reportError(e);
        else console.error(e);
      }
    }
  }

  const notLoggedIn = () =>
    Promise.reject(new OidcError("not_logged_in", "Expected a logged-in user, but nobody is logged in (mock)."));

  function signIn(newClaims) {
    if (newClaims) loginClaims = newClaims;
    isLoggedIn = true;
    claims = completeClaims(loginClaims);
    issueTokens();
    emit({ type: "tokensChanged" });
  }

  function signOut(event) {
    const was = isLoggedIn;
    isLoggedIn = false;
    claims = null;
    tokens = null;
    if (was || event.type === "loggedOut") emit(event);
  }

  const restoredVia = isLoggedIn ? "callback" : null;
  const mock = {
    get isLoggedIn() {
      return isLoggedIn;
    },
    /** "callback" when created logged in (as after a login's redirect back), else null. */
    get restoredVia() {
      return restoredVia;
    },
    get claims() {
      return claims;
    },
    /** Logs in at once (no redirect), emits `tokensChanged`, and never settles, like a redirect. */
    login(loginOptions = {}) {
      options.onLogin?.(loginOptions);
      if (!isLoggedIn) signIn();
      return never();
    },
    /** Logs out at once, emits `loggedOut` (reason "user"), and never settles, like a redirect. */
    logout(logoutOptions = {}) {
      options.onLogout?.(logoutOptions);
      signOut({ type: "loggedOut", reason: "user" });
      return never();
    },
    getTokens() {
      return isLoggedIn ? Promise.resolve(tokens) : notLoggedIn();
    },
    renewTokens() {
      if (!isLoggedIn) return notLoggedIn();
      issueTokens();
      emit({ type: "tokensChanged" });
      return Promise.resolve(tokens);
    },
    getUserInfo() {
      if (!isLoggedIn) return notLoggedIn();
      return Promise.resolve({ ...(options.userInfo ?? loginClaims) });
    },
    subscribe(listener) {
      if (typeof listener !== "function") throw new TypeError("subscribe(listener): listener must be a function");
      const entry = (event) => listener(event);
      listeners.add(entry);
      return () => {
        listeners.delete(entry);
      };
    },

    /** Forgets the listeners. */
    close() {
      listeners.clear();
    },

    // Test controls, beyond the Oidc interface.
    /** Logs in as if a login had just completed (optionally as someone else). */
    simulateLogin(newClaims) {
      signIn(newClaims);
    },
    /** Ends the session as the provider would: logged out, `sessionExpired` emitted. */
    expireSession() {
      signOut({ type: "sessionExpired" });
    },
    /** Emits an `error` event (a MockOidcError with this code unless an error is given). */
    emitError(errorOrCode = "network_error") {
      const error =
        typeof errorOrCode === "string"
          ? new OidcError(errorOrCode, `Simulated error ${errorOrCode} (mock).`)
          : errorOrCode;
      emit({ type: "error", error });
    },
  };
  return mock;
}
