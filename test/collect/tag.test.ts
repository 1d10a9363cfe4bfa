import { describe, expect, it } from "vitest";
import { TAG_SCRIPT } from "../../worker/collect/tag-bundle.generated";
import { call } from "../fixtures/api";

/** DESIGN.md, "Budgets": the built, minified tag with every call is at most 1,024 bytes gzip. */
const GZIP_BUDGET = 1024;

async function gzipSize(text: string): Promise<number> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

describe("GET /t.js", () => {
  it("serves the built tag as JavaScript, cacheable and revalidated with an ETag", async () => {
    const res = await call("/t.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/javascript; charset=utf-8");
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=3600, must-revalidate");
    const etag = res.headers.get("ETag");
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    expect(await res.text()).toBe(TAG_SCRIPT);
    const again = await call("/t.js", { headers: { "If-None-Match": etag! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
  });

  it("stays within 1,024 bytes gzip as served", async () => {
    const served = await (await call("/t.js")).text();
    const size = await gzipSize(served);
    expect(size).toBeGreaterThan(500);
    expect(size).toBeLessThanOrEqual(GZIP_BUDGET);
  });

  it("is the minified build with every call of the contract", async () => {
    const served = await (await call("/t.js")).text();
    expect(served.split("\n").filter(Boolean)).toHaveLength(1);
    for (const piece of [
      "sendBeacon",
      "keepalive",
      'credentials:"include"',
      '"consent"',
      '"event"',
      '"page"',
      "pushState",
      "replaceState",
      "popstate",
      "pagehide",
      "visibilitychange",
      "globalPrivacyControl",
      "doNotTrack",
      "[data-tw-slot]",
      "/b/",
      '"size"',
      ".q",
    ]) {
      expect(served).toContain(piece);
    }
  });
});
