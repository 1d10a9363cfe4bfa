import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) ? [path] : [];
  });
}

describe("one routing module", () => {
  it("is the only code that names a PEOPLE_k binding (docs/architecture.md, Shards)", () => {
    const naming = [...sources("worker"), ...sources("admin"), ...sources("scripts"), ...sources("test")]
      .filter((path) => !path.endsWith(".node.test.ts"))
      .filter((path) => /\bPEOPLE_(\d+|\$\{)/.test(readFileSync(path, "utf8")));
    expect(naming).toEqual(["worker/shards/routing.ts"]);
  });
});
