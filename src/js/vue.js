// pixy-oidc/vue: createOidcPlugin(), useOidc() and createLoginGuard() for vue-router.
//
// The plugin starts createOidc as soon as it is created, so that the authorization response is
// taken out of the URL before the router reads it: install the router after `plugin.ready`
// settles (it rejects when the start fails, e.g. a login denied at the provider; the app should
// still start and show `error`).
//
// A logout the user asked for drops the tokens before the page leaves for the provider; until
// it has left, the guard starts no login (its navigation would cancel the logout's). After an
// idle logout or a logout at the provider it starts none either, until the user logs in: the
// user stays on the app's pages (which can read `logoutReason`), not sent to the provider at once.
import { computed, inject, ref, shallowRef } from "vue";
import { createOidc } from "./index.js";
import { idleCountdown } from "./countdown.js";

/** The injection key under which the plugin provides its state. */
export const oidcKey = Symbol("pixy-oidc");

const isOidc = (x) =>
  x != null && typeof x === "object" && typeof x.subscribe === "function" && typeof x.login === "function";

/** Instances with a login under way (a real login leaves the page; the mock flips at once). */
let loginsInFlight = new WeakSet();
/**
 * Instances logged out by the user (plugin.logout, or a `loggedOut` event with `reason: "user"`),
 * for being idle or at the provider (`reason: "idle"` or `"provider"`): no guard starts a login
 * for them until somebody logs in again or the logout fails.
 */
let userLoggedOut = new WeakSet();
/** `loggedOut` reasons after which the guard waits for the user to log in. */
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

function startLogin(oidc, options) {
  if (loginsInFlight.has(oidc)) return;
  loginsInFlight.add(oidc);
  let result;
  try {
    result = oidc.login(options);
  } catch (e) {
    result = Promise.reject(e);
  }
  Promise.resolve(result).then(
    () => loginsInFlight.delete(oidc),
    (e) => {
      loginsInFlight.delete(oidc);
      console.error("pixy-oidc: login failed", e);
    },
  );
}

/**
 * `app.use(createOidcPlugin(config))`, or with an instance (e.g. createMockOidc()) or a promise
 * of one. The returned plugin carries the same state and functions as useOidc(), plus `ready`.
 */
