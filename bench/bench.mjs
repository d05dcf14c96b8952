// Benchmark: pixy-oidc side by side with oidc-client-ts, in one Chromium, against one local
// OpenID provider (tests/support/provider.mjs) that answers every request `latency` ms late,
// both apps same-site with the provider.
//
//   npm run bench                                  (builds, then 40 ms provider latency)
//   npm run bench -- --latency 0                   (or BENCH_LATENCY_MS=0)
//   BENCH_REPS=3 BENCH_RENEWALS=0 node bench/bench.mjs --latency 40   (quick, no phase (5))
//
// Measured in the page, on the page's own clock, from the moment the browser starts fetching the
// page (Navigation Timing fetchStart: after the provider's redirects, so provider time before the
// callback is left out) to the moment the app knows whether the user is logged in (createOidc
// resolves; oidc-client-ts: signinRedirectCallback / signinSilent resolves or fails):
//   (1) callback → logged in         the login's redirect back: code exchange, validation
//   (2) reload → logged in           one tab: the hidden prompt=none iframe
//   (3) first visit → logged out     no provider session: the iframe answers login_required
//   (4) new tab → logged in          a second tab beside a logged-in one
// and (5) token-endpoint requests per token lifetime with 3 tabs open: for each renewal seen in
// the first tab, the library's token requests since the previous one (3 tabs renewing on their
// own make 3; tabs that share one renewal make 1).
//
// Each of (1)–(4) runs BENCH_REPS times (default 10), the two libraries interleaved (the order
// alternates per round). (5) runs both libraries at once, until each has BENCH_RENEWALS samples
// (0 skips it). For pixy-oidc, the `pixy:` performance marks the library sets are read after each
// load and turned into a breakdown: where the time of each scenario goes.
// Prints the tables and writes them to bench/RESULTS.md with the machine it ran on.
import { writeFile, readFile } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startProvider } from "../tests/support/provider.mjs";
import { startAppServer } from "../tests/support/app-server.mjs";
import { launchBrowser } from "../tests/support/browser.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function arg(name) {
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) return argv[i + 1];
    if (argv[i].startsWith(`--${name}=`)) return argv[i].slice(name.length + 3);
  }
  return undefined;
}
const num = (v, d) => {
  if (v === undefined || v === "") return d;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`not a number ≥ 0: ${v}`);
    process.exit(2);
  }
  return n;
};
const LATENCY_MS = num(arg("latency") ?? process.env.BENCH_LATENCY_MS, 40);
const REPS = num(arg("reps") ?? process.env.BENCH_REPS, 10);
const WARMUP = num(process.env.BENCH_WARMUP, 1); // untimed rounds first (cold caches, JIT)
const RENEWALS = num(process.env.BENCH_RENEWALS, 10);
// Access-token lifetime. pixy-oidc renews a quarter of the lifetime before expiry (at most a
// minute): 10 s here. oidc-client-ts is given the same lead (its default, 60 s, would renew
// 40 s tokens at once, in a loop).
const TTL_S = 40;
const LEAD_S = Math.min(TTL_S / 4, 60);
const WAIT = 30_000;
const PHASE5_CAP_MS = num(process.env.BENCH_PHASE5_CAP_MS, 10 * 60_000);
const SHARED = process.env.BENCH_SHARED_MACHINE; // a note for RESULTS.md, e.g. "2 cores shared with builds"

const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

