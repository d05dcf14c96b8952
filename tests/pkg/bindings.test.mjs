// The React and Vue bindings in Chromium, with the mock and with a stand-in for the core that
// counts createOidc calls. React runs its development build, where StrictMode renders and runs
// effects twice: nothing may be created, or logged in, twice.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { build } from "esbuild";
import { launchBrowser } from "../support/browser.mjs";
import { assertBuilt, pkgDir, repoRoot } from "./support.mjs";

const fixtures = path.join(repoRoot, "tests/pkg/fixtures");

/** Bundles a fixture; the bindings' `./index.js` (the core) becomes fixtures/fake-core.js. */
async function bundle(entry) {
  const result = await build({
    entryPoints: [path.join(fixtures, entry)],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    jsx: "automatic",
    logLevel: "silent",
    nodePaths: [path.join(repoRoot, "node_modules")],
    define: {
      "process.env.NODE_ENV": '"development"',
      __VUE_OPTIONS_API__: "true",
      __VUE_PROD_DEVTOOLS__: "false",
      __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: "false",
    },
    plugins: [
      {
        name: "fake-core",
        setup(b) {
          b.onResolve({ filter: /^\.\/index\.js$/ }, (args) =>
            path.resolve(args.resolveDir) === path.resolve(pkgDir) ? { path: path.join(fixtures, "fake-core.js") } : undefined,
          );
        },
      },
    ],
  });
  return result.outputFiles[0].text;
}

async function openFixture(context, entry) {
  const code = await bundle(entry);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.route("http://pixy.test/**", (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === "/fixture.js") {
      return route.fulfill({ contentType: "text/javascript", body: code });
    }
    return route.fulfill({
      contentType: "text/html",
      body: `<!DOCTYPE html><meta charset="utf-8"><body><script type="module" src="/fixture.js"></script></body>`,
    });
  });
  await page.goto("http://pixy.test/", { timeout: 15_000 });
  await page.waitForFunction(() => window.ready === true, null, { timeout: 15_000 });
  const run = (name) => page.evaluate((n) => window.scenarios[n](), name);
  return { page, errors, run };
}

