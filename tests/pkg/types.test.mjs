// The shipped declarations: a strict usage file per entry point type-checks against the installed
// tarball (bundler and Node resolution), and the public .d.ts is snapshotted so that every API
// change shows up in review.
//
// Update the snapshot after an intended API change:
//   UPDATE_SNAPSHOT=1 node --test tests/pkg/types.test.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { assertBuilt, createConsumer, pkgDir, repoRoot, run } from "./support.mjs";

const SNAPSHOT = path.join(repoRoot, "tests/pkg/api.d.ts.snap");
const tsc = path.join(repoRoot, "node_modules/typescript/bin/tsc");

/** Every pkg/*.d.ts, sorted by name, each under a header line. */
export async function publicDeclarations() {
  const files = (await readdir(pkgDir)).filter((f) => f.endsWith(".d.ts")).sort();
  const parts = [];
  for (const f of files) parts.push(`//// pkg/${f}\n${(await readFile(path.join(pkgDir, f), "utf8")).trimEnd()}\n`);
  return parts.join("\n");
}

test("the public declarations match tests/pkg/api.d.ts.snap", async () => {
  assertBuilt();
  const actual = await publicDeclarations();
  if (process.env.UPDATE_SNAPSHOT) {
    await writeFile(SNAPSHOT, actual);
    return;
  }
  let expected;
  try {
    expected = await readFile(SNAPSHOT, "utf8");
  } catch {
    expected = "";
  }
  assert.equal(
    actual,
    expected,
    "The public API (pkg/*.d.ts) changed. If intended, review the diff and update the snapshot:\n" +
      "  UPDATE_SNAPSHOT=1 node --test tests/pkg/types.test.mjs",
  );
});

describe("the declarations type-check an app's usage (tsc --strict)", { timeout: 180_000 }, () => {
  let consumer;
  let dir;
  before(async () => {
    assertBuilt();
    consumer = await createConsumer();
    await consumer.linkFrameworks();
    dir = path.join(consumer.dir, "types");
    await cp(path.join(repoRoot, "tests/pkg/types"), dir, { recursive: true });
  });
  after(() => consumer?.close());

  for (const [module, moduleResolution] of [
    ["preserve", "bundler"],
    ["nodenext", "nodenext"],
  ]) {
    test(`moduleResolution ${moduleResolution}`, async () => {
      try {
        await run(process.execPath, [tsc, "-p", "tsconfig.json", "--module", module, "--moduleResolution", moduleResolution], {
          cwd: dir,
          timeout: 120_000,
        });
      } catch (e) {
        assert.fail(e.message);
      }
    });
  }
});
