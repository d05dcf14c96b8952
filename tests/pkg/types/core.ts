// Type-checks the core entry as an app would use it (strict).
import { createOidc, initWasm, OidcError, type Oidc, type OidcConfig, type OidcEvent, type Tokens } from "pixy-oidc";

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
