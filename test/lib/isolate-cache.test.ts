/** The per-isolate cache the site caches share (worker/lib/isolate-cache.ts). */
import { describe, expect, it } from "vitest";
import { clearIsolateCaches, IsolateCache } from "../../worker/lib/isolate-cache";

describe("an isolate cache", () => {
  it("trusts an entry for its period, then answers nothing", () => {
    const cache = new IsolateCache<string>(1_000);
    cache.set("a", "A", 10_000);
    expect(cache.get("a", 10_999)).toBe("A");
    expect(cache.get("a", 11_000)).toBeUndefined();
  });

  it("keeps at most its bound, dropping the oldest key first", () => {
    const cache = new IsolateCache<number>(Number.POSITIVE_INFINITY, 2);
    cache.set("a", 1);
    cache.set("b", 2);
    cache.set("a", 3); // replacing a key does not evict another
    cache.set("c", 4);
    expect([cache.get("a"), cache.get("b"), cache.get("c")]).toEqual([undefined, 2, 4]);
  });

  it("drops entries by value, and clearIsolateCaches empties every cache", () => {
    const one = new IsolateCache<{ site: number }>(60_000);
    const two = new IsolateCache<string>(60_000);
    one.set("x", { site: 1 });
    one.set("y", { site: 2 });
    two.set("z", "Z");
    one.deleteWhere((value) => value.site === 1);
    expect([one.get("x"), one.get("y")]).toEqual([undefined, { site: 2 }]);
    clearIsolateCaches();
    expect([one.get("y"), two.get("z")]).toEqual([undefined, undefined]);
  });
});
