// Benchmark: pixy-oidc side by side with oidc-client-ts, in one Chromium, against one local
// OpenID provider (tests/support/provider.mjs), both apps same-site with the provider.
//
//   bash scripts/build.sh && node bench/bench.mjs        (npm run bench)
//   BENCH_REPS=20 BENCH_RENEWALS=15 node bench/bench.mjs
//
// Measured in the page, on the page's own clock, from the moment the browser starts fetching the
// page (Navigation Timing fetchStart: after the provider's redirects, so provider time before the
// callback is left out) to the moment the app knows the user is logged in (createOidc resolves;
// oidc-client-ts: signinRedirectCallback / signinSilent resolves):
//   (1) callback → logged in      the login's redirect back: code exchange, validation
//   (2) reload → logged in        one tab: the hidden prompt=none iframe
//   (3) reload, another tab open  two tabs, one reloads
// and (4) token-endpoint requests per token lifetime with 3 tabs open: for each renewal seen in
// the first tab, the library's token requests since the previous one (3 tabs renewing on their
// own make 3; tabs that share one renewal make 1).
//
// Each of (1)–(3) runs BENCH_REPS times (default 10), the two libraries interleaved (the order
// alternates per round). (4) runs both libraries at once, until each has BENCH_RENEWALS samples.
// Prints a table and writes it to bench/RESULTS.md with the machine it ran on.
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
const REPS = Number(process.env.BENCH_REPS ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1); // untimed rounds first (cold caches, JIT)
const RENEWALS = Number(process.env.BENCH_RENEWALS ?? 10);
const TTL_S = 40; // access-token lifetime; both libraries renew 30 s before expiry
const WAIT = 20_000;
const PHASE4_CAP_MS = Number(process.env.BENCH_PHASE4_CAP_MS ?? 8 * 60_000);

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

const mounts = { "/bench/": "bench", "/ocs/": "node_modules/oidc-client-ts/dist/browser" };
LIBS.pixy.app = await startAppServer({ host: "127.0.0.1", port: 0, mounts });
LIBS.ocs.app = await startAppServer({ host: "127.0.0.1", port: 0, mounts });
const url = (lib, p = lib.page) => `${lib.app.origin}${p}`;

const op = await startProvider({
  quiet: true,
  ttl: { AccessToken: TTL_S },
  clients: [
    { client_id: LIBS.pixy.clientId, redirect_uris: [url(LIBS.pixy)], post_logout_redirect_uris: [url(LIBS.pixy)] },
    {
      client_id: LIBS.ocs.clientId,
      redirect_uris: [url(LIBS.ocs), url(LIBS.ocs, "/bench/oidc-client-ts-silent.html")],
      post_logout_redirect_uris: [url(LIBS.ocs)],
    },
  ],
});
for (const lib of Object.values(LIBS)) {
  lib.app.setConfig({ issuer: op.issuer, clientId: lib.clientId, scopes: ["openid", "profile"] });
}
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

/** A tab that records what it asks the provider (main frame or iframe). */
async function newTab() {
  const page = await context.newPage();
  const tab = { page, requests: [] };
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.origin !== op.issuer) return;
    let main = false;
    try {
      main = r.frame() === page.mainFrame();
    } catch {
      // no frame
    }
    tab.requests.push({ at: Date.now(), path: u.pathname, method: r.method(), main });
  });
  page.on("pageerror", (e) => console.error(`  [pageerror] ${e.message}`));
  if (process.env.BENCH_DEBUG) page.on("console", (m) => console.log(`  [console] ${m.text()}`));
  return tab;
}