if (!existsSync(path.join(root, "pkg/index.js"))) {
  console.error("pkg/index.js is missing: build the package first (bash scripts/build.sh)");
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// Set-up: two apps (one per library, separate origins so tabs of one never see the other), one
// provider, one browser.

const LIBS = {
  pixy: { label: "pixy-oidc", clientId: "bench-pixy", page: "/bench/pixy.html" },
  ocs: { label: "oidc-client-ts", clientId: "bench-ocs", page: "/bench/oidc-client-ts.html" },
};
const KEYS = ["pixy", "ocs"];

const mounts = { "/bench/": "bench", "/ocs/": "node_modules/oidc-client-ts/dist/browser" };
LIBS.pixy.app = await startAppServer({ host: "127.0.0.1", port: 0, mounts });
LIBS.ocs.app = await startAppServer({ host: "127.0.0.1", port: 0, mounts });
const url = (lib, p = lib.page) => `${lib.app.origin}${p}`;

const op = await startProvider({
  quiet: true,
  latency: LATENCY_MS,
  ttl: { AccessToken: TTL_S },
  clients: [
    {
      client_id: LIBS.pixy.clientId,
      redirect_uris: [url(LIBS.pixy), url(LIBS.pixy, "/bench/pixy-silent.html")],
      post_logout_redirect_uris: [url(LIBS.pixy)],
    },
    {
      client_id: LIBS.ocs.clientId,
      redirect_uris: [url(LIBS.ocs), url(LIBS.ocs, "/bench/oidc-client-ts-silent.html")],
      post_logout_redirect_uris: [url(LIBS.ocs)],
    },
  ],
});
LIBS.pixy.app.setConfig({
  issuer: op.issuer,
  clientId: LIBS.pixy.clientId,
  scopes: ["openid", "profile"],
  // A small silent page, as oidc-client-ts is given one.
  silentRedirectUri: url(LIBS.pixy, "/bench/pixy-silent.html"),
});
LIBS.ocs.app.setConfig({ issuer: op.issuer, clientId: LIBS.ocs.clientId, scopes: ["openid", "profile"], renewLeadSeconds: LEAD_S });

// The provider's own view of token requests, by client.
const grants = [];
const grant = (ctx, ok) =>
  grants.push({ client: ctx.oidc.client?.clientId, type: ctx.oidc.params?.grant_type, at: Date.now(), ok });
op.provider.on("grant.success", (ctx) => grant(ctx, true));
op.provider.on("grant.error", (ctx, err) => {
  grant(ctx, false);
  if (process.env.BENCH_DEBUG) {
    console.log(`  grant.error ${ctx.oidc.client?.clientId} ${ctx.oidc.params?.grant_type}: ${err?.message} ${err?.error_description ?? ""}`);
  }
});

const browser = await launchBrowser();
const { context } = browser;
context.setDefaultTimeout(WAIT);
context.setDefaultNavigationTimeout(WAIT);

let stopping = false;
async function shutdown() {
  stopping = true;
  await browser.close();
  await Promise.allSettled([op.close(), LIBS.pixy.app.close(), LIBS.ocs.app.close()]);
}
process.once("SIGINT", () => shutdown().then(() => process.exit(130)));

// ---------------------------------------------------------------------------------------------
// Page helpers

/** A tab that records what it asks the provider (main frame or iframe) and its documents. */
async function newTab() {
  const page = await context.newPage();
  const tab = { page, requests: [], docs: [] };
  page.on("request", (r) => {
    const u = new URL(r.url());
    let main = false;
    try {
      main = r.frame() === page.mainFrame();
    } catch {
      // no frame
    }
    if (u.origin === op.issuer) {
      tab.requests.push({ at: Date.now(), path: u.pathname, method: r.method(), main });
    } else if (main && r.isNavigationRequest()) {
      tab.docs.push({ at: Date.now(), path: u.pathname, callback: u.searchParams.has("code") || u.searchParams.has("error") });
    }
  });
  page.on("pageerror", (e) => console.error(`  [pageerror] ${e.message}`));
  if (process.env.BENCH_DEBUG) page.on("console", (m) => console.log(`  [console] ${m.text()}`));
  return tab;
}

/**
 * What the page knows once it is ready: window.bench, plus (read in the page) the library's
 * `pixy:` marks, Navigation Timing and the Resource Timing of its own requests (paths only, no
 * query: nothing of an authorization response or a token leaves the page).
 */
const collect = () => {
  if (window.__old || document.body?.dataset.ready !== "1" || !window.bench) return null;
  const nav = performance.getEntriesByType("navigation")[0];
  const marks = performance
    .getEntriesByType("mark")
    .filter((m) => m.name.startsWith("pixy:"))
    .map((m) => ({ name: m.name, t: m.startTime, id: typeof m.detail === "number" ? m.detail : null }));
  const res = performance.getEntriesByType("resource").map((r) => {
    const u = new URL(r.name);
    return { origin: u.origin, path: u.pathname, type: r.initiatorType, start: r.startTime, end: r.responseEnd };
  });
  return {
    ...window.bench,
    nav: nav ? { fetchStart: nav.fetchStart, responseEnd: nav.responseEnd, domInteractive: nav.domInteractive } : null,
    marks,
    res,
  };
};

/** Waits for window.bench in a document not marked old; returns it with the timings. */
async function waitBench(tab) {
  const deadline = Date.now() + WAIT;
  for (;;) {
    try {
      const b = await tab.page.evaluate(collect);
      if (b) return b;
    } catch {
      // navigating
    }
    if (Date.now() > deadline) throw new Error(`the bench page never became ready (url ${tab.page.url()})`);
    await sleep(10);
  }
}

async function reload(tab) {
  await tab.page.evaluate(() => {
    window.__old = true;
  });
  const t = Date.now();
  await tab.page.reload({ waitUntil: "commit" });
  const b = await waitBench(tab);
  return { b, t };
}

async function visit(tab, lib) {
  const t = Date.now();
  await tab.page.goto(url(lib), { waitUntil: "commit" });
  const b = await waitBench(tab);
  return { b, t };
}

/** The provider requests a tab sent since `t`. */
const since = (tab, t) => tab.requests.filter((x) => x.at >= t);

/** How a load got its session, from what the tab asked the provider. */
function via(reqs) {
  const auth = reqs.filter((x) => x.path === "/auth" && x.method === "GET");
  if (auth.some((x) => x.main)) return "redirect";
  if (auth.length) return "iframe";
  if (reqs.some((x) => x.path === "/token" && x.method === "POST")) return "token";
  return "no request";
}

/** Starts a login and signs in at the provider (if it asks); waits until back on the app. */
async function logIn(tab, lib, user) {
  await tab.page.evaluate(() => {
    window.__old = true;
    window.benchLogin();
  });
  const deadline = Date.now() + WAIT;
  for (;;) {
    const u = tab.page.url();
    if (u.startsWith(`${op.issuer}/interaction/`)) {
      const input = tab.page.locator("input[name=login]");
      if (await input.isVisible().catch(() => false)) {
        await input.fill(user);
        await tab.page.getByRole("button", { name: "Sign in" }).click();
        await tab.page.waitForURL((x) => !x.href.startsWith(`${op.issuer}/interaction/`)).catch(() => {});
      }
    } else if (u.startsWith(lib.app.origin)) {
      const b = await tab.page.evaluate(collect).catch(() => null);
      if (b) {
        // The callback's own requests: from the moment the browser asked for the callback URL.
        const cb = tab.docs.filter((d) => d.callback).at(-1);
        return { b, t: cb?.at ?? Date.now() };
      }
    }
    if (Date.now() > deadline) throw new Error(`login did not complete (url ${tab.page.url()})`);
    await sleep(10);
  }
}

async function resetBrowser() {
  for (const p of context.pages()) await p.close().catch(() => {});
  await context.clearCookies();
}

// ---------------------------------------------------------------------------------------------
// (1)–(4): one round per library per repetition, interleaved

const SCENARIOS = {
  callback: { title: "(1) callback → logged in", loggedIn: true, target: 0.8 },
  reload: { title: "(2) reload → logged in (iframe)", loggedIn: true, target: 0.9 },
  first: { title: "(3) first visit, no provider session → logged out", loggedIn: false, target: 1.0 },
  newTab: { title: "(4) new tab beside a logged-in tab → logged in", loggedIn: true, target: 0.4, zeroRequests: true },
};
const samples = {}; // samples[scenario][libKey] = [{ ms, lib, via, requests, ok, error, timeline }]
for (const s of Object.keys(SCENARIOS)) samples[s] = { pixy: [], ocs: [] };
let warmingUp = false;

function record(scenario, key, b, reqs) {
  if (warmingUp) return;
  const want = SCENARIOS[scenario].loggedIn;
  const ok = !!b && !b.error && b.loggedIn === want;
  samples[scenario][key].push({
    ms: ok ? b.at - b.fetchStart : null,
    lib: ok ? b.at - b.start : null,
    via: via(reqs),
    requests: reqs.length,
    paths: reqs.map((r) => `${r.method} ${r.path}`),
    ok,
    error: b?.error ?? (ok ? null : want ? "not logged in" : "logged in"),
    timeline: ok ? (key === "pixy" ? timeline(b) : resourceTimeline({ ...b, callback: scenario === "callback" })) : null,
    marks: b?.marks?.length ?? 0,
  });
  if (process.env.BENCH_DEBUG) {
    const { marks, res, ...rest } = b ?? {};
    console.log(`  ${scenario} ${key}: ${JSON.stringify(rest)} requests ${reqs.map((r) => r.path).join(" ")}`);
  }
}

async function round(key, i) {
  const lib = LIBS[key];
  await resetBrowser();
  const t1 = await newTab();
  const v = await visit(t1, lib);
  record("first", key, v.b, since(t1, v.t));
  if (v.b.loggedIn) throw new Error(`${lib.label}: expected to start logged out`);

  const l = await logIn(t1, lib, `user${i}`);
  record("callback", key, l.b, since(t1, l.t));

  const r = await reload(t1);
  record("reload", key, r.b, since(t1, r.t));

  const t2 = await newTab();
  const n = await visit(t2, lib);
  record("newTab", key, n.b, since(t2, n.t));
}

// ---------------------------------------------------------------------------------------------
// Where the time goes (pixy-oidc), from the library's `pixy:` marks: each action the engine asks
// for (pixy:do:<action>, detail = its id) is paired with the answer that carries the same id
// (pixy:event:<type>); fetches are named by pixy:fetch:<kind>.

const ANSWERS = {
  fetch: ["response", "failed"],
  digest: ["digest", "failed"],
  verify: ["verified", "failed"],
  frame: ["frame"],
  queryLocks: ["locks"],
  lock: ["lockGranted"],
};
const FETCH_NAMES = {
  discovery: "discovery request",
  jwks: "JWKS request",
  token: "token request",
  userinfo: "userinfo request",
};

/** Steps of one load: [{ name, start, end }] in ms after fetchStart. */
function timeline(b) {
  const f0 = b.fetchStart;
  const steps = [];
  const add = (name, start, end) => {
    if (start != null && end != null) steps.push({ name, start: start - f0, end: end - f0 });
  };
  const marks = b.marks ?? [];
  const mark = (name) => marks.find((m) => m.name === name)?.t;
  if (b.nav) add("page HTML", b.nav.fetchStart, b.nav.responseEnd);
  const file = (p, name) => {
    const r = b.res.find((x) => x.path === p);
    if (r) add(name, r.start, r.end);
  };
  file("/config.js", "the page's /config.js fetched (classic script)");
  file("/pkg/index.js", "library bundle fetched (index.js)");
  file("/pkg/errors.js", "errors.js fetched (imported by index.js)");
  add("library evaluated (pixy:module)", mark("pixy:module"), mark("pixy:module"));
  add("initWasm (wasm fetched, compiled, instantiated)", mark("pixy:wasm:start"), mark("pixy:wasm:ready"));
  const wasm = b.res.find((r) => r.path.endsWith(".wasm"));
  if (wasm) add("  of which: .wasm fetched (Resource Timing)", wasm.start, wasm.end);
  add("engine start (pixy:start)", mark("pixy:start"), mark("pixy:start"));
  const frameAt = marks.find((m) => m.name === "pixy:do:frame")?.t;
  for (const [i, m] of marks.entries()) {
    const what = m.name.startsWith("pixy:do:") ? m.name.slice(8) : null;
    if (!what || !ANSWERS[what] || m.id == null) continue;
    const answer = marks.slice(i + 1).find((x) => x.id === m.id && ANSWERS[what].some((a) => x.name === `pixy:event:${a}`));
    let name = what;
    if (what === "fetch") {
      const kind = marks.find((x) => x.id === m.id && x.name.startsWith("pixy:fetch:"))?.name.slice(11);
      name = FETCH_NAMES[kind] ?? `${kind} request`;
    } else if (what === "digest") name = frameAt != null && m.t <= frameAt ? "PKCE verifier digest (WebCrypto)" : "at_hash digest (WebCrypto)";
    else if (what === "verify") name = "ID token signature (WebCrypto importKey + verify)";
    else if (what === "frame") name = "hidden iframe: /auth → app page → postMessage";
    else if (what === "queryLocks") name = "Web Locks query";
    else if (what === "lock") name = "Web Lock";
    add(name, m.t, answer?.t);
  }
  // A start without a callback first asks the other tabs (BroadcastChannel "hello").
  const start = mark("pixy:start");
  const hello = marks.find((m) => m.name === "pixy:do:post" && m.t >= start);
  if (hello && !marks.some((m) => m.name === "pixy:do:replaceUrl")) {
    const answer = marks.find((m) => m.t >= hello.t && m.name === "pixy:event:tab");
    const discovery = marks.find((m) => m.name === "pixy:fetch:discovery");
    const end = b.restoredVia === "otherTab" ? answer?.t : discovery?.t;
    add(b.restoredVia === "otherTab" ? "ask the other tabs → session handed over" : "wait for another tab's answer (none came)", hello.t, end);
  }
  // Time inside the engine: from each event to the first action it gave, summed.
  let engine = 0;
  for (const [i, m] of marks.entries()) {
    if (!m.name.startsWith("pixy:event:")) continue;
    const next = marks[i + 1];
    if (next?.name.startsWith("pixy:do:")) engine += next.t - m.t;
  }
  steps.push({ name: "in the engine (each event → its first action, summed)", start: null, end: null, dur: engine });
  add("createOidc resolved (pixy:ready)", mark("pixy:ready"), mark("pixy:ready"));
  return steps;
}

/**
 * oidc-client-ts sets no marks: its steps as Resource Timing shows them (the page, the library,
 * each request to the provider, the silent iframe).
 */
function resourceTimeline(b) {
  const f0 = b.fetchStart;
  const steps = [];
  const add = (name, start, end) => {
    if (start != null && end != null) steps.push({ name, start: start - f0, end: end - f0 });
  };
  if (b.nav) add("page HTML", b.nav.fetchStart, b.nav.responseEnd);
  for (const r of b.res) {
    let name = null;
    if (r.path.endsWith("oidc-client-ts.min.js")) name = "library fetched (oidc-client-ts.min.js)";
    else if (r.path === "/config.js") name = "the page's /config.js fetched (classic script)";
    else if (r.origin === op.issuer) {
      if (r.path.includes("/.well-known/")) name = "discovery request";
      else if (r.path === "/token") name = "token request";
      else if (r.path === "/jwks") name = "JWKS request";
      else if (r.path === "/me") name = "userinfo request";
      else if (r.path === "/auth" && r.type === "iframe") name = "hidden iframe: /auth → silent page (Resource Timing)";
      else name = `${r.path} (${r.type})`;
    } else if (r.type === "iframe") name = `iframe ${r.path}`;
    if (name) add(name, r.start, r.end);
  }
  // A cross-origin iframe navigation has no Resource Timing entry in the parent: the iframe is
  // what lies between the discovery answer and the token request (or the end, logged out).
  const disc = steps.find((x) => x.name === "discovery request");
  const auth = b.res.some((r) => r.origin === op.issuer && r.path === "/auth");
  if (disc && !auth && b.navType !== undefined && !b.callback) {
    const token = steps.find((x) => x.name === "token request");
    steps.push({ name: "hidden iframe (inferred: discovery answered → token request, or → known)", start: disc.end, end: token ? token.start : b.at - f0 });
  }
  add("logged in / out known", b.at, b.at);
  return steps;
}

// ---------------------------------------------------------------------------------------------
// (5): three tabs per library, both at once

async function phase5() {
  await resetBrowser();
  const tabs = { pixy: [], ocs: [] };
  for (const key of KEYS) {
    const lib = LIBS[key];
    const t1 = await newTab();
    await visit(t1, lib);
    const { b } = await logIn(t1, lib, "renewer");
    if (!b.loggedIn) throw new Error(`${lib.label}: login failed in phase 5: ${b.error}`);
    tabs[key].push(t1);
    for (let n = 0; n < 2; n++) {
      const t = await newTab();
      const { b: bt } = await visit(t, lib);
      if (!bt.loggedIn) throw new Error(`${lib.label}: tab ${n + 2} is not logged in: ${bt.error ?? "logged out"}`);
      tabs[key].push(t);
    }
  }
  const started = Date.now();
  console.log(`  3 tabs each are open; waiting for ${RENEWALS} renewals seen by each library's first tab (cap ${PHASE5_CAP_MS / 1000} s) …`);
  const changes = async (key) => (await tabs[key][0].page.evaluate(() => window.benchRenewals)).filter((t) => t > started);
  for (;;) {
    const [p, o] = [await changes("pixy"), await changes("ocs")];
    if ((p.length > RENEWALS && o.length > RENEWALS) || Date.now() - started > PHASE5_CAP_MS) break;
    await sleep(1000);
  }
  const out = {};
  for (const key of KEYS) {
    const ch = await changes(key);
    const mine = grants.filter((g) => g.client === LIBS[key].clientId);
    const s = [];
    for (let i = 1; i < ch.length; i++) s.push(mine.filter((g) => g.at > ch[i - 1] && g.at <= ch[i]).length);
    const during = mine.filter((g) => g.at > started);
    const failed = during.filter((g) => !g.ok).length;
    const types = [...new Set(during.map((g) => g.type))].join(", ") || "—";
    out[key] = { samples: s, failed, types, seconds: (Date.now() - started) / 1000 };
  }
  return out;
}

/**
 * What a `pixy:` mark costs in this browser (µs each), as the library sets them: the median of
 * 30 batches of 200 (a load sets a few dozen; performance.now() is coarse, hence batches).
 */
async function markCost() {
  const tab = await newTab();
  await tab.page.goto(url(LIBS.pixy, "/bench/oidc-client-ts-silent.html"), { waitUntil: "load" }).catch(() => {});
  const r = await tab.page.evaluate(() => {
    const run = (f, N = 200) => {
      const xs = [];
      for (let k = 0; k < 30; k++) {
        const t = performance.now();
        for (let i = 0; i < N; i++) f(i);
        xs.push(((performance.now() - t) * 1000) / N);
        performance.clearMarks();
      }
      return xs.sort((a, b) => a - b)[15];
    };
    run((i) => globalThis.performance?.mark?.(`pixy:event:response`, { detail: i })); // warm
    const withDetail = run((i) => globalThis.performance?.mark?.(`pixy:event:response`, { detail: i }));
    const plain = run(() => globalThis.performance?.mark?.("pixy:start"));
    return { withDetail, plain };
  });
  await tab.page.close();
  return r;
}

// ---------------------------------------------------------------------------------------------
// Run

const stats = (xs) => {
  const v = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = v.length >> 1;
  return { n: v.length, min: v[0], median: v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2, max: v.at(-1) };
};

let phase5Result = null;
let cost = null;
const began = Date.now();
const loads = [os.loadavg()[0]]; // 1-minute load average: at the start and after each round
try {
  console.log(
    `pixy-oidc vs oidc-client-ts, provider latency ${LATENCY_MS} ms: ${WARMUP} warm-up and ${REPS} interleaved rounds of (1)–(4)` +
      (RENEWALS > 0 ? ", then (5)" : ""),
  );
  warmingUp = true;
  for (let i = 0; i < WARMUP; i++) {
    for (const key of KEYS) await round(key, -1 - i).catch((e) => console.error(`  warm-up ${LIBS[key].label}: ${e.message.split("\n")[0]}`));
  }
  warmingUp = false;
  for (let i = 0; i < REPS && !stopping; i++) {
    const order = i % 2 ? ["ocs", "pixy"] : ["pixy", "ocs"];
    for (const key of order) {
      try {
        await round(key, i);
      } catch (e) {
        console.error(`  round ${i + 1} ${LIBS[key].label} failed: ${e.message.split("\n")[0]}`);
        for (const s of Object.keys(SCENARIOS)) {
          while (samples[s][key].length <= i) samples[s][key].push({ ms: null, via: "-", requests: null, ok: false, error: e.message.split("\n")[0] });
        }
      }
    }
    loads.push(os.loadavg()[0]);
    process.stdout.write(`  round ${i + 1}/${REPS} done (load ${loads.at(-1).toFixed(2)})\n`);
  }
  cost = await markCost().catch(() => null);
  if (RENEWALS > 0) {
    console.log("(5) token requests per token lifetime, 3 tabs");
    phase5Result = await phase5();
  }
} finally {
  await shutdown();
}

// ---------------------------------------------------------------------------------------------
// Report

const fmt = (x, d = 0) => (x == null ? "—" : x.toFixed(d));
const fmtStats = (s, d = 0) => (s ? `${fmt(s.min, d)} / **${fmt(s.median, d)}** / ${fmt(s.max, d)}` : "—");
const ratioOf = (a, b) => (a && b && b.median > 0 ? a.median / b.median : null);
const mostly = (list) => {
  const counts = {};
  for (const x of list) if (x.ok) counts[x.via] = (counts[x.via] ?? 0) + 1;
  return Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([k, n]) => (n === list.length ? k : `${k} ${n}/${list.length}`)).join(", ") || "—";
};
const failures = (list) => list.filter((x) => !x.ok).length;
const md = (cells) => `| ${cells.join(" | ")} |`;
const mdTable = (header, rows) => [md(header), md(header.map(() => "---")), ...rows.map(md)].join("\n");

