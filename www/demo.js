// The plain demo page (www/index.html): every call of the API, every event, no framework.
// External (not inline) so the page runs under a strict Content-Security-Policy. Tokens are never
// shown or logged: only their type, scope, expiry and whether they are there.
import { createOidc, OidcError } from "/pkg/index.js";

const $ = (id) => document.getElementById(id);
const config = window.PIXY_CONFIG ?? {};
$("config").textContent = `Provider: ${config.issuer ?? "(none configured)"} · client: ${config.clientId ?? "?"}`;

let oidc = null;
let expiresAt = null;
let renewals = 0;

function setStatus(s) {
  $("status").textContent = s;
  document.body.dataset.status = s;
}

const time = (d = new Date()) => d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");

/** One line in the event log, newest last: `kind` is "event", "action" or "error". */
function log(kind, text) {
  const line = document.createElement("div");
  line.className = kind;
  line.textContent = `${time()}  ${text}`;
  $("log").append(line);
  $("log").scrollTop = $("log").scrollHeight;
}

function describeEvent(event) {
  const extra = Object.entries(event)
    .filter(([k]) => k !== "type" && k !== "error")
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
  if (event.error) extra.push(`${event.error.code}: ${event.error.message}`);
  return extra.length ? `${event.type} (${extra.join(", ")})` : event.type;
}

function showError(err) {
  const isOidc = err instanceof OidcError;
  $("error-code").textContent = isOidc ? err.code : err?.name ?? "unexpected";
  $("error-message").textContent = err?.message ?? String(err);
  $("error-provider").textContent = isOidc ? [err.error, err.errorDescription].filter(Boolean).join(": ") || "—" : "—";
  $("error").hidden = false;
  window.oidcError = err;
  console.error(err);
}

function clearError() {
  $("error").hidden = true;
  for (const id of ["error-code", "error-message", "error-provider"]) $(id).textContent = "";
}

function renderExpiry() {
  if (expiresAt == null) {
    $("expiry").textContent = "";
    delete $("expiry").dataset.epochMs;
    return;
  }
  const secs = Math.round((expiresAt - Date.now()) / 1000);
  const when = new Date(expiresAt).toLocaleTimeString();
  $("expiry").textContent = secs > 0 ? `${when} (in ${secs} s)` : `${when} (expired)`;
  $("expiry").dataset.epochMs = String(expiresAt);
}
setInterval(renderExpiry, 1000);

/** What may be shown of a Tokens object: never a token itself. */
function describeTokens(tokens) {
  const present = (t) => (t ? `(present, ${t.length} characters)` : "(none)");
  return JSON.stringify(
    {
      tokenType: tokens.tokenType,
      scope: tokens.scope,
      accessTokenExpiresAt: new Date(tokens.accessTokenExpiresAt).toISOString(),
      accessToken: present(tokens.accessToken),
      idToken: present(tokens.idToken),
      refreshToken: "refreshToken" in tokens ? present(tokens.refreshToken) : "(not exposed)",
    },
    null,
    2,
  );
}

let lastTokenRead = 0;
let pendingRead = null;
async function readTokens(tokens) {
  if (!oidc?.isLoggedIn) return;
  if (!tokens) {
    // getTokens() may renew; keep event-driven reads from turning into a renewal loop.
    const wait = lastTokenRead + 5000 - Date.now();
    if (wait > 0) {
      pendingRead ??= setTimeout(() => {
        pendingRead = null;
        readTokens();
      }, wait);
      return;
    }
    lastTokenRead = Date.now();
    try {
      tokens = await oidc.getTokens();
    } catch (err) {
      showError(err);
      return;
    }
  }
  expiresAt = tokens.accessTokenExpiresAt;
  renderExpiry();
}

function render() {
  const loggedIn = !!oidc?.isLoggedIn;
  setStatus(oidc ? (loggedIn ? "logged in" : "logged out") : "error");
  $("login").hidden = !oidc || loggedIn;
  $("login-popup").hidden = !oidc || loggedIn;
  for (const id of ["logout", "userinfo", "get-tokens", "renew"]) $(id).hidden = !loggedIn;
  $("retry").hidden = !!oidc;
  $("user").hidden = !loggedIn;
  $("sub").textContent = loggedIn ? oidc.claims?.sub ?? "" : "";
  $("claims").textContent = loggedIn ? JSON.stringify(oidc.claims, null, 2) : "";
  $("renewals").textContent = String(renewals);
  if (!loggedIn) {
    expiresAt = null;
    renderExpiry();
    $("userinfo-out").textContent = "(not fetched yet)";
    $("tokens-out").textContent = "(not fetched yet)";
  }
}

