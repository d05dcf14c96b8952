// End-to-end: what a developer sees when the set-up is wrong, or strict, or narrated. The demo
// page (www/index.html) with the built package (pkg/), a real OpenID provider
// (tests/support/provider.mjs) and Chromium.
//
//   bash scripts/build.sh && node --test tests/e2e/developer.test.mjs
//
// - a mistyped option, a client secret: createOidc refuses at once, naming the right option;
// - a page that is not a secure context (http://app.test, mapped to 127.0.0.1): refused at once;
// - a client id or redirect URI the provider does not know: the hidden iframe stays on the
//   provider's error page; found within seconds, said in the console and as an `error` event
//   (which reaches the demo although it subscribes after createOidc resolved), the app starts
//   logged out, and login() says why before it leaves;
// - the demo under a strict Content-Security-Policy with Trusted Types: login, reload restore
//   through the iframe, renewTokens(), and no violation;
// - `debug: true`: the console narrates the restore path and the renewal, never a token.
import { test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { startProvider } from "../support/provider.mjs";
import { startAppServer } from "../support/app-server.mjs";
import { launchBrowser } from "../support/browser.mjs";

const CLIENT_ID = "pixy-dev";
const WAIT = 15_000;
const TEST_TIMEOUT = 60_000;

let provider;
let app; // http://127.0.0.1:<port>: same site as the provider, so the iframe sees its session
let strictApp; // the same, with a strict Content-Security-Policy on every response
let browser;
/** @type {import("playwright-core").Page} */
let page;
let pageLog = [];
let consoleLog = [];
let violations = [];

const csp = (issuer) =>
  [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    `connect-src 'self' ${issuer}`,
    `frame-src 'self' ${issuer}`,
    "style-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join("; ");

before(async () => {
  if (!existsSync(new URL("../../pkg/index.js", import.meta.url))) {
    throw new Error("pkg/index.js is missing: build the package first (bash scripts/build.sh)");
  }
  app = await startAppServer({ host: "127.0.0.1", port: 0 });
  // Its policy names the provider, known only once that runs: the headers are read per request.
  const strictHeaders = {};
  strictApp = await startAppServer({ host: "127.0.0.1", port: 0, headers: strictHeaders });
  provider = await startProvider({
    quiet: true,
    clients: [
      {
        client_id: CLIENT_ID,
        redirect_uris: [`${app.origin}/`, `${strictApp.origin}/`],
        post_logout_redirect_uris: [`${app.origin}/`, `${strictApp.origin}/`],
      },
    ],
  });
  strictHeaders["content-security-policy"] = csp(provider.issuer);
  browser = await launchBrowser({
    thirdPartyCookies: "block",
    args: [`--host-resolver-rules=MAP app.test 127.0.0.1`],
  });
  browser.context.setDefaultTimeout(WAIT);
  browser.context.setDefaultNavigationTimeout(WAIT);
  await browser.context.exposeBinding("__pixyViolation", ({ frame }, v) => violations.push({ ...v, frame: frame.url() }));
  await browser.context.addInitScript(() => {
    addEventListener(
      "securitypolicyviolation",
      (e) => window.__pixyViolation({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, source: e.sourceFile }),
      true,
    );
  });
});

after(async () => {
  await browser?.close();
  await Promise.allSettled([app?.close(), strictApp?.close(), provider?.close()]);
});

beforeEach(async () => {
  await browser.context.clearCookies();
  app.setConfig({ issuer: provider.issuer, clientId: CLIENT_ID });
  strictApp.setConfig({ issuer: provider.issuer, clientId: CLIENT_ID });
  page = await browser.context.newPage();
  pageLog = [];
  consoleLog = [];
  violations = [];
  page.on("console", (m) => {
    consoleLog.push({ type: m.type(), text: m.text(), at: Date.now() });
    pageLog.push(`[console.${m.type()}] ${m.text()}`);
  });
  page.on("pageerror", (e) => pageLog.push(`[pageerror] ${e.message}`));
  page.on("framenavigated", (f) => {
    if (f === page.mainFrame()) pageLog.push(`[navigated] ${f.url()}`);
  });
});

afterEach(async () => {
  await page?.close().catch(() => {});
});

function e2e(name, fn) {
  test(name, { timeout: TEST_TIMEOUT }, async () => {
    try {
      await fn();
    } catch (err) {
      err.message += `\n--- page log ---\n${pageLog.join("\n")}\n--- violations: ${JSON.stringify(violations)}\n--- url: ${page?.url()}`;
      throw err;
    }
  });
}

const text = (sel) => page.locator(sel).textContent({ timeout: WAIT }).then((t) => (t ?? "").trim());
const waitReady = () => page.waitForSelector("body[data-ready='1']", { state: "attached", timeout: WAIT });

async function open(origin) {
  await page.goto(`${origin}/`);
  await waitReady();
}

/** Clicks "Log in", signs in at the provider as `user`, and waits for the app to settle. */
async function logIn(origin, user) {
  await open(origin);
  assert.equal(await text("#status"), "logged out", `${await text("#error-code")}: ${await text("#error-message")}`);
  await page.click("#login");
  await page.waitForURL((u) => u.href.startsWith(`${provider.issuer}/interaction/`));
  await page.fill("input[name=login]", user);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => u.origin === origin);
  await waitReady();
  assert.equal(await text("#status"), "logged in");
}

e2e("a mistyped option fails createOidc with invalid_config naming the option and the right one", async () => {
  app.setConfig({ issuer: provider.issuer, clientId: CLIENT_ID, redirectURI: `${app.origin}/` });
  await open(app.origin);
  assert.equal(await text("#status"), "error");
  assert.equal(await text("#error-code"), "invalid_config");
  assert.equal(await text("#error-message"), 'unknown option "redirectURI": did you mean `redirectUri`?');
  assert.equal(provider.authRequests.length, 0, "nothing was sent to the provider");

  const outcomes = await page.evaluate(async (base) => {
    const { createOidc } = await import("/pkg/index.js");
    const out = {};
    for (const extra of [{ scope: ["email"] }, { sesionRestore: "none" }, { clientSecret: "s3cr3t" }, { idleTimeout: 60000 }, { theme: "dark" }]) {
      const name = Object.keys(extra)[0];
      try {
        await createOidc({ ...base, ...extra });
        out[name] = "resolved";
      } catch (e) {
        out[name] = `${e.code}: ${e.message}`;
      }
    }
    return out;
  }, { issuer: provider.issuer, clientId: CLIENT_ID });
  assert.equal(outcomes.scope, 'invalid_config: unknown option "scope": did you mean `scopes`?');
  assert.equal(outcomes.sesionRestore, 'invalid_config: unknown option "sesionRestore": did you mean `sessionRestore`?');
  assert.match(outcomes.clientSecret, /^invalid_config: `clientSecret`: a browser app is a public client \(PKCE, no secret/);
  assert.match(outcomes.clientSecret, /backend \(BFF\)/);
  assert.doesNotMatch(outcomes.clientSecret, /s3cr3t/, "the secret is not repeated");
  assert.equal(outcomes.idleTimeout, 'invalid_config: unknown option "idleTimeout": did you mean `idleTimeoutMs`?');
  assert.equal(outcomes.theme, 'invalid_config: unknown option "theme"');
});

e2e("on a page that is not a secure context, createOidc fails at once with insecure_context", async () => {
  const providerRequests = [];
  page.on("request", (r) => r.url().startsWith(provider.issuer) && providerRequests.push(r.url()));
  const origin = `http://app.test:${app.port}`;
  await page.goto(`${origin}/`);
  await waitReady();
  assert.equal(await page.evaluate(() => isSecureContext), false, "the page is not a secure context");
  assert.equal(await text("#status"), "error");
  assert.equal(await text("#error-code"), "insecure_context");
  const message = await text("#error-message");
  assert.match(message, new RegExp(`this page \\(${origin.replaceAll(".", "\\.")}\\) is not a secure context`));
  assert.match(message, /use https \(or http:\/\/localhost\)/);
  assert.match(await text("#start-ms"), /^\d+ ms \(failed\)$/);
  assert.deepEqual(providerRequests, [], "not even discovery was asked for");
});

for (const [what, config, register] of [
  ["an unknown client id", { clientId: "nobody" }, (o) => `${o}/`],
  ["an unregistered redirect URI", { silentRedirectUri: "SELF/silent.html" }, (o) => `${o}/silent.html`],
]) {
  e2e(`${what}: the iframe stuck on the provider's error page is reported within seconds, the app starts logged out`, async () => {
    const clientId = config.clientId ?? CLIENT_ID;
    const cfg = { issuer: provider.issuer, clientId };
    if (config.silentRedirectUri) cfg.silentRedirectUri = config.silentRedirectUri.replace("SELF", app.origin);
    app.setConfig(cfg);
    await open(app.origin);
    assert.equal(await text("#status"), "logged out");
    const ms = Number((await text("#start-ms")).match(/^(\d+) ms$/)?.[1]);
    assert.ok(ms > 2500 && ms < 9_500, `createOidc resolved ${ms} ms after the start: about 3 s after the provider's page loaded, well before the 10 s silent timeout`);
    assert.equal(await text("#restored-via"), "null (nothing restored)");
    assert.equal(await page.locator("iframe").count(), 0, "the hidden iframe is gone");

    // The demo subscribes after createOidc resolved, and still gets the start's `error` event.
    assert.equal(await text("#error-code"), "invalid_config");
    const message = await text("#error-message");
    const uri = register(app.origin);
    assert.ok(message.includes(`register ${uri} as a redirect URI of client ${clientId}`), message);
    assert.ok(message.includes(`stayed on a page of ${provider.issuer}`), message);
    assert.match(await text("#log"), /error \(invalid_config: the hidden iframe stayed/);
    const errors = consoleLog.filter((m) => m.type === "error" && m.text.startsWith("[pixy-oidc]")).map((m) => m.text);
    assert.equal(errors.length, 1, errors.join("\n"));
    assert.ok(errors[0].includes(`register ${uri} as a redirect URI of client ${clientId}`), errors[0]);

    // Logging in says it again before the page leaves for the provider.
    let leftAt = 0;
    page.on("framenavigated", (f) => f === page.mainFrame() && !leftAt && (leftAt = Date.now()));
    await page.click("#login");
    await page.waitForURL((u) => u.href.startsWith(provider.issuer));
    const said = consoleLog.find((m) => m.type === "error" && m.text.startsWith("[pixy-oidc] login: this login may stop at the provider too"));
    assert.ok(said, pageLog.join("\n"));
    assert.ok(said.at <= leftAt, "said before the page left");
  });
}

e2e("under a strict CSP with Trusted Types: login, reload restore (iframe) and renewTokens() run with no violation", async () => {
  const response = await page.goto(`${strictApp.origin}/`);
  assert.match(response.headers()["content-security-policy"], /require-trusted-types-for 'script'/);
  await waitReady();
  await logIn(strictApp.origin, "grace");
  assert.equal(await text("#restored-via"), "callback");

  await page.reload();
  await waitReady();
  assert.equal(await text("#status"), "logged in");
  assert.equal(await text("#sub"), "grace");
  assert.equal(await text("#restored-via"), "iframe");

  const before = provider.tokenRequests.length;
  await page.click("#renew");
  await page.waitForFunction(() => document.getElementById("renewals").textContent === "1");
  assert.equal(provider.tokenRequests.at(before)?.grant_type, "refresh_token");
  assert.equal(await text("#error-code"), "");

  assert.deepEqual(violations, [], "no securitypolicyviolation event");
  const refused = consoleLog.filter((m) => /Content Security Policy|Trusted Type|Refused to/i.test(m.text));
  assert.deepEqual(refused, [], "no CSP message in the console");
});

e2e("debug: true narrates the restore path and the renewal in the console, and never shows a token", async () => {
  app.setConfig({ issuer: provider.issuer, clientId: CLIENT_ID, debug: true });
  const tokensBefore = provider.tokenRequests.length;
  await logIn(app.origin, "heidi");
  await page.reload();
  await waitReady();
  assert.equal(await text("#status"), "logged in");
  await page.click("#renew");
  await page.waitForFunction(() => document.getElementById("renewals").textContent === "1");
  const tokens = await page.evaluate(() => window.oidc.getTokens());

  const lines = consoleLog.filter((m) => m.text.startsWith("[pixy-oidc]")).map((m) => m.text);
  const has = (s) => assert.ok(lines.some((l) => l.includes(s)), `no console line with "${s}":\n${lines.join("\n")}`);
  has("start: the page is an authorization response");
  has("start: done, logged in via callback");
  has("start: no other tab holds a session"); // no generation lock held: no wait for a hand-over
  has("start: trying the hidden iframe");
  has("start: done, logged in via iframe");
  has("renewal: renewTokens() asked for one");
  has("renewal: refresh token grant");

  const secrets = [tokens.accessToken, tokens.idToken, tokens.idToken.split(".")[2]];
  // What the provider issued meanwhile (its own record).
  const issued = provider.tokenRequests.slice(tokensBefore).map((r) => r.issued ?? {});
  for (const b of issued) secrets.push(...[b.access_token, b.id_token, b.refresh_token].filter(Boolean));
  assert.ok(secrets.length >= 6, "tokens were seen");
  for (const m of consoleLog) {
    for (const s of secrets) assert.equal(m.text.includes(s), false, `a token in the console: ${m.text.slice(0, 80)}`);
  }
});
