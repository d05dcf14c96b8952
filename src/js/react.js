// pixy-oidc/react: <OidcProvider>, useOidc(), <RequireLogin> and withLoginRequired().
//
// StrictMode runs effects twice on mount. Nothing here does anything twice because of that:
// instances are shared per configuration (one createOidc call per config for the whole page), the
// store subscribes once per instance, and a login started for an instance is not started again
// until that instance reports a change.
//
// A logout the user asked for drops the tokens before the page leaves for the provider's
// end-session endpoint. <RequireLogin> then sees nobody logged in; it must not start a login,
// whose navigation would cancel the logout's (and the user would be back, logged in). After an
// idle logout or a logout at the provider it starts none either: the user is shown the app's
// logged-out page (its `fallback`, which can read `logoutReason`), not sent to the provider's
// login page at once; a login button (login or loginWithPopup) lifts this.
import {
  createContext,
  createElement,
  useContext,
  useEffect,
  useState,
  useSyncExternalStore,
} from "react";
import { createOidc } from "./index.js";
import { configKey } from "./config-key.js";
import { idleCountdown } from "./countdown.js";

const OidcContext = createContext(null);
OidcContext.displayName = "OidcContext";

const isOidc = (x) =>
  x != null && typeof x === "object" && typeof x.subscribe === "function" && typeof x.login === "function";

/** config key -> Promise<Oidc>: one createOidc call per configuration per page. */
const instances = new Map();

function obtain(config) {
  const key = configKey(config);
  let promise = instances.get(key);
  if (!promise) {
    promise = createOidc(config);
    instances.set(key, promise);
    // A failed start may be retried by mounting the provider again.
    promise.catch(() => {
      if (instances.get(key) === promise) instances.delete(key);
    });
  }
  return promise;
}

/** Instances with a login under way (a real login leaves the page; the mock flips at once). */
let loginsInFlight = new WeakSet();
/**
 * Instances for which no <RequireLogin> may start a login until somebody logs in again: logged
 * out by the user (through useOidc().logout, or a `loggedOut` event with `reason: "user"`; a real
 * logout is leaving the page for the provider, unless it fails), for being idle, or at the
 * provider (`reason: "idle"` or `"provider"`).
 */
let userLoggedOut = new WeakSet();
/** `loggedOut` reasons after which <RequireLogin> waits for the user to log in. */
const NO_AUTO_LOGIN = new Set(["user", "idle", "provider"]);
// Back from the provider's page into a page restored from the back/forward cache: that login
// or logout is over, and the next protected route or login button must be able to start another.
if (typeof addEventListener === "function") {
  addEventListener("pageshow", (event) => {
    if (event.persisted) {
      loginsInFlight = new WeakSet();
      userLoggedOut = new WeakSet();
    }
  });
}

/** Calls a function that returns a promise; a synchronous throw becomes a rejection. */
function attempt(f) {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e);
  }
}

/** oidc -> external store for useSyncExternalStore. */
const stores = new WeakMap();

function storeFor(oidc) {
  let store = stores.get(oidc);
  if (store) return store;
  const listeners = new Set();
  const actions = {
    oidc,
    login: (options) => oidc.login(options),
    logout: (options) => {
      userLoggedOut.add(oidc);
      return attempt(() => oidc.logout(options)).catch((e) => {
        // The page did not leave: protected content may ask for a login again.
        userLoggedOut.delete(oidc);
        throw e;
      });
    },
    getTokens: () => oidc.getTokens(),
    renewTokens: () => oidc.renewTokens(),
    getUserInfo: () => oidc.getUserInfo(),
    // A synchronous throw (an instance without these members) becomes a rejection, as a
    // failed fetch would be.
    fetch: (input, init) => attempt(() => oidc.fetch(input, init)),
    createDPoPProof: (options) => attempt(() => oidc.createDPoPProof(options)),
    // Called synchronously, in the click handler, so that the browser lets the popup open.
    loginWithPopup: (options) => attempt(() => oidc.login({ ...options, popup: true })),
    reportActivity: () => {
      oidc.reportActivity?.();
    },
  };
  const state = { error: null, sessionExpired: false, idleMsLeft: null, logoutReason: null };
  const snap = () => Object.freeze({ ...actions, isLoggedIn: oidc.isLoggedIn, claims: oidc.claims ?? null, ...state });
  let snapshot = snap();
  const publish = () => {
    snapshot = snap();
    for (const listener of [...listeners]) listener();
  };

  // The idle warning's countdown; each tick re-renders.
  const countdown = idleCountdown((left) => {
    state.idleMsLeft = left;
    publish();
  });
  const stopCountdown = () => countdown.stop();

  // One subscription per instance for the page's lifetime: instances are long-lived singletons.
  oidc.subscribe((event) => {
    loginsInFlight.delete(oidc);
    switch (event.type) {
      case "idleWarning":
        countdown.start(event.msLeft);
        break;
      case "idleWarningCancelled":
        stopCountdown();
        break;
      case "tokensChanged":
        userLoggedOut.delete(oidc);
        state.error = null;
        state.sessionExpired = false;
        if (oidc.isLoggedIn) state.logoutReason = null;
        break;
      case "loggedOut":
        if (NO_AUTO_LOGIN.has(event.reason)) userLoggedOut.add(oidc);
        state.logoutReason = event.reason ?? (userLoggedOut.has(oidc) ? "user" : null);
        state.sessionExpired = false;
        stopCountdown();
        break;
      case "sessionExpired":
        state.sessionExpired = true;
        stopCountdown();
        break;
      case "error":
        state.error = event.error ?? null;
        break;
      default:
        state.sessionExpired = false;
    }
    publish();
  });
  store = {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    getSnapshot() {
      // Events carry every change; this only guards against a change made without one.
      if (snapshot.isLoggedIn !== oidc.isLoggedIn) snapshot = snap();
      return snapshot;
    },
  };
  stores.set(oidc, store);
  return store;
}

