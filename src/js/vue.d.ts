// pixy-oidc/vue: Vue 3 bindings. Peer dependency: vue >= 3.3.
import type { App, ComputedRef, InjectionKey } from "vue";
import type { Claims, Oidc, OidcConfig, OidcError, Tokens } from "./index.js";

type LoginOptions = NonNullable<Parameters<Oidc["login"]>[0]>;
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
  /** The functions wait for `ready` (retrying a failed start first). */
  login(options?: LoginOptions): Promise<never>;
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

/** `router.beforeEach(createLoginGuard(plugin))`: protected routes need a logged-in user. */
export declare function createLoginGuard(
  plugin: { readonly ready: Promise<Oidc>; retry?(): Promise<Oidc> },
  options?: LoginGuardOptions,
): (to: GuardedRoute) => Promise<boolean>;
