/** pixy-oidc: OpenID Connect for single-page apps. See docs/API.md. */

export type SessionRestore = "auto" | "iframe" | "redirect" | "none";

export interface OidcConfig {
  /** The provider's issuer URL, compared exactly (trailing slash included). */
  issuer: string;
  /** A public client id: there is never a client secret. */
  clientId: string;
  /** Default: `location.origin + location.pathname`. */
  redirectUri?: string;
  /** Default `["openid", "profile"]`; `openid` is always sent. */
  scopes?: string[];
  /** Default: `redirectUri`. */
  postLogoutRedirectUri?: string;
  /** Added to every authorization request (`audience`, `ui_locales`, ...). */
  extraAuthParams?: Record<string, string>;
  /** Page loaded inside the hidden iframe. Default: `redirectUri`. */
  silentRedirectUri?: string;
  /** Default `"auto"`. */
  sessionRestore?: SessionRestore;
  /** Tolerance for `exp` / `iat`, default 60. */
  clockSkewSeconds?: number;
  /** Accept Entra's `{tenantid}` issuer template for `common` / `organizations`. */
  entraMultiTenant?: { tenants: string[] | "any" };
  /** For providers whose logout endpoint is not in discovery. */
  endSessionEndpoint?: string;
  /** Added to the logout redirect (Cognito's `logout_uri`, ...). */
  extraLogoutParams?: Record<string, string>;
  /** How long a silent (iframe) request may take, default 10000 ms. */
  silentTimeoutMs?: number;
  /** How long one HTTP request may take, default 15000 ms. */
  httpTimeoutMs?: number;
  /** Narrates the session engine's decisions in the console (`console.info`); never a token. */
  debug?: boolean;
  /**
   * DPoP (RFC 9449): tokens bound to a non-extractable key held in memory; a resource server must
   * accept `Authorization: DPoP` (use `oidc.fetch` or `createDPoPProof`). Default `false`.
   */
  dpop?: boolean;
  /**
   * Pushed authorization requests (RFC 9126). `"auto"` (default): when the discovery document says
   * `require_pushed_authorization_requests`; `"always"`; `"never"`.
   */
  par?: "auto" | "always" | "never";
  /**
   * Idle logout: after this long without user activity (pointer, keys, scroll, focus, or
   * `reportActivity()`, in any tab of the app) the user is logged out in every tab, with
   * `loggedOut` reason `"idle"`. Unset (default): no idle logout.
   */
  idleTimeoutMs?: number;
  /**
   * How long before the idle logout the `idleWarning` event fires: default 60000 ms, or half of
   * an `idleTimeoutMs` shorter than two minutes.
   */
  idleWarningMs?: number;
  /**
   * `true` (default): the idle logout also ends the provider session (RP-initiated logout: the
   * page leaves for the provider); `false`: it forgets the tokens only, and the page stays.
   */
  idleLogoutAtProvider?: boolean;
  /**
   * OIDC Session Management: how often the provider's `check_session_iframe` is asked whether
   * the user is still logged in there, default 5000 ms; `0` turns the polling off. A logout at the
   * provider ends the session here (`loggedOut` reason `"provider"`).
   */
  sessionCheckIntervalMs?: number;
  /**
   * A page of this app that the provider loads in an iframe when the user logs out there
   * (register it as the client's front-channel logout URI): the user is then logged out in every
   * tab (`loggedOut` reason `"provider"`).
   */
  frontChannelLogoutUri?: string;
}

export interface Tokens {
  /** For `Authorization: <tokenType> <accessToken>`; with `"DPoP"`, only together with a proof. */
  accessToken: string;
  idToken: string;
  /** `"DPoP"` when the access token is bound to this session's DPoP key (`dpop: true`). */
  tokenType: "Bearer" | "DPoP";
  scope?: string;
  /** Epoch milliseconds; `null` when the provider gave no `expires_in`. */
  accessTokenExpiresAt: number | null;
}

/** The validated ID token claims. */
export interface Claims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  [claim: string]: unknown;
}

export type OidcErrorCode =
  | "invalid_config"
  | "network_error"
  | "timeout"
  | "http_error"
  | "invalid_response"
  | "invalid_metadata"
  | "issuer_mismatch"
  | "state_mismatch"
  | "provider_error"
  | "invalid_id_token"
  | "invalid_userinfo"
  | "not_logged_in"
  | "login_required"
  | "session_expired"
  | "crypto_error"
  | "insecure_context"
  | "storage_error"
  | "invalid_redirect_to"
  | "client_secret_required"
  | "wasm_load_failed"
  | "popup_blocked"
  | "login_cancelled"
  | "internal_error";

export declare class OidcError extends Error {
  constructor(code: OidcErrorCode, message: string, details?: { error?: string; errorDescription?: string });
  readonly name: "OidcError";
  readonly code: OidcErrorCode;
  /** The provider's own `error`, when it sent one. */
  readonly error?: string;
  /** The provider's own `error_description`, when it sent one. */
  readonly errorDescription?: string;
}

