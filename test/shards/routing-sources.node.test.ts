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
    const naming = [
      ...sources("worker"),
      ...sources("admin"),
      ...sources("scripts"),
      ...sources("test"),
      ...sources("bench"),
    ]
      .filter((path) => !path.endsWith(".node.test.ts"))
      // Code that reaches a binding: `env.PEOPLE_0`, `env["PEOPLE_…"]`, or a name built as `PEOPLE_${k}`.
      .filter((path) => /PEOPLE_\d|\[\s*["'`]PEOPLE_|`PEOPLE_\$\{|"PEOPLE_"/.test(readFileSync(path, "utf8")));
    expect(naming).toEqual(["worker/shards/routing.ts"]);
  });
});
