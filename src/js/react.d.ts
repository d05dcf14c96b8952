// pixy-oidc/react: React bindings. Peer dependency: react >= 18.
import type { ComponentType, ReactNode } from "react";
import type { Claims, LoginOptions, LogoutReason, Oidc, OidcConfig, OidcError, Tokens } from "./index.js";

type LogoutOptions = NonNullable<Parameters<Oidc["logout"]>[0]>;

export type OidcProviderProps = {
  /** Shown while the instance is being created (callback handling, session restore). */
  fallback?: ReactNode;
  /**
   * Shown when createOidc rejects (e.g. a login denied at the provider); without it a set-up
   * mistake (`invalid_config`, `insecure_context`, `wasm_load_failed`) is shown on the page and
   * any other error goes to the nearest error boundary. `retry()` calls createOidc again (the
   * URL no longer holds the failed response, so the app then starts, logged out).
   */
  errorFallback?: ReactNode | ((error: OidcError, retry: () => void) => ReactNode);
  children?: ReactNode;
} & (
  | {
      /** createOidc is called once per distinct configuration for the whole page. */
      config: OidcConfig;
      oidc?: undefined;
    }
  | {
      /** A ready instance (e.g. createMockOidc()) or a promise of one, created outside render. */
      oidc: Oidc | PromiseLike<Oidc>;
      config?: undefined;
    }
);

/** Makes an Oidc instance available to useOidc(); renders `fallback` until it is ready. */
export declare function OidcProvider(props: OidcProviderProps): ReactNode;

/** What useOidc() returns: an immutable snapshot; the functions keep their identity. */
export interface OidcState {
  oidc: Oidc;
  isLoggedIn: boolean;
  claims: Readonly<Claims> | null;
  /** The last `error` event's error, cleared by the next `tokensChanged`. */
  error: OidcError | null;
  /** True after a `sessionExpired` event, until the next login or logout. */
  sessionExpired: boolean;
  /**
   * During an idle warning, the ms left before the idle logout, updated about once a second
   * (`Math.ceil(idleMsLeft / 1000)` counts the seconds down); `null` when no warning is under
   * way (after `idleWarningCancelled`, a logout, or an ended session).
   */
  idleMsLeft: number | null;
  /** The reason of the last `loggedOut` event; `null` again after a login. */
  logoutReason: LogoutReason | null;
  /** With `popup: true`, a login in a popup (see Oidc.login); otherwise a full-page redirect. */
  login(options: LoginOptions & { popup: true }): Promise<void>;
  login(options?: LoginOptions): Promise<never>;
  /**
   * `login({ ...options, popup: true })`: resolves once logged in; rejects with `popup_blocked`,
   * `login_cancelled` or the login's error. Call it from a click handler.
   */
  loginWithPopup(options?: LoginOptions): Promise<void>;
  /** Oidc.reportActivity: counts as user activity for the idle logout. */
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

/** The nearest <OidcProvider>'s state; re-renders on every Oidc event. */
export declare function useOidc(): OidcState;

export interface RequireLoginProps {
  /**
   * Rendered while nobody is logged in: a login is under way, or, after a logout the user asked
   * for, an idle logout or a logout at the provider, until the user logs in (useOidc().logoutReason
   * says which; offer a login button there).
   */
  fallback?: ReactNode;
  /** Passed to login(); `redirectTo` defaults to the current URL. */
  loginOptions?: LoginOptions;
  children?: ReactNode;
}

/**
 * Renders its children for a logged-in user; otherwise starts one login (back to the current
 * URL), except after a logout the user asked for (which is leaving the page), an idle logout or
 * a logout at the provider: then it renders `fallback` until the user logs in.
 */
export declare function RequireLogin(props: RequireLoginProps): ReactNode;

/** Wraps a component in <RequireLogin>. */
export declare function withLoginRequired<P extends object>(
  Component: ComponentType<P>,
  options?: Omit<RequireLoginProps, "children">,
): ComponentType<P>;
