// Type-checks pixy-oidc/react in a TSX app (strict, react-jsx).
import { StrictMode, type ReactNode } from "react";
import type { OidcError } from "pixy-oidc";
import { OidcProvider, RequireLogin, useOidc, withLoginRequired, type OidcState } from "pixy-oidc/react";
import { createMockOidc } from "pixy-oidc/mock";

function UserMenu(): ReactNode {
  const state: OidcState = useOidc();
  const { isLoggedIn, claims, login, logout, getTokens, error, sessionExpired, fetch: apiFetch, createDPoPProof } = state;
  if (!isLoggedIn) return <button onClick={() => void login({ redirectTo: "/" })}>Log in</button>;
  const onApi = async () => {
    const { accessToken } = await getTokens();
    await fetch("/api", { headers: { authorization: `Bearer ${accessToken}` } });
  };
  const onOrders = async () => {
    const response: Response = await apiFetch("/api/orders", { method: "POST" });
    const proof: string = await createDPoPProof({ method: "GET", url: new URL("https://api.example.com/orders") });
    console.log(response.ok, proof);
  };
  const code: string | undefined = error?.code;
  return (
    <div title={code} data-expired={sessionExpired}>
      {String(claims?.name ?? claims?.sub)}
      <button onClick={onApi}>API</button>
      <button onClick={onOrders}>Orders</button>
      <button onClick={() => void logout()}>Log out</button>
    </div>
  );
}

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

function IdleBanner(): ReactNode {
  const { idleMsLeft, logoutReason, loginWithPopup, login, reportActivity } = useOidc();
  const left: number | null = idleMsLeft;
  const reason: "user" | "otherTab" | "idle" | "provider" | null = logoutReason;
  const viaPopup = () => login({ popup: true });
  const popupIsVoid: Equal<ReturnType<typeof viaPopup>, Promise<void>> = true;
  const redirect = () => login({ redirectTo: "/" });
  const redirectIsNever: Equal<ReturnType<typeof redirect>, Promise<never>> = true;
  const withPopup = () => loginWithPopup({ extraAuthParams: { prompt: "login" } });
  const loginWithPopupIsVoid: Equal<ReturnType<typeof withPopup>, Promise<void>> = true;
  console.log(popupIsVoid, redirectIsNever, loginWithPopupIsVoid);
  const onLogin = () => {
    withPopup().catch((e: unknown) => console.log(e));
  };
  return (
    <div>
      {left !== null && <p>Logging out in {Math.ceil(left / 1000)} s</p>}
      {reason === "idle" && <button onClick={onLogin}>Log in again</button>}
      <video onTimeUpdate={() => reportActivity()} />
    </div>
  );
}

function Profile({ id }: { id: number }): ReactNode {
  return <p>{id}</p>;
}
const ProtectedProfile = withLoginRequired(Profile, { fallback: <p>…</p> });

export const app = (
  <StrictMode>
    <OidcProvider
      config={{ issuer: "https://idp.example.com", clientId: "spa", dpop: true, par: "always" }}
      fallback={<p>Loading</p>}
      errorFallback={(e: OidcError) => <p>{e.code}</p>}
    >
      <UserMenu />
      <RequireLogin fallback={<p>Redirecting…</p>} loginOptions={{ extraAuthParams: { prompt: "login" } }}>
        <p>secret</p>
      </RequireLogin>
      <ProtectedProfile id={1} />
      <IdleBanner />
    </OidcProvider>
  </StrictMode>
);

export const tested = (
  <OidcProvider oidc={createMockOidc({ isLoggedIn: true })}>
    <UserMenu />
  </OidcProvider>
);

// @ts-expect-error either config or oidc
export const neither = <OidcProvider fallback="x" />;
// @ts-expect-error not both
export const both = <OidcProvider config={{ issuer: "i", clientId: "c" }} oidc={createMockOidc()} />;
// @ts-expect-error the wrapped component's props are kept
export const wrongProps = <ProtectedProfile id="one" />;
// @ts-expect-error <RequireLogin> never opens a popup by itself
export const popupRequire = <RequireLogin loginOptions={{ popup: true }}>x</RequireLogin>;