const header = [
  "scenario (ms from fetchStart)",
  "pixy-oidc min / **median** / max",
  "oidc-client-ts min / **median** / max",
  "pixy ÷ oidc-client-ts",
  "target",
  "provider requests (pixy / oidc-client-ts, median)",
  "via (pixy / oidc-client-ts)",
];
const rows = [];
const verdicts = {};
for (const [s, sc] of Object.entries(SCENARIOS)) {
  const p = stats(samples[s].pixy.map((x) => x.ms));
  const o = stats(samples[s].ocs.map((x) => x.ms));
  const rp = stats(samples[s].pixy.map((x) => x.requests));
  const ro = stats(samples[s].ocs.map((x) => x.requests));
  const fp = failures(samples[s].pixy);
  const fo = failures(samples[s].ocs);
  const r = ratioOf(p, o);
  const met = r != null && r <= sc.target && (!sc.zeroRequests || rp?.max === 0);
  verdicts[s] = { ratio: r, met, requests: rp?.median };
  rows.push([
    sc.title,
    fmtStats(p, 0) + (fp ? ` (${fp}/${samples[s].pixy.length} failed)` : ""),
    fmtStats(o, 0) + (fo ? ` (${fo}/${samples[s].ocs.length} failed)` : ""),
    r == null ? "—" : `${r.toFixed(2)}×`,
    `≤ ${sc.target.toFixed(1)}×${sc.zeroRequests ? ", 0 requests" : ""} ${met ? "✓ met" : "✗ missed"}`,
    `${fmt(rp?.median)} / ${fmt(ro?.median)}`,
    `${mostly(samples[s].pixy)} / ${mostly(samples[s].ocs)}`,
  ]);
}
if (phase5Result) {
  const p = stats(phase5Result.pixy.samples);
  const o = stats(phase5Result.ocs.samples);
  const note = (r) => (r.failed ? ` (${r.failed} failed grants)` : "");
  const r = ratioOf(p, o);
  rows.push([
    "(5) token requests per token lifetime, 3 tabs",
    `${fmtStats(p, 0)} (n=${p?.n ?? 0})${note(phase5Result.pixy)}`,
    `${fmtStats(o, 0)} (n=${o?.n ?? 0})${note(phase5Result.ocs)}`,
    r == null ? "—" : `${r.toFixed(2)}×`,
    "—",
    "—",
    `${phase5Result.pixy.types} / ${phase5Result.ocs.types}`,
  ]);
}
const table = mdTable(header, rows);