describe("bindings in Chromium", { timeout: 120_000 }, () => {
  let browser;
  before(async () => {
    assertBuilt();
    browser = await launchBrowser();
  });
  after(() => browser?.close());

  describe("pixy-oidc/react", () => {
    let fx;
    before(async () => {
      fx = await openFixture(browser.context, "react-fixture.jsx");
    });
    after(() => assert.deepEqual(fx.errors, []));

    test("<OidcProvider config> calls createOidc once under StrictMode, showing the fallback meanwhile", async () => {
      const r = await fx.run("configOnceUnderStrictMode");
      assert.equal(r.fallbackFirst, "loading");
      assert.equal(r.status, "out");
      assert.equal(r.createOidcCalls, 1);
    });

    test("useOidc re-renders on tokensChanged, error, sessionExpired and loggedOut", async () => {
      const r = await fx.run("mockInstanceFollowsEvents");
      assert.deepEqual(r.seen, [
        "out",
        "in:alice|",
        "in:alice|timeout",
        "in:alice|",
        "expired|",
        "in:alice|",
        "out|",
      ]);
      assert.equal(r.idleRenders, 0, "no renders without events");
    });

    test("<RequireLogin> starts exactly one login, back to the current URL", async () => {
      const r = await fx.run("requireLoginStartsOneLogin");
      assert.deepEqual(r.calls, [{ redirectTo: "/area?x=1#h" }]);
      assert.equal(r.fallback, "redirecting");
      assert.equal(r.secret, null);
    });

    test("<RequireLogin> with the mock: logs in at once; after a logout, not until the user logs in", async () => {
      const r = await fx.run("requireLoginWithMock");
      assert.equal(r.first, "secret");
      assert.equal(r.afterLogout, "redirecting");
      assert.equal(r.loginsAfterLogout, 1, "a logout the user asked for starts no login");
      assert.equal(r.second, "secret");
      assert.deepEqual(r.logins, ["/mocked", "/again"]);
    });

    test("<RequireLogin> starts no login after a logout on a protected page (binding's logout, or reason user)", async () => {
      const r = await fx.run("requireLoginAfterLogoutOnProtectedPage");
      assert.equal(r.before, "secret");
      assert.deepEqual(r.viaBinding, { calls: 0, fallback: "redirecting" });
      assert.deepEqual(r.viaEvent, { calls: 0, fallback: "redirecting" });
    });

    test("errorFallback gets retry(), which calls createOidc again", async () => {
      const r = await fx.run("errorFallbackRetry");
      assert.deepEqual(r, { shown: "provider_error", status: "out", createOidcCalls: 2 });
    });

    test("without errorFallback, a set-up mistake (invalid_config) is shown on the page, not a blank page", async () => {
      const r = await fx.run("setupMistakeShown");
      assert.deepEqual(r, {
        shown: 'pixy-oidc: invalid_config: unknown option "redirectURI": did you mean `redirectUri`?',
        role: "alert",
      });
    });

    test("a rejected createOidc goes to errorFallback, or to the error boundary", async () => {
      const r = await fx.run("createOidcRejects");
      assert.deepEqual(r, { errorFallback: "provider_error", boundary: "provider_error" });
    });

    test("withLoginRequired keeps the component's props", async () => {
      const r = await fx.run("withLoginRequiredKeepsProps");
      assert.deepEqual(r, { hello: "hello bob", displayName: "withLoginRequired(Greeting)" });
    });

    test("useOidc exposes fetch and createDPoPProof, with stable identities, reaching the instance", async () => {
      const r = await fx.run("fetchAndProofFromUseOidc");
      assert.ok(r.renders >= 3, `re-rendered on events (${r.renders} renders)`);
      assert.equal(r.stable, true, "fetch and createDPoPProof keep their identity across renders");
      assert.equal(r.sameAfterLogout, true);
      assert.equal(r.body, "ok");
      assert.equal(r.sent.length, 1);
      assert.deepEqual(
        { ...r.sent[0], dpop: typeof r.sent[0].dpop },
        { url: "/api/me", method: "POST", authorization: r.expected, dpop: "string", accept: "application/json" },
      );
      assert.match(r.expected, /^DPoP mock-access-token-/);
      assert.deepEqual(r.proofHeader, { typ: "dpop+jwt", alg: "none", pixy_mock: true });
      assert.deepEqual(r.proof, { htm: "GET", htu: `${r.proof.origin}/api/items`, signature: "", origin: r.proof.origin });
      assert.equal(r.loggedOut, "not_logged_in");
      assert.equal(r.noDPoP, "invalid_config");
    });

    test("idle warning: idleMsLeft counts down once a second, activity clears it; logoutReason; <RequireLogin> waits after idle/provider logouts", async () => {
      const r = await fx.run("idleCountdownAndLogoutReasons");
      assert.deepEqual(
        r.countdown.map((c) => c.shown),
        ["3", "2", "1", "0"],
        `the countdown as seen: ${JSON.stringify(r.countdown)}`,
      );
      const [, two, one, zero] = r.countdown.map((c) => c.atMs);
      assert.ok(two >= 150 && two < 700, `2 s left shown at ${two} ms (2.2 s warning)`);
      assert.ok(one - two >= 900 && one - two < 1_400, `one second between 2 and 1 (${one - two} ms)`);
      assert.ok(zero - one >= 900 && zero - one < 1_400, `one second between 1 and 0 (${zero - one} ms)`);
      assert.equal(r.afterZero, "0", "stops at 0 (the logout is the core's to do)");
      assert.ok(r.countdownRenders <= 16, `re-renders once per tick, not more (${r.countdownRenders} under StrictMode)`);

      assert.equal(r.warned, "60");
      assert.deepEqual(r.afterStay, { idle: null, secret: "secret", activityReports: 1 }, "reportActivity cancels the warning");
      assert.equal(r.warnedAgain, "30");
      assert.equal(r.afterCancelled, null, "idleWarningCancelled clears the countdown");

      assert.deepEqual(r.afterIdle, { idle: null, reason: "idle", fallback: "logged out", logins: 0 }, "no login after an idle logout");
      assert.deepEqual(r.afterLogin, { reason: "", logins: [true] }, "a login clears logoutReason");
      assert.deepEqual(r.afterProvider, { reason: "provider", fallback: "logged out", logins: 1 }, "no login after a provider logout");
      assert.deepEqual(r.afterOtherTab, { reason: "", logins: 3, lastRedirectTo: "/dashboard" }, "another tab's logout: a login as before");
    });

    test("loginWithPopup and login({ popup: true }) resolve once logged in; popup_blocked and login_cancelled reach the caller", async () => {
      const r = await fx.run("popupLoginThroughUseOidc");
      assert.deepEqual(r.ok, { message: "resolved", status: "in:pop" });
      assert.deepEqual(r.options, [{ extraAuthParams: { prompt: "login" }, popup: true }]);
      assert.deepEqual(r.passthrough, { message: "resolved", status: "in:pass" });
      assert.deepEqual(r.blocked, { message: "popup_blocked", status: "out" });
      assert.deepEqual(r.cancelled, { message: "login_cancelled", status: "out" });
      assert.equal(r.calledAtOnce, 1, "the instance's login is called synchronously, in the click");
      assert.deepEqual(r.callOptions, [{ popup: true }]);
    });

    test("useOidc outside <OidcProvider> says so", async () => {
      const r = await fx.run("useOidcOutsideProvider");
      assert.match(r.message, /inside <OidcProvider>/);
    });
  });

  describe("pixy-oidc/vue", () => {
    let fx;
    before(async () => {
      fx = await openFixture(browser.context, "vue-fixture.js");
    });
    after(() => assert.deepEqual(fx.errors, []));

    test("useOidc refs follow tokensChanged, error, sessionExpired and loggedOut", async () => {
      const r = await fx.run("pluginFollowsMockEvents");
      assert.deepEqual(r.seen, [
        "out",
        "in:alice|",
        "in:alice|timeout",
        "in:alice|",
        "expired|",
        "in:alice|",
        "out|",
      ]);
    });

    test("createOidcPlugin(config): one createOidc, isReady, ready and the functions", async () => {
      const r = await fx.run("pluginWithConfig");
      assert.deepEqual(r, { first: "loading", then: "in:cfg", same: true, calls: 1, accessToken: "mock-access-token-1" });
    });

    test("a rejected createOidc rejects ready and sets error", async () => {
      const r = await fx.run("pluginWithFailingConfig");
      assert.deepEqual(r, { rejected: "issuer_mismatch", shown: "issuer_mismatch" });
    });

    test("createLoginGuard: protected routes start one login (again after a bfcache restore) and cancel the navigation", async () => {
      const r = await fx.run("guardWithRedirectingOidc");
      assert.equal(r.afterOpen, "/open");
      assert.equal(r.afterProtected, "/open", "the navigation to a protected route is cancelled");
      assert.equal(r.whileInFlight, 1, "no second login while one is under way");
      assert.deepEqual(r.calls, [
        { extraAuthParams: { prompt: "login" }, redirectTo: "/base/area/inner?q=1" },
        { extraAuthParams: { prompt: "login" }, redirectTo: "/base/area" },
      ]);
    });

    test("createLoginGuard starts no login after a logout the user asked for", async () => {
      const r = await fx.run("guardAfterLogout");
      assert.deepEqual(r, { before: "/area", after: "/", logins: 0 });
    });

    test("after a failed start, a protected route starts createOidc again, then the login", async () => {
      const r = await fx.run("guardRetriesFailedStart");
      assert.deepEqual(r, {
        first: "access_denied",
        unhandled: 0,
        calls: 2,
        logins: [{ redirectTo: "/area" }],
        errorAfter: null,
      });
    });

    test("createLoginGuard with the mock: logs in and lets the navigation through", async () => {
      const r = await fx.run("guardWithMock");
      assert.deepEqual(r, { route: "/area", logins: ["/area"], loggedIn: true });
    });

    test("fetch and createDPoPProof wait for ready, and reach the instance", async () => {
      const r = await fx.run("fetchAndProofWaitForReady");
      assert.equal(r.readyAtCall, false);
      assert.equal(r.calls, 1);
      assert.equal(r.body, "ok");
      assert.equal(r.sent.length, 1);
      assert.equal(r.sent[0].url, "https://api.test/me");
      assert.equal(r.sent[0].authorization, r.expectedAuthorization);
      assert.equal(r.sent[0].accept, "application/json", "the app's headers are kept");
      assert.equal(typeof r.sent[0].dpop, "string");
      assert.deepEqual(r.proof, { htm: "DELETE", htu: "https://api.test/items/1", alg: "none" });
      assert.equal(r.same, true, "useOidc() and the plugin carry the same functions");
      assert.equal(r.noDPoP, "invalid_config");
      assert.equal(r.loggedOut, "not_logged_in");
    });

    test("idle warning: idleMsLeft counts down once a second, activity clears it; logoutReason; the guard waits after idle/provider logouts", async () => {
      const r = await fx.run("idleCountdownAndLogoutReasons");
      assert.deepEqual(
        r.countdown.map((c) => c.shown),
        ["3", "2", "1", "0"],
        `the countdown as seen: ${JSON.stringify(r.countdown)}`,
      );
      const [, two, one, zero] = r.countdown.map((c) => c.atMs);
      assert.ok(two >= 150 && two < 700, `2 s left shown at ${two} ms (2.2 s warning)`);
      assert.ok(one - two >= 900 && one - two < 1_400, `one second between 2 and 1 (${one - two} ms)`);
      assert.ok(zero - one >= 900 && zero - one < 1_400, `one second between 1 and 0 (${zero - one} ms)`);
      assert.equal(r.afterZero, "0");
      assert.equal(r.warned, "60");
      assert.deepEqual(r.afterStay, { idle: null, activityReports: 1 }, "reportActivity cancels the warning");
      assert.equal(r.warnedAgain, "30");
      assert.equal(r.afterCancelled, null, "idleWarningCancelled clears the countdown");
      assert.deepEqual(r.afterIdle, { idle: null, reason: "idle", route: "/", logins: 0 }, "no login after an idle logout");
      assert.deepEqual(r.afterLogin, { reason: "", route: "/area", popup: [true] }, "a login clears logoutReason");
      assert.deepEqual(r.afterProvider, { reason: "provider", route: "/", logins: 1 }, "no login after a provider logout");
    });

    test("loginWithPopup and login({ popup: true }) resolve once logged in; popup_blocked and login_cancelled reach the caller", async () => {
      const r = await fx.run("popupLoginThroughPlugin");
      assert.deepEqual(r.ok, { message: "resolved", status: "in:pop" });
      assert.deepEqual(r.options, [{ extraAuthParams: { prompt: "login" }, popup: true }]);
      assert.deepEqual(r.passthrough, { message: "resolved", status: "in:pass" });
      assert.deepEqual(r.blocked, { message: "popup_blocked", status: "out" });
      assert.deepEqual(r.cancelled, { message: "login_cancelled", status: "out" });
      assert.deepEqual({ beforeReady: r.beforeReady, afterReady: r.afterReady }, { beforeReady: 0, afterReady: 1 }, "before ready, it waits");
      assert.equal(r.calledAtOnce, 1, "once ready, the instance's login is called synchronously, in the click");
      assert.deepEqual(r.callOptions, [{ popup: true }, { popup: true }]);
    });

    test("useOidc without the plugin says so", async () => {
      const r = await fx.run("useOidcWithoutPlugin");
      assert.match(r.message, /createOidcPlugin/);
    });
  });
});
