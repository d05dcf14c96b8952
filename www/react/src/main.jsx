import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { OidcProvider } from "pixy-oidc/react";
import { App, StartError } from "./App.jsx";

// One fixed redirect URI for every page of the app: register `${origin}/react/` at the provider.
const appUrl = `${location.origin}${import.meta.env.BASE_URL}`;
const config = { ...window.PIXY_CONFIG, redirectUri: appUrl, postLogoutRedirectUri: appUrl };

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <OidcProvider
      config={config}
      fallback={<main data-testid="loading">Loading…</main>}
      // A failed start (the user denied the login at the provider, say): the app's navigation,
      // what went wrong, and a way to try again.
      errorFallback={(error, retry) => <StartError error={error} retry={retry} />}
    >
      <App />
    </OidcProvider>
  </StrictMode>,
);