// The same loads, counting only the library's call (pixy-oidc: createOidc() to resolved, wasm
// loading included; oidc-client-ts: from its page script's start to logged in).
const libHeader = ["scenario (library call only, ms)", "pixy-oidc min / **median** / max", "oidc-client-ts min / **median** / max", "pixy ÷ oidc-client-ts"];
const libRows = Object.entries(SCENARIOS).map(([s, sc]) => {
  const p = stats(samples[s].pixy.map((x) => x.lib));
  const o = stats(samples[s].ocs.map((x) => x.lib));
  const r = ratioOf(p, o);
  return [sc.title, fmtStats(p, 1), fmtStats(o, 1), r == null ? "—" : `${r.toFixed(2)}×`];
});
const libTable = mdTable(libHeader, libRows);

// Breakdown: per scenario, each step's median start (ms after fetchStart) and median duration,
// over the runs that had it; steps in order of their median start.
function breakdownTable(s, key = "pixy") {
  const runs = samples[s][key].filter((x) => x.timeline);
  if (!runs.length) return "(no runs)";
  const by = new Map();
  for (const run of runs) {
    const seen = new Map();
    for (const st of run.timeline) {
      // A step that happens twice in one load (two JWKS fetches) gets "#2".
      const n = (seen.get(st.name) ?? 0) + 1;
      seen.set(st.name, n);
      const name = n > 1 ? `${st.name} #${n}` : st.name;
      if (!by.has(name)) by.set(name, { starts: [], durs: [], n: 0 });
      const e = by.get(name);
      e.n++;
      if (st.start != null) e.starts.push(st.start);
      e.durs.push(st.dur ?? st.end - st.start);
    }
  }
  const entries = [...by.entries()].map(([name, e]) => ({
    name,
    n: e.n,
    start: stats(e.starts),
    dur: stats(e.durs),
  }));
  entries.sort((a, b) => (a.start?.median ?? Infinity) - (b.start?.median ?? Infinity));
  const rowsB = entries.map((e) => {
    const point = e.dur?.max === 0 && e.start;
    return [
      e.name + (e.n < runs.length ? ` (${e.n}/${runs.length} runs)` : ""),
      fmt(e.start?.median, 1),
      point ? "·" : fmt(e.dur?.median, 1),
      point ? "" : e.start ? fmt(e.start.median + e.dur.median, 1) : "",
    ];
  });
  return mdTable([`step (${LIBS[key].label})`, "starts at (median ms)", "takes (median ms)", "≈ ends at"], rowsB);
}
const breakdown = Object.entries(SCENARIOS)
  .map(([s, sc]) => `#### ${sc.title}\n\n${breakdownTable(s)}`)
  .join("\n\n");