/** Waits for window.bench in a document not marked old; returns it. */
async function waitBench(tab) {
  const deadline = Date.now() + WAIT;
  for (;;) {
    try {
      const b = await tab.page.evaluate(() => (!window.__old && document.body?.dataset.ready === "1" ? window.bench : null));
      if (b) return b;
    } catch {
      // navigating
    }
    if (Date.now() > deadline) throw new Error(`the bench page never became ready (url ${tab.page.url()})`);
    await sleep(25);
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

/** How a load got its session, from what the tab asked the provider since `t`. */
function via(tab, t) {
  const r = tab.requests.filter((x) => x.at >= t);
  const auth = r.filter((x) => x.path === "/auth" && x.method === "GET");
  if (auth.some((x) => x.main)) return "redirect";
  if (auth.length) return "iframe";
  if (r.some((x) => x.path === "/token" && x.method === "POST")) return "token";
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
      const b = await tab.page.evaluate(() => (!window.__old && document.body?.dataset.ready === "1" ? window.bench : null)).catch(() => null);
      if (b) return b;
    }
    if (Date.now() > deadline) throw new Error(`login did not complete (url ${tab.page.url()})`);
    await sleep(25);
  }
}

async function resetBrowser() {
  for (const p of context.pages()) await p.close().catch(() => {});
  await context.clearCookies();
}

// ---------------------------------------------------------------------------------------------
// (1)–(3): one round per library per repetition, interleaved

const samples = {}; // samples[scenario][libKey] = [{ ms, via, ok, error }]
const SCENARIOS = {
  callback: "(1) callback → logged in",
  reload: "(2) reload → logged in (iframe)",
  reloadTab: "(3) reload → logged in, another tab open",
};
for (const s of Object.keys(SCENARIOS)) samples[s] = { pixy: [], ocs: [] };

function record(scenario, key, b, how) {
  const ok = !!b?.loggedIn;
  if (warmingUp) return;
  samples[scenario][key].push({
    ms: ok ? b.at - b.fetchStart : null,
    lib: ok ? b.at - b.start : null,
    via: how,
    ok,
    error: b?.error ?? (ok ? null : "not logged in"),
  });
  if (process.env.BENCH_DEBUG) console.log(`  ${scenario} ${key}: ${JSON.stringify(b)} via ${how}`);
}

async function round(key, i) {
  const lib = LIBS[key];
  await resetBrowser();
  const t1 = await newTab();
  await t1.page.goto(url(lib), { waitUntil: "commit" });
  const start = await waitBench(t1);
  if (start.loggedIn) throw new Error(`${lib.label}: expected to start logged out`);

  const b1 = await logIn(t1, lib, `user${i}`);
  record("callback", key, b1, "code exchange");

  const r2 = await reload(t1);
  record("reload", key, r2.b, via(t1, r2.t));

  const t2 = await newTab();
  await t2.page.goto(url(lib), { waitUntil: "commit" });
  const b2 = await waitBench(t2);
  if (!b2.loggedIn) console.error(`  ${lib.label}: the second tab did not log in (${b2.error ?? "logged out"})`);
  const r3 = await reload(t1);
  record("reloadTab", key, r3.b, via(t1, r3.t));
}

// ---------------------------------------------------------------------------------------------
// (4): three tabs per library, both at once

