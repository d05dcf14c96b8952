// Type-checks the core entry as an app would use it (strict).
import { createOidc, initWasm, OidcError, type LogoutReason, type Oidc, type OidcConfig, type OidcEvent, type Tokens } from "pixy-oidc";

const config: OidcConfig = {
  issuer: "https://idp.example.com/realms/demo",
  clientId: "spa",
  scopes: ["openid", "profile", "email"],
  extraAuthParams: { audience: "api" },
  sessionRestore: "auto",
  dpop: true,
  par: "auto",
};

export async function main(): Promise<void> {
  await initWasm(new URL("/assets/pixy_oidc_bg.wasm", "https://app.example.com"));
  const oidc: Oidc = await createOidc(config);
  const loggedIn: boolean = oidc.isLoggedIn;
  const sub: string | undefined = oidc.claims?.sub;
  const unsubscribe: () => void = oidc.subscribe((event: OidcEvent) => {
    if (event.type === "error") {
      const code: string = event.error.code;
      console.log(code);
    }
  });
  unsubscribe();
  try {
    const tokens: Tokens = await oidc.getTokens();
    const header = `${tokens.tokenType} ${tokens.accessToken}`;
    console.log(header, loggedIn, sub);
  } catch (e) {
    if (e instanceof OidcError && e.code === "not_logged_in") await oidc.login({ redirectTo: "/here" });
  }
  const tokenType: "Bearer" | "DPoP" = (await oidc.getTokens()).tokenType;
  const response: Response = await oidc.fetch("/api/orders", { method: "POST", body: "{}" });
  await oidc.fetch(new URL("https://api.example.com/orders"));
  await oidc.fetch(new Request("https://api.example.com/orders"));
  const proof: string = await oidc.createDPoPProof({ method: "GET", url: "https://api.example.com/orders" });
  await oidc.createDPoPProof({ method: "POST", url: new URL("https://api.example.com/orders") });
  console.log(tokenType, response.status, proof);
  const never: never = await oidc.logout();
  console.log(never);
}

// @ts-expect-error clientId is required
createOidc({ issuer: "https://idp.example.com" });
// @ts-expect-error sessionRestore is one of four words
createOidc({ ...config, sessionRestore: "sometimes" });
// @ts-expect-error par is one of three words
createOidc({ ...config, par: "sometimes" });
// @ts-expect-error dpop is a boolean
createOidc({ ...config, dpop: "yes" });
export async function proofNeedsAMethod(oidc: Oidc): Promise<void> {
  // @ts-expect-error a proof needs the method
  await oidc.createDPoPProof({ url: "https://api.example.com/" });
}

// Idle logout, session checks, front-channel logout, popup login.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

export const idleConfig: OidcConfig = {
  ...config,
  idleTimeoutMs: 15 * 60_000,
  idleWarningMs: 60_000,
  idleLogoutAtProvider: false,
  sessionCheckIntervalMs: 0,
  frontChannelLogoutUri: "https://app.example.com/frontchannel-logout",
};
// @ts-expect-error idleTimeoutMs is a number of ms
createOidc({ ...config, idleTimeoutMs: "15m" });
// @ts-expect-error idleLogoutAtProvider is a boolean
createOidc({ ...config, idleLogoutAtProvider: "yes" });

export function popupLogin(oidc: Oidc) {
  const popup = () => oidc.login({ popup: true, extraAuthParams: { prompt: "login" } });
  const redirect = () => oidc.login({ redirectTo: "/here" });
  const popupIsVoid: Equal<ReturnType<typeof popup>, Promise<void>> = true;
  const redirectIsNever: Equal<ReturnType<typeof redirect>, Promise<never>> = true;
  const plainIsNever: Equal<ReturnType<Oidc["login"]>, Promise<never>> = true;
  console.log(popupIsVoid, redirectIsNever, plainIsNever);
  popup().then(
    (nothing: void) => console.log(nothing, oidc.isLoggedIn),
    (e: unknown) => {
      if (e instanceof OidcError && (e.code === "popup_blocked" || e.code === "login_cancelled")) console.log(e.code);
    },
  );
  oidc.reportActivity();
  const nothing: void = oidc.reportActivity();
  console.log(nothing);
}

export function idleEvents(oidc: Oidc): () => void {
  return oidc.subscribe((event) => {
    switch (event.type) {
      case "idleWarning": {
        const msLeft: number = event.msLeft;
        console.log(Math.ceil(msLeft / 1000));
        break;
      }
      case "idleWarningCancelled":
        // @ts-expect-error a cancelled warning has no time left
        console.log(event.msLeft);
        break;
      case "loggedOut": {
        const reason: LogoutReason = event.reason;
        const all: "user" | "otherTab" | "idle" | "provider" = reason;
        // @ts-expect-error there is no such reason
        if (event.reason === "timeout") console.log(all);
        break;
      }
      case "tokensChanged":
      case "sessionExpired":
      case "error":
        break;
      default: {
        const exhaustive: never = event;
        console.log(exhaustive);
      }
    }
  });
}
export function popupIsTrueOrLeftOut(oidc: Oidc): void {
  // @ts-expect-error popup is `true` or left out
  void oidc.login({ popup: false });
}