export function createOidcPlugin(source) {
  if (source == null) throw new TypeError("createOidcPlugin(config): a config or an Oidc instance is required");
  const instance = shallowRef(null);
  const isLoggedIn = ref(false);
  const claims = shallowRef(null);
  const error = shallowRef(null);
  const sessionExpired = ref(false);
  const idleMsLeft = ref(null);
  const logoutReason = ref(null);

  // The idle warning's countdown.
  const countdown = idleCountdown((left) => (idleMsLeft.value = left));
  const stopCountdown = () => countdown.stop();

  function attach(oidc) {
    const sync = () => {
      isLoggedIn.value = Boolean(oidc.isLoggedIn);
      claims.value = oidc.claims ?? null;
    };
    sync();
    oidc.subscribe((event) => {
      loginsInFlight.delete(oidc);
      sync();
      switch (event.type) {
        case "idleWarning":
          countdown.start(event.msLeft);
          return;
        case "idleWarningCancelled":
          stopCountdown();
          return;
        case "tokensChanged":
          userLoggedOut.delete(oidc);
          error.value = null;
          if (oidc.isLoggedIn) logoutReason.value = null;
          break;
        case "loggedOut":
          if (NO_AUTO_LOGIN.has(event.reason)) userLoggedOut.add(oidc);
          logoutReason.value = event.reason ?? (userLoggedOut.has(oidc) ? "user" : null);
          stopCountdown();
          break;
        case "sessionExpired":
          stopCountdown();
          break;
        case "error":
          error.value = event.error ?? null;
          break;
      }
      if (event.type === "sessionExpired") sessionExpired.value = true;
      else if (event.type !== "error") sessionExpired.value = false;
    });
    instance.value = oidc;
    return oidc;
  }

  let ready;
  let failed = false;
  function start() {
    if (isOidc(source)) return Promise.resolve(attach(source));
    const pending = typeof source.then === "function" ? Promise.resolve(source) : createOidc(source);
    const p = pending.then(
      (oidc) => {
        failed = false;
        // A retry that worked: the failed start's error is over.
        error.value = null;
        return attach(oidc);
      },
      (e) => {
        failed = true;
        error.value = e;
        // A mistake in the app's set-up reaches the developer even where no template shows
        // `error`.
        if (["invalid_config", "insecure_context", "wasm_load_failed"].includes(e?.code)) {
          console.error(`pixy-oidc: ${e.code}: ${e.message}`);
        }
        throw e;
      },
    );
    // The rejection is reported through `error`; whoever awaits `ready` still sees it.
    p.catch(() => {});
    return p;
  }
  ready = start();

  /** `ready`, or after a failed start from a config, a new start (the URL is clean by now). */
  function retry() {
    if (failed && !isOidc(source) && typeof source.then !== "function") {
      failed = false;
      ready = start();
    }
    return ready;
  }

  // Once the instance is there, the call is made at once, not a microtask later: a popup login
  // must start in the click handler, or the browser may block the popup.
  const withOidc =
    (f) =>
    (...args) => {
      const o = instance.value;
      return o ? attempt(() => f(o, ...args)) : retry().then((r) => f(r, ...args));
    };
  const state = {
    get ready() {
      return ready;
    },
    retry,
    oidc: computed(() => instance.value),
    isReady: computed(() => instance.value !== null),
    isLoggedIn: computed(() => isLoggedIn.value),
    claims: computed(() => claims.value),
    error: computed(() => error.value),
    sessionExpired: computed(() => sessionExpired.value),
    idleMsLeft: computed(() => idleMsLeft.value),
    logoutReason: computed(() => logoutReason.value),
    login: withOidc((o, options) => o.login(options)),
    loginWithPopup: withOidc((o, options) => o.login({ ...options, popup: true })),
    /** Counts as user activity for the idle logout; nothing before the instance is ready. */
    reportActivity() {
      instance.value?.reportActivity?.();
    },
    logout: withOidc((o, options) => {
      userLoggedOut.add(o);
      let result;
      try {
        result = Promise.resolve(o.logout(options));
      } catch (e) {
        result = Promise.reject(e);
      }
      return result.catch((e) => {
        // The page did not leave: protected routes may ask for a login again.
        userLoggedOut.delete(o);
        throw e;
      });
    }),
    getTokens: withOidc((o) => o.getTokens()),
    renewTokens: withOidc((o) => o.renewTokens()),
    getUserInfo: withOidc((o) => o.getUserInfo()),
    fetch: withOidc((o, input, init) => o.fetch(input, init)),
    createDPoPProof: withOidc((o, options) => o.createDPoPProof(options)),
  };
  const plugin = Object.defineProperties({}, Object.getOwnPropertyDescriptors(state));
  plugin.install = (app) => {
    app.provide(oidcKey, state);
  };
  return Object.freeze(plugin);
}

/**
 * The plugin's reactive state (`isLoggedIn`, `claims`, ... as read-only refs) and functions.
 * Call it in `setup()` (or inside `app.runWithContext()`).
 */
export function useOidc() {
  const state = inject(oidcKey, null);
  if (!state) throw new Error("useOidc() needs app.use(createOidcPlugin(...)) first");
  return state;
}

/**
 * A vue-router navigation guard: `router.beforeEach(createLoginGuard(plugin))`. Routes with
 * `meta.requiresLogin` (on the route or a parent) wait for the plugin to be ready and, when
 * nobody is logged in, start a login that comes back to the route. Pass `router` when the history
 * has a base, so the return URL includes it. After a failed start (a denied login, say), a
 * protected route starts createOidc again, then the login. While a logout the user asked for is
 * leaving the page, and after an idle logout or a logout at the provider until the user logs in
 * again, protected routes are refused without a login.
 */
export function createLoginGuard(plugin, options = {}) {
  const isProtected =
    options.isProtected ?? ((to) => (to.matched ?? [to]).some((record) => Boolean(record.meta?.requiresLogin)));
  return async (to) => {
    if (!isProtected(to)) return true;
    let oidc;
    try {
      oidc = await (typeof plugin.retry === "function" ? plugin.retry() : plugin.ready);
    } catch {
      return false;
    }
    if (oidc.isLoggedIn) return true;
    if (userLoggedOut.has(oidc)) return false;
    const redirectTo = options.router ? options.router.resolve(to.fullPath).href : to.fullPath;
    startLogin(oidc, { ...options.loginOptions, redirectTo });
    // A real login leaves the page, so the navigation is cancelled; the mock logs in at once.
    return Boolean(oidc.isLoggedIn);
  };
}
