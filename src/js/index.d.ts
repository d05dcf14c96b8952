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

export type OidcEvent =
  | { type: "tokensChanged" }
  /** `reason`: `"user"` (`logout()` in this tab) or `"otherTab"` (a logout in another tab). */
  | { type: "loggedOut"; reason: "user" | "otherTab" }
  | { type: "sessionExpired"; error?: OidcError }
  | { type: "error"; error: OidcError };

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
