// pixy-oidc/react: React bindings. Peer dependency: react >= 18.
import type { ComponentType, ReactNode } from "react";
import type { Claims, Oidc, OidcConfig, OidcError, Tokens } from "./index.js";

type LoginOptions = NonNullable<Parameters<Oidc["login"]>[0]>;
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

/** The nearest <OidcProvider>'s state; re-renders on every Oidc event. */
export declare function useOidc(): OidcState;

export interface RequireLoginProps {
  /** Rendered while nobody is logged in (a login is under way). */
  fallback?: ReactNode;
  /** Passed to login(); `redirectTo` defaults to the current URL. */
  loginOptions?: LoginOptions;
  children?: ReactNode;
}

/**
 * Renders its children for a logged-in user; otherwise starts one login (back to the current
 * URL), except after a logout the user asked for, which is leaving the page.
 */
export declare function RequireLogin(props: RequireLoginProps): ReactNode;

/** Wraps a component in <RequireLogin>. */
export declare function withLoginRequired<P extends object>(
  Component: ComponentType<P>,
  options?: Omit<RequireLoginProps, "children">,
): ComponentType<P>;
