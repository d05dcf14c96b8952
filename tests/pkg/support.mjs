// Shared by the package tests and the app tests: pack the package as npm would publish it,
// install the tarball into a fresh temporary project (offline), and build apps there with Vite.
//
// PIXY_PACKAGE_ROOT points the tests at another checkout's built package (default: this repo).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const packageRoot = path.resolve(process.env.PIXY_PACKAGE_ROOT ?? repoRoot);
export const pkgDir = path.join(packageRoot, "pkg");

/** The devDependencies that consumer projects borrow from this repo (no registry needed). */
export const FRAMEWORKS = [
  "react",
  "react-dom",
  "scheduler",
  "@types/react",
  "@types/react-dom",
  "csstype",
  "vue",
  "vue-router",
  "vite",
  "@vitejs/plugin-vue",
];

/** Fails with a clear message when the package has not been built. */
export function assertBuilt() {
  const missing = ["index.js", "pixy_oidc_bg.wasm", "pixy-oidc.global.js", "react.js", "vue.js", "mock.js"]
    .map((f) => path.join(pkgDir, f))
    .filter((f) => !existsSync(f));
  if (missing.length) {
    throw new Error(`the package is not built (missing ${missing.join(", ")}); run \`bash scripts/build.sh\` first`);
  }
}

/** Runs a command with a time limit; resolves { stdout, stderr } or rejects with both in the message. */
export function run(cmd, args, { cwd, timeout = 120_000, env } = {}) {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd, timeout, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          error.message = `${cmd} ${args.join(" ")} failed (${error.code ?? error.signal}):\n${stdout}\n${stderr}`;
          reject(error);
        } else resolve({ stdout, stderr });
      },
    );
  });
}

/** `npm pack` into `dest`; returns the tarball path and the packed file list. */
export async function pack(dest) {
  const { stdout } = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", dest], {
    cwd: packageRoot,
  });
  const [info] = JSON.parse(stdout.slice(stdout.indexOf("[")));
  return { tarball: path.join(dest, info.filename), files: info.files.map((f) => f.path).sort(), info };
}

/**
 * A fresh project in a temporary directory with the packed tarball installed by npm, offline.
 * `linkFrameworks()` then adds react, vue, vite, ... as symlinks to this repo's node_modules.
 */
export async function createConsumer() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "pixy-consumer-"));
  const packed = await pack(dir);
  const project = path.join(dir, "project");
  await mkdir(project);
  await writeFile(
    path.join(project, "package.json"),
    JSON.stringify({ name: "pixy-consumer", private: true, type: "module" }, null, 2),
  );
  await run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", packed.tarball], {
    cwd: project,
  });
  return {
    dir: project,
    ...packed,
    installed: path.join(project, "node_modules", "pixy-oidc"),
    async linkFrameworks() {
      for (const name of FRAMEWORKS) {
        const from = path.join(repoRoot, "node_modules", name);
        const to = path.join(project, "node_modules", name);
        if (!existsSync(from) || existsSync(to)) continue;
        await mkdir(path.dirname(to), { recursive: true });
        await symlink(from, to, "dir");
      }
    },
    /**
     * Copies an app (e.g. www/react) into the project, so `pixy-oidc` resolves to the installed
     * tarball; www/api (the demo API its vite.config.js imports) comes along.
     */
    async addApp(relDir, name = path.basename(relDir)) {
      const to = path.join(project, name);
      const filter = (src) => !/[\\/](dist|node_modules)$/.test(src);
      await cp(path.join(repoRoot, relDir), to, { recursive: true, filter });
      await cp(path.join(repoRoot, "www/api"), path.join(project, "api"), { recursive: true, filter });
      return to;
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * `vite build` of the app in `appDir` with its own vite.config.js, into `outDir`. Vite runs in a
 * child process, bounded, so a hung build cannot hang the test run. `mode: "development"` builds
 * the frameworks' development variants (React StrictMode then runs effects twice).
 */
export async function viteBuild(appDir, outDir, { mode = "production" } = {}) {
  // Resolved from appDir: the vite that the consumer project has.
  const script = `
    const { build } = await import("vite");
    await build({
      root: process.cwd(), mode: ${JSON.stringify(mode)}, logLevel: "warn",
      build: { outDir: ${JSON.stringify(outDir)}, emptyOutDir: true, minify: ${mode === "production"} },
    });
  `;
  return run(process.execPath, ["--input-type=module", "-e", script], {
    cwd: appDir,
    timeout: 120_000,
    env: { NODE_ENV: mode },
  });
}
