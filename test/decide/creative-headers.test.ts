/**
 * Every creative answer of /b carries the second layer of creative isolation (worker/decide/
 * render.ts): a CSP under which no script runs but the HTML document's own nonce'd size script,
 * `sandbox` (an opaque origin), and `X-Content-Type-Options: nosniff` — in every format, for a
 * rule's creative, a placement's fallback and the built-in empty creative alike.
 */
import { describe, expect, it } from "vitest";
import { bannerSite, fetchWorker } from "../fixtures/banner";

function cspOf(res: Response): Map<string, string> {
  const policy = res.headers.get("Content-Security-Policy") ?? "";
  return new Map(
    policy
      .split(";")
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => [d.split(/\s+/)[0], d.slice(d.split(/\s+/)[0].length).trim()]),
  );
}

describe("the headers of every /b answer", () => {
  it("lets only the nonce'd size script run in the HTML document, sandboxed, with nosniff", async () => {
    const site = await bannerSite();
    const creative = await site.creative("html", '<a href="{{click_url}}">Offer</a>');
    await site.fallback("slot", creative);
    const res = await fetchWorker(`/b/slot?site=${site.siteKey}&format=html`);
    expect(res.status).toBe(200);
    const csp = cspOf(res);
    const body = await res.text();
    const nonce = /<script nonce="([^"]+)">/.exec(body)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp.get("script-src")).toBe(`'nonce-${nonce}'`);
    expect(csp.get("default-src")).toBe("'none'");
    expect(csp.get("sandbox")).toContain("allow-scripts");
    expect(csp.get("sandbox")).not.toContain("allow-same-origin");
    expect(csp.get("form-action")).toBe("'none'");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    // One script element: ours.
    expect(body.match(/<script/g)).toHaveLength(1);
  });

  it("forbids every script in the SVG answer and sandboxes it", async () => {
    const site = await bannerSite();
    const creative = await site.creative(
      "svg",
      '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="250"><text x="5" y="20">{{coupon}}</text></svg>',
    );
    await site.fallback("slot", creative);
    const res = await fetchWorker(`/b/slot?site=${site.siteKey}&format=svg`);
    expect(res.headers.get("Content-Type")).toContain("image/svg+xml");
    const csp = cspOf(res);
    expect(csp.get("script-src")).toBe("'none'");
    expect(csp.has("sandbox")).toBe(true);
    expect(csp.get("sandbox")).not.toContain("allow-scripts");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
  });

  it("sandboxes the JSON answer too, and the built-in empty creative of an unknown placement in every format", async () => {
    const site = await bannerSite();
    for (const format of ["json", "svg", "html"] as const) {
      const res = await fetchWorker(`/b/nothing-here?site=${site.siteKey}&format=${format}`);
      expect(res.status).toBe(200);
      const csp = cspOf(res);
      expect(csp.has("sandbox"), format).toBe(true);
      expect(csp.get("default-src"), format).toBe("'none'");
      expect(res.headers.get("X-Content-Type-Options"), format).toBe("nosniff");
    }
  });
});
