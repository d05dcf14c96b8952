import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { OidcProvider } from "pixy-oidc/react";
import { App } from "./App.jsx";

// One fixed redirect URI for every page: register `${origin}/` at the provider.
const config = {
  ...window.PIXY_CONFIG,
  redirectUri: `${location.origin}/`,
  postLogoutRedirectUri: `${location.origin}/`,
};

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <OidcProvider
      config={config}
      fallback={<main data-testid="loading">Loading…</main>}
      errorFallback={(error) => (
        <main className="error" data-testid="error">
          <strong>{error.code}</strong>: {error.message}
        </main>
      )}
    >
      <App />
    </OidcProvider>
  </StrictMode>,
);
