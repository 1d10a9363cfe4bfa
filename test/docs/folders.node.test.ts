/**
 * docs/architecture.md's folder table ("The code, by capability") is how a newcomer finds their
 * way around worker/: it must name every folder there is and none that is gone — checked against
 * the tree, the way citations.node.test.ts checks cited sections against the headings.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");

function foldersInTable(): string[] {
  const text = readFileSync(join(ROOT, "docs", "architecture.md"), "utf8");
  const section = text.split(/^## /m).find((part) => part.startsWith("The code, by capability"));
  if (!section) throw new Error('docs/architecture.md has no section "The code, by capability"');
  const firstCells = [...section.matchAll(/^\| *([^|]+?) *\|/gm)].map((m) => m[1]);
  return firstCells.flatMap((cell) => [...cell.matchAll(/`([a-z0-9-]+)\/`/g)].map((m) => m[1]));
}

describe("docs/architecture.md's folder table", () => {
  it("names every folder under worker/, once, and no folder that does not exist", () => {
    const tree = readdirSync(join(ROOT, "worker"), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    const table = foldersInTable();
    expect(table.length).toBeGreaterThan(0);
    expect([...new Set(table)].sort()).toEqual(tree);
    expect(table.length).toBe(new Set(table).size);
  });
});
