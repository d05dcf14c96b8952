// pixy-oidc/vue: Vue 3 bindings. Peer dependency: vue >= 3.3.
import type { App, ComputedRef, InjectionKey } from "vue";
import type { Claims, LoginOptions, LogoutReason, Oidc, OidcConfig, OidcError, Tokens } from "./index.js";

type LogoutOptions = NonNullable<Parameters<Oidc["logout"]>[0]>;

/** The plugin's state: read-only refs that follow the Oidc events, and the Oidc functions. */
export interface OidcState {
  /**
   * Settles when createOidc does: install the router after it, so it sees the cleaned URL. It
   * rejects when the start fails (e.g. a login denied at the provider): `error` then says why.
   * After retry(), the promise of the new start.
   */
  readonly ready: Promise<Oidc>;
  /**
   * After a failed start from a config, calls createOidc again (the URL is clean by now) and
   * returns the new `ready`; otherwise returns `ready`. The functions below and the login guard
   * call it for you.
   */
  retry(): Promise<Oidc>;
  readonly oidc: ComputedRef<Oidc | null>;
  readonly isReady: ComputedRef<boolean>;
  readonly isLoggedIn: ComputedRef<boolean>;
  readonly claims: ComputedRef<Readonly<Claims> | null>;
  /** createOidc's rejection, or the last `error` event's error (cleared by `tokensChanged`). */
  readonly error: ComputedRef<OidcError | null>;
  /** True after a `sessionExpired` event, until the next login or logout. */
  readonly sessionExpired: ComputedRef<boolean>;
  /**
   * During an idle warning, the ms left before the idle logout, updated about once a second
   * (`Math.ceil(idleMsLeft / 1000)` counts the seconds down); `null` when no warning is under
   * way (after `idleWarningCancelled`, a logout, or an ended session).
   */
  readonly idleMsLeft: ComputedRef<number | null>;
  /** The reason of the last `loggedOut` event; `null` again after a login. */
  readonly logoutReason: ComputedRef<LogoutReason | null>;
  /**
   * The functions wait for `ready` (retrying a failed start first); once it is there, they call
   * the instance at once. With `popup: true`, a login in a popup (see Oidc.login).
   */
  login(options: LoginOptions & { popup: true }): Promise<void>;
  login(options?: LoginOptions): Promise<never>;
  /**
   * `login({ ...options, popup: true })`: resolves once logged in; rejects with `popup_blocked`,
   * `login_cancelled` or the login's error. Call it from a click handler.
   */
  loginWithPopup(options?: LoginOptions): Promise<void>;
  /** Oidc.reportActivity: counts as user activity for the idle logout (nothing before `ready`). */
  reportActivity(): void;
  logout(options?: LogoutOptions): Promise<never>;
  getTokens(): Promise<Tokens>;
  renewTokens(): Promise<Tokens>;
  getUserInfo(): ReturnType<Oidc["getUserInfo"]>;
  /** `fetch` with the access token (and a DPoP proof with `dpop: true`); see Oidc.fetch. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** A DPoP proof for one request, for other HTTP clients; see Oidc.createDPoPProof. */
  createDPoPProof(request: { method: string; url: string | URL }): Promise<string>;
}

export interface OidcPlugin extends OidcState {
  install(app: App): void;
}

export declare const oidcKey: InjectionKey<OidcState>;

/** `app.use(createOidcPlugin(config))`; also takes an instance (e.g. createMockOidc()) or a promise of one. */
export declare function createOidcPlugin(source: OidcConfig | Oidc | PromiseLike<Oidc>): OidcPlugin;

/** The plugin's state, in setup(). */
export declare function useOidc(): OidcState;

/** The parts of a vue-router route location the guard reads. */
export interface GuardedRoute {
  fullPath: string;
  meta?: Record<PropertyKey, unknown>;
  matched?: ReadonlyArray<{ meta?: Record<PropertyKey, unknown> }>;
}

export interface LoginGuardOptions {
  /** Default: `meta.requiresLogin` on the route or one of its parents. */
  isProtected?(to: GuardedRoute): boolean;
  /** The router, when its history has a base: the return URL is then `router.resolve(to).href`. */
  router?: { resolve(to: string): { href: string } };
  /** Passed to login(); `redirectTo` is the guarded route. */
  loginOptions?: Omit<LoginOptions, "redirectTo">;
}

/**
 * `router.beforeEach(createLoginGuard(plugin))`: protected routes need a logged-in user. After a
 * logout the user asked for, an idle logout or a logout at the provider, protected routes are
 * refused without starting a login, until the user logs in (`login`, `loginWithPopup`).
 */
export declare function createLoginGuard(
  plugin: { readonly ready: Promise<Oidc>; retry?(): Promise<Oidc> },
  options?: LoginGuardOptions,
): (to: GuardedRoute) => Promise<boolean>;
