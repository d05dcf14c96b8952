// pixy-oidc/vue: createOidcPlugin(), useOidc() and createLoginGuard() for vue-router.
//
// The plugin starts createOidc as soon as it is created, so that the authorization response is
// taken out of the URL before the router reads it: install the router after `plugin.ready`
// settles (it rejects when the start fails, e.g. a login denied at the provider; the app should
// still start and show `error`).
//
// A logout the user asked for drops the tokens before the page leaves for the provider; until
// it has left, the guard starts no login (its navigation would cancel the logout's).
import { computed, inject, ref, shallowRef } from "vue";
import { createOidc } from "./index.js";

/** The injection key under which the plugin provides its state. */
export const oidcKey = Symbol("pixy-oidc");

const isOidc = (x) =>
  x != null && typeof x === "object" && typeof x.subscribe === "function" && typeof x.login === "function";

/** Instances with a login under way (a real login leaves the page; the mock flips at once). */
let loginsInFlight = new WeakSet();
/**
 * Instances logged out by the user (plugin.logout, or a `loggedOut` event with `reason: "user"`):
 * no guard starts a login for them until somebody logs in again or the logout fails.
 */
let userLoggedOut = new WeakSet();
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

  function attach(oidc) {
    const sync = () => {
      isLoggedIn.value = Boolean(oidc.isLoggedIn);
      claims.value = oidc.claims ?? null;
    };
    sync();
    oidc.subscribe((event) => {
      loginsInFlight.delete(oidc);
      if (event.type === "tokensChanged") userLoggedOut.delete(oidc);
      else if (event.type === "loggedOut" && event.reason === "user") userLoggedOut.add(oidc);
      sync();
      if (event.type === "error") error.value = event.error ?? null;
      else if (event.type === "tokensChanged") error.value = null;
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

  const withOidc = (f) => async (...args) => f(await retry(), ...args);
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
    login: withOidc((o, options) => o.login(options)),
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
 * leaving the page, protected routes are refused without a login.
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
