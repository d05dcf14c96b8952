// Type-checks pixy-oidc/mock: the mock is usable wherever an Oidc is expected.
import type { Oidc } from "pixy-oidc";
import { createMockOidc, MockOidcError, type MockOidc } from "pixy-oidc/mock";

const mock: MockOidc = createMockOidc({
  isLoggedIn: true,
  claims: { sub: "alice", name: "Alice" },
  tokens: { accessToken: "t" },
  onLogin: (options) => console.log(options.redirectTo),
});
const asOidc: Oidc = mock;
mock.simulateLogin({ sub: "bob" });
mock.expireSession();
mock.emitError("network_error");
mock.emitError(new MockOidcError("timeout", "slow"));
const dpopMock: MockOidc = createMockOidc({ isLoggedIn: true, dpop: true });
export const proof: Promise<string> = dpopMock.createDPoPProof({ method: "GET", url: "https://api.example.com/" });
export const answer: Promise<Response> = dpopMock.fetch("https://api.example.com/", { headers: { accept: "application/json" } });
export const code: string = new MockOidcError("not_logged_in", "nobody").code;
export const name: "OidcError" = new MockOidcError("not_logged_in", "nobody").name;
console.log(asOidc.isLoggedIn);

// @ts-expect-error claims need a sub
createMockOidc({ claims: { name: "nobody" } });
// @ts-expect-error unknown error codes are refused
mock.emitError("no_such_code");

// Popup login, activity and the idle / logout controls.
const blocked: MockOidc = createMockOidc({ popup: "blocked" });
createMockOidc({ popup: "cancelled", onLogin: (options) => console.log(options.popup === true) });
export const popupLogin: Promise<void> = blocked.login({ popup: true });
mock.reportActivity();
export const reports: number = mock.activityReports;
mock.simulateIdleWarning(30_000);
mock.simulateIdleWarning();
mock.simulateIdleWarningCancelled();
mock.simulateLogout("idle");
mock.simulateLogout();
mock.simulateProviderLogout();
// @ts-expect-error popup is "blocked" or "cancelled"
createMockOidc({ popup: "open" });
// @ts-expect-error the reasons are those of `loggedOut`
mock.simulateLogout("bored");
// @ts-expect-error activityReports is read-only
mock.activityReports = 0;
