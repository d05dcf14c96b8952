// pixy-oidc/mock: an in-memory Oidc for app tests and demos. It never loads the wasm.
import type { Claims, LoginOptions, LogoutOptions, LogoutReason, Oidc, OidcErrorCode, Tokens } from "./index.js";

/** Claims for the mock: `sub` and whatever else the app reads. */
export type MockClaims = Partial<Claims> & { sub: string };

export interface MockOidcOptions {
  /** Start logged in. Default `false`. */
  isLoggedIn?: boolean;
  /**
   * The claims of the user who logs in (`iss`, `aud`, `iat`, `exp` are filled in when missing).
   * Default: a user "mock-user" named "Mock User".
   */
  claims?: MockClaims;
  /** Overrides for the fake tokens (default: `mock-access-token-<n>`, an unsigned ID token, 1 h). */
  tokens?: Partial<Tokens>;
  /** What getUserInfo() returns. Default: the claims. */
  userInfo?: Record<string, unknown>;
  /**
   * Act as with `dpop: true`: `tokenType` `"DPoP"`, fetch() sends `Authorization: DPoP` and a fake
   * `DPoP` proof, createDPoPProof() returns a fake proof. Default `false`.
   */
  dpop?: boolean;
  /** Lifetime of the fake access tokens. Default 3600. */
  accessTokenLifetimeSeconds?: number;
  /**
   * What `login({ popup: true })` does: unset (default), logs in and resolves; `"blocked"`
   * rejects at once with `popup_blocked`; `"cancelled"` rejects with `login_cancelled` (the user
   * closed the popup). Either way nobody is logged in after a rejection.
   */
  popup?: "blocked" | "cancelled";
  /** Called by login() with its options (`popup: true` included), before the state flips. */
  onLogin?(options: LoginOptions & { popup?: true }): void;
  /** Called by logout() with its options, before the state flips. */
  onLogout?(options: LogoutOptions): void;
}

/**
 * An Oidc whose login() and logout() change the state at once (no redirect) and emit
 * `tokensChanged` / `loggedOut`; like the real ones, the promises they return never settle.
 * getTokens(), renewTokens(), getUserInfo() and fetch() reject with code `not_logged_in` when
 * logged out. fetch() calls the global fetch with `Authorization: Bearer <fake token>` (`DPoP`
 * and a fake proof with `dpop: true`). createDPoPProof() returns a fake proof: unsigned
 * (`alg: "none"`, `pixy_mock: true` in its header), accepted by no server; without `dpop: true`
 * it rejects with `invalid_config`. `login({ popup: true })` logs in and resolves (see the
 * `popup` option). reportActivity() counts its calls and cancels an idle warning under way. The
 * mock has no timers: idle warnings and logouts the app did not ask for come from the test
 * controls below.
 */
export interface MockOidc extends Oidc {
  /** Logs in as if a login had just completed, optionally as another user; emits `tokensChanged`. */
  simulateLogin(claims?: MockClaims): void;
  /** Logs out as an ended provider session would; emits `sessionExpired`. */
  expireSession(): void;
  /** Emits an `error` event: a MockOidcError with this code (default `network_error`), or the given error. */
  emitError(errorOrCode?: OidcErrorCode | Error): void;
  /** How many times reportActivity() was called. */
  readonly activityReports: number;
  /** Emits `idleWarning` with `msLeft` (default 60000). */
  simulateIdleWarning(msLeft?: number): void;
  /** Emits `idleWarningCancelled`, as after activity in some tab. */
  simulateIdleWarningCancelled(): void;
  /** Logs out (tokens forgotten) and emits `loggedOut` with this reason (default `"user"`); never navigates. */
  simulateLogout(reason?: LogoutReason): void;
  /** `simulateLogout("provider")`: the user logged out at the provider. */
  simulateProviderLogout(): void;
}

/** The mock throws and emits the core's own `OidcError` (this is the same class). */
export { OidcError as MockOidcError } from "./index.js";

export declare function createMockOidc(options?: MockOidcOptions): MockOidc;
