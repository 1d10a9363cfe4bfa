/**
 * The pipeline owns its producers (worker/pipeline/producers.ts): no file outside worker/pipeline/
 * puts a message on a queue itself, and none but the producers reads a queue binding by name.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { QUEUES } from "../../worker/pipeline/queues";

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

const outside = sources("worker").filter((path) => !path.startsWith(join("worker", "pipeline")));

describe("the pipeline's producers", () => {
  it("are the only code that sends to a queue", () => {
    const sending = outside.filter((path) => /\.send(Batch)?\(/.test(readFileSync(path, "utf8")));
    expect(sending).toEqual([]);
  });

  it("are the only code that reads a queue binding", () => {
    const bindings = Object.values(QUEUES).map((q) => q.binding);
    const reading = outside.filter((path) => {
      const text = readFileSync(path, "utf8");
      return bindings.some((binding) => text.includes(`.${binding}`));
    });
    expect(reading).toEqual([]);
  });
});