/**
 * Why a `loggedOut` event came: `"user"`: `logout()` in this tab; `"otherTab"`: a logout in
 * another tab; `"idle"`: the idle logout (`idleTimeoutMs`); `"provider"`: the user logged out at
 * the provider (noticed by session checks or a front-channel logout).
 */
export type LogoutReason = "user" | "otherTab" | "idle" | "provider";

export type OidcEvent =
  | { type: "tokensChanged" }
  | { type: "loggedOut"; reason: LogoutReason }
  | { type: "sessionExpired"; error?: OidcError }
  | { type: "error"; error: OidcError }
  /**
   * The idle logout comes in `msLeft` ms (`idleWarningMs` before it), in every tab; activity in
   * any tab cancels it (`idleWarningCancelled`).
   */
  | { type: "idleWarning"; msLeft: number }
  /** Activity in some tab cancelled the idle warning: no idle logout now. */
  | { type: "idleWarningCancelled" };

export interface LoginOptions {
  /** Where the user lands after the callback; same-origin only. */
  redirectTo?: string;
  /** Added to this authorization request only. */
  extraAuthParams?: Record<string, string>;
}

export interface LogoutOptions {
  /** Sent as `post_logout_redirect_uri` (must be registered at the provider); same-origin only. */
  redirectTo?: string;
}

/** How `createOidc` found the session (`null`: nobody is logged in, or a login's own callback failed). */
export type RestoredVia = "callback" | "otherTab" | "iframe" | "redirect" | null;

export interface Oidc {
  readonly isLoggedIn: boolean;
  /**
   * `"callback"`: this page is the login's redirect back; `"otherTab"`: another open tab handed
   * its session over; `"iframe"`: the hidden `prompt=none` iframe; `"redirect"`: the one silent
   * top-level `prompt=none` redirect; `null`: logged out.
   */
  readonly restoredVia: RestoredVia;
  readonly claims: Readonly<Claims> | null;
  /**
   * With `popup: true`: the provider opens in a popup and the page stays. Resolves once the user
   * is logged in, in every tab (`isLoggedIn` and `claims` are up to date, `tokensChanged` was
   * emitted). Call it from a click handler, or the browser may block the popup. Rejects with
   * `popup_blocked` (the browser refused to open it; at once), `login_cancelled` (the user closed
   * it), or the error of the login itself.
   */
  login(options: LoginOptions & { popup: true }): Promise<void>;
  /** Full-page redirect to the provider. `redirectTo` must be same-origin. */
  login(options?: LoginOptions): Promise<never>;
  /** Fresh tokens: renews first when the access token expires soon. */
  getTokens(): Promise<Tokens>;
  /** Forces a renewal. */
  renewTokens(): Promise<Tokens>;
  /** The userinfo endpoint; its `sub` must equal the ID token's. */
  getUserInfo(): Promise<Record<string, unknown> & { sub: string }>;
  /** Forgets the tokens, then RP-initiated logout at the provider. */
  logout(options?: LogoutOptions): Promise<never>;
  /**
   * Counts as user activity for the idle logout (`idleTimeoutMs`), as pointer, keys, scroll and
   * focus in any tab do: for activity the page cannot see (a video playing, a long upload).
   * Cancels an idle warning under way.
   */
  reportActivity(): void;
  /**
   * `fetch` with the access token: `Authorization: DPoP <token>` and a fresh `DPoP` proof (with
   * `dpop: true`), else `Authorization: Bearer <token>`. Renews first when the renewal is due;
   * retries once on a resource server's `use_dpop_nonce` (401 with `DPoP-Nonce`) or on a 401
   * right after another tab renewed. Rejects with `not_logged_in` when nobody is logged in.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /**
   * A DPoP proof (the `DPoP` header's value) for one request with the current access token
   * (`ath`), for apps with their own HTTP client; send it with `Authorization: DPoP <accessToken>`.
   * Rejects with `invalid_config` without `dpop: true`, with `not_logged_in` when nobody is logged in.
   */
  createDPoPProof(request: { method: string; url: string | URL }): Promise<string>;
  /**
   * Calls `listener` with every event; returns the unsubscribe function. Events of the start
   * (an `error` when the hidden iframe stayed on the provider's page) are delivered, right after
   * `subscribe` returns, to each listener that subscribes in the task in which `createOidc`
   * resolved (`const oidc = await createOidc(...); oidc.subscribe(...)`), or else to the first
   * listener that subscribes later.
   */
  subscribe(listener: (event: OidcEvent) => void): () => void;
  /** Lets go of everything (timers, tabs channel, locks, iframe); the instance is unusable after. */
  close(): void;
}

export declare function createOidc(config: OidcConfig): Promise<Oidc>;

/** Loads the wasm module from a given place (a URL, bytes, a Response or a Module). */
export declare function initWasm(
  input?: string | URL | Request | Response | BufferSource | WebAssembly.Module,
): Promise<unknown>;