/**
 * Makes an Oidc instance available to useOidc() below it. Give either `config` (createOidc is
 * called once per configuration, however often this renders or mounts) or `oidc` (an instance,
 * e.g. from createMockOidc(), or a promise of one). Renders `fallback` until the instance is
 * ready; if createOidc rejects (e.g. the user denied the login at the provider), renders
 * `errorFallback` (a node, or a function of the error and `retry`, which calls createOidc again:
 * the URL no longer holds the failed response, so the app then starts logged out). Without
 * `errorFallback`, a mistake in the app's set-up (`invalid_config`, `insecure_context`,
 * `wasm_load_failed`) is shown on the page, so the developer never stares at a blank page; any
 * other OidcError is thrown to the nearest error boundary.
 */
/** Errors that come from the app's own set-up, not from the user or the provider. */
const SETUP_MISTAKES = new Set(["invalid_config", "insecure_context", "wasm_load_failed"]);

export function OidcProvider({ config, oidc, fallback = null, errorFallback, children }) {
  if (oidc == null && config == null) throw new TypeError("<OidcProvider> needs a `config` or an `oidc` prop");
  const ready = isOidc(oidc) ? oidc : null;
  const [attempts, setAttempts] = useState(0);
  const key = ready ? null : oidc ?? `${attempts}:${configKey(config)}`;
  const [state, setState] = useState({ key: null, oidc: null, error: null });

  useEffect(() => {
    if (key === null) return undefined;
    let active = true;
    const promise = oidc != null ? Promise.resolve(oidc) : obtain(config);
    promise.then(
      (instance) => active && setState((s) => (s.key === key && s.oidc === instance ? s : { key, oidc: instance, error: null })),
      (error) => active && setState((s) => (s.key === key && s.error === error ? s : { key, oidc: null, error })),
    );
    return () => {
      active = false;
    };
    // `key` stands for `config` (by value) and `oidc` (by identity).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  const current = ready ?? (state.key === key ? state.oidc : null);
  if (!current) {
    if (state.key === key && state.error) {
      if (errorFallback === undefined) {
        if (!SETUP_MISTAKES.has(state.error.code)) throw state.error;
        return createElement(
          "p",
          { role: "alert", "data-pixy-oidc-error": state.error.code },
          `pixy-oidc: ${state.error.code}: ${state.error.message}`,
        );
      }
      const retry = () => setAttempts((n) => n + 1);
      return typeof errorFallback === "function" ? errorFallback(state.error, retry) : errorFallback;
    }
    return fallback;
  }
  return createElement(OidcContext.Provider, { value: current }, children);
}

/**
 * The state of the nearest <OidcProvider>'s instance; re-renders on every event, and about once
 * a second during an idle warning (`idleMsLeft`). The returned object is immutable and its
 * functions keep their identity, so they are safe in dependency arrays.
 */
export function useOidc() {
  const oidc = useContext(OidcContext);
  if (!oidc) throw new Error("useOidc() must be called inside <OidcProvider>");
  const store = storeFor(oidc);
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}

function currentPath() {
  return typeof location === "undefined" ? undefined : location.pathname + location.search + location.hash;
}

/**
 * Renders `children` only for a logged-in user. Otherwise renders `fallback` and starts one
 * login (back to the current URL unless `loginOptions.redirectTo` says otherwise), except after
 * a logout the user asked for (that logout is leaving the page, and a login would cancel it),
 * an idle logout or a logout at the provider: then `fallback` stays until the user logs in.
 */
export function RequireLogin({ children, fallback = null, loginOptions }) {
  const { oidc, isLoggedIn } = useOidc();
  const [error, setError] = useState(null);
  useEffect(() => {
    // Read live: under StrictMode the second run still sees this render's `isLoggedIn`.
    if (isLoggedIn || oidc.isLoggedIn || loginsInFlight.has(oidc) || userLoggedOut.has(oidc)) return;
    loginsInFlight.add(oidc);
    let result;
    try {
      result = oidc.login({ ...loginOptions, redirectTo: loginOptions?.redirectTo ?? currentPath() });
    } catch (e) {
      result = Promise.reject(e);
    }
    Promise.resolve(result).then(
      () => loginsInFlight.delete(oidc),
      (e) => {
        loginsInFlight.delete(oidc);
        setError(() => e);
      },
    );
    // Options are read when the login starts; changing them later does not start another.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [oidc, isLoggedIn]);
  if (error) throw error;
  return isLoggedIn ? children : fallback;
}

/** `withLoginRequired(Component, { fallback, loginOptions })`: Component inside <RequireLogin>. */
export function withLoginRequired(Component, options = {}) {
  function WithLoginRequired(props) {
    return createElement(RequireLogin, options, createElement(Component, props));
  }
  WithLoginRequired.displayName = `withLoginRequired(${Component.displayName || Component.name || "Component"})`;
  return WithLoginRequired;
}