async function phase4() {
  await resetBrowser();
  const tabs = { pixy: [], ocs: [] };
  for (const key of ["pixy", "ocs"]) {
    const lib = LIBS[key];
    const t1 = await newTab();
    await t1.page.goto(url(lib), { waitUntil: "commit" });
    await waitBench(t1);
    const b = await logIn(t1, lib, "renewer");
    if (!b.loggedIn) throw new Error(`${lib.label}: login failed in phase 4: ${b.error}`);
    tabs[key].push(t1);
    for (let n = 0; n < 2; n++) {
      const t = await newTab();
      await t.page.goto(url(lib), { waitUntil: "commit" });
      const bt = await waitBench(t);
      if (!bt.loggedIn) throw new Error(`${lib.label}: tab ${n + 2} is not logged in: ${bt.error ?? "logged out"}`);
      tabs[key].push(t);
    }
  }
  const started = Date.now();
  console.log(`  3 tabs each are open; waiting for ${RENEWALS} renewals seen by each library's first tab (cap ${PHASE4_CAP_MS / 1000} s) …`);
  const changes = async (key) => (await tabs[key][0].page.evaluate(() => window.benchRenewals)).filter((t) => t > started);
  for (;;) {
    const [p, o] = [await changes("pixy"), await changes("ocs")];
    if ((p.length > RENEWALS && o.length > RENEWALS) || Date.now() - started > PHASE4_CAP_MS) break;
    await sleep(1000);
  }
  const out = {};
  for (const key of ["pixy", "ocs"]) {
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

// ---------------------------------------------------------------------------------------------
// Run

const stats = (xs) => {
  const v = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = v.length >> 1;
  return { n: v.length, min: v[0], median: v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2, max: v.at(-1) };
};

let phase4Result;
let warmingUp = false;
try {
  console.log(`pixy-oidc vs oidc-client-ts: ${WARMUP} warm-up and ${REPS} interleaved rounds of (1)–(3), then (4)`);
  warmingUp = true;
  for (let i = 0; i < WARMUP; i++) {
    for (const key of ["pixy", "ocs"]) await round(key, -1 - i).catch((e) => console.error(`  warm-up ${LIBS[key].label}: ${e.message.split("\n")[0]}`));
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
          while (samples[s][key].length <= i) samples[s][key].push({ ms: null, via: "-", ok: false, error: e.message.split("\n")[0] });
        }
      }
    }
    process.stdout.write(`  round ${i + 1}/${REPS} done\n`);
  }
  console.log("(4) token requests per token lifetime, 3 tabs");
  phase4Result = await phase4();
} finally {
  await shutdown();
}

// ---------------------------------------------------------------------------------------------
// Report

const fmt = (x, d = 0) => (x == null ? "—" : x.toFixed(d));
const fmtStats = (s, d = 0) => (s ? `${fmt(s.min, d)} / ${fmt(s.median, d)} / ${fmt(s.max, d)}` : "—");
const ratio = (a, b) => (a && b && b.median > 0 ? `${(a.median / b.median).toFixed(2)}×` : "—");
const mostly = (list) => {
  const counts = {};
  for (const x of list) if (x.ok) counts[x.via] = (counts[x.via] ?? 0) + 1;
  return Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([k, n]) => (n === list.length ? k : `${k} ${n}/${list.length}`)).join(", ") || "—";
};
const failures = (list) => list.filter((x) => !x.ok).length;

const header = ["scenario", "pixy-oidc min / median / max", "oidc-client-ts min / median / max", "pixy ÷ oidc-client-ts (medians)", "pixy-oidc via", "oidc-client-ts via"];
const rows = [];
for (const [s, title] of Object.entries(SCENARIOS)) {
  const p = stats(samples[s].pixy.map((x) => x.ms));
  const o = stats(samples[s].ocs.map((x) => x.ms));
  const fp = failures(samples[s].pixy);
  const fo = failures(samples[s].ocs);
  rows.push([
    `${title} (ms)`,
    fmtStats(p, 0) + (fp ? ` (${fp}/${samples[s].pixy.length} not logged in)` : ""),
    fmtStats(o, 0) + (fo ? ` (${fo}/${samples[s].ocs.length} not logged in)` : ""),
    ratio(p, o),
    mostly(samples[s].pixy),
    mostly(samples[s].ocs),
  ]);
}
{
  const p = stats(phase4Result.pixy.samples);
  const o = stats(phase4Result.ocs.samples);
  const note = (r) => (r.failed ? ` (${r.failed} failed grants)` : "");
  rows.push([
    "(4) token requests per token lifetime, 3 tabs",
    `${fmtStats(p, 0)} (n=${p?.n ?? 0})${note(phase4Result.pixy)}`,
    `${fmtStats(o, 0)} (n=${o?.n ?? 0})${note(phase4Result.ocs)}`,
    ratio(p, o),
    phase4Result.pixy.types,
    phase4Result.ocs.types,
  ]);
}

const md = (cells) => `| ${cells.join(" | ")} |`;
const table = [md(header), md(header.map(() => "---")), ...rows.map(md)].join("\n");