const ocsBreakdown = Object.entries(SCENARIOS)
  .map(([s, sc]) => `#### ${sc.title}\n\n${breakdownTable(s, "ocs")}`)
  .join("\n\n");
const marksPerLoad = stats(Object.values(samples).flatMap((x) => x.pixy.map((r) => r.marks || null)));

const raw = [
  ...Object.entries(SCENARIOS).flatMap(([s, sc]) =>
    KEYS.map(
      (k) =>
        `- ${sc.title}, ${LIBS[k].label}: ${samples[s][k].map((x) => (x.ok ? x.ms.toFixed(0) : `✗(${x.error})`)).join(", ")}`,
    ),
  ),
  ...Object.entries(SCENARIOS).flatMap(([s, sc]) =>
    KEYS.map((k) => {
      const counts = {};
      for (const x of samples[s][k]) for (const p of x.paths ?? []) counts[p] = (counts[p] ?? 0) + 1;
      const list = Object.entries(counts).map(([p, n]) => `${p} ×${n}`).join(", ") || "none";
      return `- ${sc.title}, ${LIBS[k].label}, provider requests over all runs: ${list}`;
    }),
  ),
  ...(phase5Result ? KEYS.map((k) => `- (5) ${LIBS[k].label}: ${phase5Result[k].samples.join(", ") || "—"}`) : []),
].join("\n");