/** A button that runs `action` once at a time, logging the call and its outcome. */
function button(id, name, action) {
  $(id).addEventListener("click", async () => {
    log("action", `${name}()`);
    try {
      await action();
    } catch (err) {
      log("error", `${name}() failed: ${err?.code ?? err?.name}: ${err?.message}`);
      showError(err);
    }
  });
}

button("login", "login", async () => {
  clearError();
  await oidc.login();
});
button("login-popup", "login({ popup: true })", async () => {
  clearError();
  // The page stays: it resolves once logged in (popup_blocked, login_cancelled otherwise).
  await oidc.login({ popup: true });
  log("action", "login({ popup: true }) resolved: logged in");
});
button("logout", "logout", async () => {
  clearError();
  await oidc.logout();
});
button("get-tokens", "getTokens", async () => {
  const tokens = await oidc.getTokens();
  $("tokens-out").textContent = describeTokens(tokens);
  log("action", `getTokens() → expires ${new Date(tokens.accessTokenExpiresAt).toLocaleTimeString()}`);
  await readTokens(tokens);
});
button("renew", "renewTokens", async () => {
  const tokens = await oidc.renewTokens();
  $("tokens-out").textContent = describeTokens(tokens);
  log("action", `renewTokens() → expires ${new Date(tokens.accessTokenExpiresAt).toLocaleTimeString()}`);
  await readTokens(tokens);
});
button("userinfo", "getUserInfo", async () => {
  $("userinfo-out").textContent = "loading…";
  try {
    $("userinfo-out").textContent = JSON.stringify(await oidc.getUserInfo(), null, 2);
  } catch (err) {
    $("userinfo-out").textContent = "(failed)";
    throw err;
  }
});
$("retry").addEventListener("click", () => location.assign(location.pathname));
$("new-tab").addEventListener("click", () => {
  log("action", "open another tab");
  window.open(location.pathname, "_blank");
});

const started = performance.now();
try {
  oidc = await createOidc(config);
  window.oidc = oidc;
  $("start-ms").textContent = `${Math.round(performance.now() - started)} ms`;
  // `restoredVia` ("callback", "otherTab", "iframe", "redirect" or null) comes with newer cores.
  $("restored-via").textContent = "restoredVia" in oidc ? String(oidc.restoredVia ?? "null (nothing restored)") : "(not reported by this version)";
  log("event", `createOidc resolved: ${oidc.isLoggedIn ? "logged in" : "logged out"}`);
  let wasLoggedIn = oidc.isLoggedIn;
  oidc.subscribe((event) => {
    log(event.type === "error" ? "error" : "event", describeEvent(event));
    if (event.type === "error") {
      showError(event.error);
      return;
    }
    // A renewal: new tokens for the user who was already logged in.
    if (event.type === "tokensChanged" && wasLoggedIn && oidc.isLoggedIn) renewals += 1;
    wasLoggedIn = oidc.isLoggedIn;
    render();
    if (event.type === "tokensChanged") readTokens(event.tokens);
    $("notice").textContent =
      event.type === "sessionExpired"
        ? "Your session expired. Log in again."
        : event.type === "idleWarning"
          ? `No activity: logging out in ${Math.round(event.msLeft / 1000)} s.`
          : event.type === "loggedOut" && event.reason !== "user"
            ? `Logged out (${event.reason}).`
            : "";
  });
  render();
  await readTokens();
} catch (err) {
  oidc = null;
  $("start-ms").textContent = `${Math.round(performance.now() - started)} ms (failed)`;
  $("restored-via").textContent = "—";
  log("error", `createOidc failed: ${err?.code ?? err?.name}: ${err?.message}`);
  render();
  showError(err);
} finally {
  document.body.dataset.ready = "1";
}