// The same loads, counting only the library's call (pixy-oidc: createOidc() to resolved, wasm
// loading included; oidc-client-ts: from its page script's start to logged in).
const libHeader = ["scenario", "pixy-oidc min / median / max", "oidc-client-ts min / median / max", "pixy ÷ oidc-client-ts (medians)"];
const libRows = Object.entries(SCENARIOS).map(([s, title]) => {
  const p = stats(samples[s].pixy.map((x) => x.lib));
  const o = stats(samples[s].ocs.map((x) => x.lib));
  return [`${title} (ms)`, fmtStats(p, 1), fmtStats(o, 1), ratio(p, o)];
});
const libTable = [md(libHeader), md(libHeader.map(() => "---")), ...libRows.map(md)].join("\n");

const raw = [
  ...Object.entries(SCENARIOS).flatMap(([s, title]) =>
    ["pixy", "ocs"].map(
      (k) => `- ${title}, ${LIBS[k].label}: ${samples[s][k].map((x) => (x.ok ? x.ms.toFixed(0) : `✗(${x.error})`)).join(", ")}`,
    ),
  ),
  ...["pixy", "ocs"].map((k) => `- (4) ${LIBS[k].label}: ${phase4Result[k].samples.join(", ") || "—"}`),
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

const report = `# Benchmark: pixy-oidc and oidc-client-ts

Run ${new Date().toISOString()} with \`npm run bench\` (bench/bench.mjs).

- Machine: ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}
- Browser: ${chromium} (headless, via playwright-core)
- Node ${process.version}; pixy-oidc ${pixyVersion}${commit ? ` (${commit})` : ""}; oidc-client-ts ${ocsVersion} (dist/browser build); provider: oidc-provider ${opVersion} (tests/support/provider.mjs), access tokens live ${TTL_S} s
- ${REPS} interleaved rounds for (1)–(3); (4) ran both libraries at once for ${fmt(Math.max(phase4Result.pixy.seconds, phase4Result.ocs.seconds))} s

${table}

Only the library's call (pixy-oidc: \`createOidc()\` until it resolves, wasm loading included;
oidc-client-ts: from its page script's start until logged in):

${libTable}

How it is measured:

- Times are taken in the page, on its own clock: from Navigation Timing \`fetchStart\` of the
  document (for the callback that is after the provider's redirects) to the moment the app knows
  the user is logged in (pixy-oidc: \`createOidc\` resolves; oidc-client-ts: \`signinRedirectCallback\`
  or \`signinSilent\` resolves). Loading and compiling each library is included; the app server
  sends \`Cache-Control: no-store\`, so every load fetches the code again.
- Both apps are on 127.0.0.1 (other ports than the provider): same-site, so the hidden iframe of
  either library sees the provider's session. Each round starts without a provider session and
  logs in at the provider's form (not timed).
- (3): the first tab reloads while a second tab of the same app is logged in.
- (4): three tabs of each app stay open; every time the first tab gets new tokens, the provider's
  token-endpoint requests from that app since the previous time are counted (one sample per token
  lifetime). min / median / max are over those samples.
- oidc-client-ts is set up for this case: the user kept in memory (\`InMemoryWebStorage\`; its
  default, sessionStorage, would let a same-tab reload skip the provider entirely but keeps tokens
  in storage, which pixy-oidc never does), \`automaticSilentRenew\`, its own
  \`silent_redirect_uri\` page, and a 30 s \`accessTokenExpiringNotificationTimeInSeconds\`
  (pixy-oidc's leeway; its 60 s default exceeds the 40 s tokens). It has no hand-over between tabs,
  so every tab restores and renews on its own. It does not check ID token signatures, which
  pixy-oidc does (fetching the JWKS).
- "via" is how each load got its session, from what the tab asked the provider: "iframe" (a
  prompt=none authorization request in a subframe), "redirect" (top-level), "no request" (handed
  over by another tab), "code exchange" (the callback).

Raw samples (ms from fetchStart, in run order; ✗ = not logged in):

${raw}
`;

console.log(`\n${table}\n\nlibrary call only:\n${libTable}\n`);
await writeFile(path.join(root, "bench/RESULTS.md"), report);
console.log("written to bench/RESULTS.md");