const cpu = (() => {
  try {
    return readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.+)$/m)?.[1].trim();
  } catch {
    return null;
  }
})() ?? os.cpus()[0]?.model ?? "unknown";
let chromium = "unknown";
try {
  chromium = execFileSync(process.env.CHROMIUM ?? "/usr/bin/chromium", ["--version"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  }).trim();
} catch {
  // keep unknown
}
const version = async (p) => JSON.parse(await readFile(path.join(root, p), "utf8")).version;
const [pixyVersion, ocsVersion, opVersion] = await Promise.all([
  version("package.json"),
  version("node_modules/oidc-client-ts/package.json"),
  version("node_modules/oidc-provider/package.json"),
]);
let commit = "";
try {
  commit = execFileSync("git", ["-C", root, "describe", "--always", "--dirty"], { encoding: "utf8" }).trim();
} catch {
  // not a git checkout
}
const loadStats = stats(loads);

const report = `# Benchmark: pixy-oidc and oidc-client-ts

Run ${new Date(began).toISOString()} with \`node bench/bench.mjs --latency ${LATENCY_MS}\` (what \`npm run bench -- --latency ${LATENCY_MS}\` runs after building), ${fmt((Date.now() - began) / 1000)} s.

- **Provider latency: ${LATENCY_MS} ms** added to every answer of the local provider (discovery,
  JWKS, authorization redirects, token, userinfo, its pages); the apps' own files come from a
  local server without added latency.
- Machine: ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}; 1-minute load average during (1)–(4) ${fmt(loadStats.min, 1)} / ${fmt(loadStats.median, 1)} / ${fmt(loadStats.max, 1)} (min / median / max)${SHARED ? `\n- **${SHARED}**: the numbers are noisier than on an idle machine (see min / max).` : ""}
- Browser: ${chromium} (headless, via playwright-core)
- Node ${process.version}; pixy-oidc ${pixyVersion}${commit ? ` (${commit})` : ""}; oidc-client-ts ${ocsVersion} (dist/browser build); provider: oidc-provider ${opVersion} (tests/support/provider.mjs), access tokens live ${TTL_S} s
- ${REPS} interleaved rounds of (1)–(4) after ${WARMUP} warm-up round${WARMUP === 1 ? "" : "s"}${phase5Result ? `; (5) ran both libraries at once for ${fmt(Math.max(phase5Result.pixy.seconds, phase5Result.ocs.seconds))} s` : "; (5) not run"}

${table}

Only the library's call (pixy-oidc: \`createOidc()\` until it resolves, wasm loading included;
oidc-client-ts: from its page script's start until it knows):

${libTable}

## Where pixy-oidc's time goes

From the \`pixy:\` performance marks the library sets (module evaluated, around \`initWasm\`,
engine start, each action the engine asks for and the answer with the same id, createOidc
resolved), read in the page after each load, with Navigation and Resource Timing for the page and
the files. Medians over the runs; "starts at" is ms after the document's fetchStart; steps that
overlap run in parallel. A mark costs ${cost ? `${fmt(cost.withDetail, 1)} µs (with its numeric detail; ${fmt(cost.plain, 1)} µs without)` : "(not measured)"} in this browser; a
load set ${marksPerLoad ? `${marksPerLoad.min}–${marksPerLoad.max} (median ${marksPerLoad.median})` : "a few dozen"} of them${cost && marksPerLoad ? `: about ${fmt((cost.withDetail * marksPerLoad.median) / 1000, 2)} ms per load` : ""}. No mark holds a URL, a token or any response: names are fixed
(\`pixy:do:fetch\`, \`pixy:fetch:token\`, …) and the detail is the action's number.

${breakdown}

For comparison, oidc-client-ts's steps as Resource Timing shows them (it sets no marks):

${ocsBreakdown}

## How it is measured

- Times are taken in the page, on its own clock: from Navigation Timing \`fetchStart\` of the
  document (for the callback that is after the provider's redirects) to the moment the app knows
  whether the user is logged in (pixy-oidc: \`createOidc\` resolves; oidc-client-ts:
  \`signinRedirectCallback\` or \`signinSilent\` resolves, or fails with login_required). Loading
  and compiling each library is included; the app server sends \`Cache-Control: no-store\`, so
  every load fetches the code again.
- Both apps are on 127.0.0.1 (other ports than the provider): same-site, so the hidden iframe of
  either library sees the provider's session. Each round starts with no provider session (cookies
  cleared, all tabs closed): (3) is that first visit; then a login at the provider's form (not
  timed) whose callback is (1); the same tab reloads (2); a second tab opens beside it (4).
- The added latency is one delay per request, like a round trip to a provider that far away;
  it leaves out what a real network adds on a new connection (TCP and TLS handshakes). The
  provider sends no \`Cache-Control\` for discovery or the JWKS, so neither library gets them from
  the HTTP cache; with a provider that allows caching, reloads would skip those requests.
- "provider requests" are the requests the tab (its frames included) sent to the provider during
  the timed load, as the browser saw them (Playwright's request events): for the callback, from
  the request for the callback URL on.
- (5): three tabs of each app stay open; every time the first tab gets new tokens, the provider's
  token-endpoint requests from that app since the previous time are counted (one sample per token
  lifetime). min / median / max are over those samples.
- Renewal lead: pixy-oidc renews a quarter of the token's lifetime before expiry (at most one
  minute): ${LEAD_S} s for the ${TTL_S} s tokens. oidc-client-ts is given the same ${LEAD_S} s
  (\`accessTokenExpiringNotificationTimeInSeconds\`; its 60 s default exceeds the tokens'
  lifetime).
- oidc-client-ts is set up for this case: the user kept in memory (\`InMemoryWebStorage\`; its
  default, sessionStorage, would let a same-tab reload skip the provider entirely but keeps tokens
  in storage, which pixy-oidc never does), \`automaticSilentRenew\`, its own small
  \`silent_redirect_uri\` page. It has no hand-over between tabs, so every tab restores and renews
  on its own. It does not check ID token signatures, which pixy-oidc does (fetching the JWKS).
  pixy-oidc is given a page of the same size as its \`silentRedirectUri\` (bench/pixy-silent.html:
  it imports the library, which hands the answer to the parent); its app page carries the
  \`modulepreload\` and wasm \`preload\` hints the README recommends.
- "via" is how each load got its session, from what the tab asked the provider: "iframe" (a
  prompt=none authorization request in a subframe), "redirect" (top-level), "no request" (handed
  over by another tab), "token" (the callback's code exchange).

Raw samples (ms from fetchStart, in run order; ✗ = failed):

${raw}
`;

console.log(`\n${table}\n\nlibrary call only:\n${libTable}\n\n${breakdown}\n`);
if (cost) console.log(`a pixy: mark costs ${fmt(cost.withDetail, 1)} µs (${fmt(cost.plain, 1)} µs without detail); marks per load ${JSON.stringify(marksPerLoad)}`);
await writeFile(path.join(root, "bench/RESULTS.md"), report);
console.log("written to bench/RESULTS.md");
