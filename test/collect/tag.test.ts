import { describe, expect, it } from "vitest";
import { CMP_TAG_SCRIPT, TAG_SCRIPT } from "../../worker/collect/tag-bundle.generated";
import { call } from "../fixtures/api";

/**
 * docs/architecture.md, "Budgets and where they are measured": the built, minified tag with every call is at most 1,024 bytes gzip; the
 * CMP-aware build (a separate file, /tc.js) at most 1,400.
 */
const GZIP_BUDGET = 1024;
const CMP_GZIP_BUDGET = 1400;

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
      // /e and /b/ beside the directory the tag was loaded from (BASE_PATH, same-origin serving)
      "}e`",
      "}b/${",
      '"size"',
      ".q",
    ]) {
      expect(served).toContain(piece);
    }
  });

  it("keeps the CMP code out of the base tag", async () => {
    const served = await (await call("/t.js")).text();
    expect(served).not.toContain("__tcfapi");
    expect(served).not.toContain("dataLayer");
  });
});

describe("GET /tc.js", () => {
  it("serves the CMP-aware build as JavaScript, cacheable and revalidated with an ETag", async () => {
    const res = await call("/tc.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/javascript; charset=utf-8");
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=3600, must-revalidate");
    expect(await res.text()).toBe(CMP_TAG_SCRIPT);
    const again = await call("/tc.js", { headers: { "If-None-Match": res.headers.get("ETag")! } });
    expect(again.status).toBe(304);
  });

  it("stays within 1,400 bytes gzip as served and carries the TCF and Consent Mode listeners", async () => {
    const served = await (await call("/tc.js")).text();
    expect(await gzipSize(served)).toBeLessThanOrEqual(CMP_GZIP_BUDGET);
    for (const piece of ['"addEventListener",2', "tcloaded", "useractioncomplete", "dataLayer", "ad_user_data"]) {
      expect(served).toContain(piece);
    }
  });
});
