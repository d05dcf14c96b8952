// The demo runner: a local OpenID provider on http://127.0.0.1:9090 (client "pixy-demo") and the
// demo app on http://localhost:5173/. Build the package first (bash scripts/build.sh).
//
// Point the demo at another provider instead (no local provider is started):
//   PIXY_ISSUER=https://idp.example.com/realms/demo PIXY_CLIENT_ID=spa \
//   PIXY_SCOPES="openid profile email" PIXY_PORT=5173 node scripts/dev.mjs
// Register http://localhost:<PIXY_PORT>/ there as redirect URI and post-logout redirect URI.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startAppServer } from "../tests/support/app-server.mjs";
import { startProvider } from "../tests/support/provider.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const appPort = Number(process.env.PIXY_PORT ?? 5173);
const appUrl = `http://localhost:${appPort}/`;
const external = process.env.PIXY_ISSUER;

if (!existsSync(path.join(root, "pkg", "index.js"))) {
  console.warn("warning: pkg/index.js is missing; run `bash scripts/build.sh` first.");
}
if (external && !process.env.PIXY_CLIENT_ID) {
  console.error("PIXY_ISSUER is set but PIXY_CLIENT_ID is not.");
  process.exit(2);
}

let provider = null;
let app = null;

async function stop(code = 0) {
  const hard = setTimeout(() => process.exit(code), 3000);
  hard.unref();
  await Promise.allSettled([app?.close(), provider?.close()]);
  process.exit(code);
}
process.once("SIGINT", () => stop(0));
process.once("SIGTERM", () => stop(0));

try {
  const config = { clientId: process.env.PIXY_CLIENT_ID ?? "pixy-demo" };
  if (external) {
    config.issuer = external;
  } else {
    provider = await startProvider({
      port: 9090,
      host: "127.0.0.1",
      clients: [
        {
          client_id: "pixy-demo",
          redirect_uris: [appUrl, `${appUrl}script-tag.html`],
          post_logout_redirect_uris: [appUrl, `${appUrl}script-tag.html`],
        },
      ],
    });
    config.issuer = provider.issuer;
  }
  if (process.env.PIXY_SCOPES) config.scopes = process.env.PIXY_SCOPES.split(/\s+/).filter(Boolean);

  app = await startAppServer({ port: appPort, host: "localhost", config });

  console.log("");
  console.log(`  pixy-oidc demo:  ${app.origin}/`);
  console.log(`  provider:        ${config.issuer}${external ? "" : " (local, in memory)"}`);
  console.log(`  client id:       ${config.clientId}`);
  if (config.scopes) console.log(`  scopes:          ${config.scopes.join(" ")}`);
  console.log("");
  console.log(
    external
      ? "  Open the demo and log in with an account at that provider."
      : "  Open the demo, click \"Log in\" and sign in with any user name (no password).",
  );
  console.log("  Ctrl-C stops everything.");
  console.log("");
} catch (err) {
  console.error(
    err?.code === "EADDRINUSE"
      ? `port ${err.port} is already in use (another demo running?)`
      : err,
  );
  await stop(1);
}
