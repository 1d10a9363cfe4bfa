import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bannerJson, bannerSite, fetchWorker, insertCustomer, insertVisitor, randomCookie } from "../fixtures/banner";

const EVIL = `<img src=x onerror=alert(1)>"'&`;

/** A visitor whose cart product and cluster both carry markup. */
async function evilVisitor(site: Awaited<ReturnType<typeof bannerSite>>) {
  const cookie = randomCookie();
  await env.DB.prepare(
    "insert into products (site_id, sku, name, category, price, url, image_url, updated_at) values (?, 'X-1', ?, 'rings', 9.5, ?, ?, 0)",
  )
    .bind(site.siteId, EVIL, "javascript:alert(1)", "https://cdn.example/x.jpg")
    .run();
  await insertCustomer(site.siteId, "C-EVIL", { clusters: [EVIL] });
  await insertVisitor(site.siteId, cookie, {
    customerId: "C-EVIL",
    cart: [{ sku: "X-1", qty: 1 }],
    cartUpdatedAt: Date.now(),
  });
  return cookie;
}

describe("rendering creatives with visitor data", () => {
  it("renders markup in a product name and a cluster as text in html", async () => {
    const site = await bannerSite();
    const creative = await site.creative(
      "html",
      '<a href="{{product_url}}" title="{{product_name}}"><img src="{{product_image}}" alt="{{cluster}}">{{product_name}} / {{cluster}} / {{product_price}}</a>',
    );
    await site.rule({ creative_id: creative });
    const cookie = await evilVisitor(site);
    const res = await fetchWorker(`/b/slot?site=${site.siteKey}`, { cookie });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/html");
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const html = await res.text();
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp; / &lt;img");
    expect(html).toContain('title="&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"');
    expect(html).toContain('href="about:blank"');
    expect(html).toContain('src="https://cdn.example/x.jpg"');
    expect(html).toContain("9.50");
    // The iframe document tells the tag its size.
    expect(html).toContain('parent.postMessage({tw:"size",w:300,h:250},"*")');
  });

  it("renders them as text in svg (XML escaping)", async () => {
    const site = await bannerSite();
    const creative = await site.creative(
      "svg",
      '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="250"><a href="{{click_url}}"><text x="10" y="20">{{product_name}}</text><text x="10" y="40">{{cluster}}</text></a></svg>',
    );
    await site.rule({ creative_id: creative });
    const cookie = await evilVisitor(site);
    const res = await fetchWorker(`/b/slot?site=${site.siteKey}&format=svg`, { cookie });
    expect(res.headers.get("Content-Type")).toContain("image/svg+xml");
    const svg = await res.text();
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).not.toContain("<img");
    expect(svg.match(/&lt;img src=x onerror=alert\(1\)&gt;&quot;&#39;&amp;/g)).toHaveLength(2);
    expect(svg).toMatch(/<a href="https:\/\/tagwerk\.test\/c\/[\w.-]+">/);
  });

  it("gives json fields as plain strings and the contract's shape", async () => {
    const site = await bannerSite();
    const creative = await site.creative("json", {
      headline: "{{product_name}}",
      tag: "{{cluster}}",
      link: "{{click_url}}",
    });
    const ruleId = await site.rule({ creative_id: creative });
    const cookie = await evilVisitor(site);
    const json = await bannerJson(site.siteKey, "slot", cookie);
    expect(json).toMatchObject({
      rule: ruleId,
      coupon: null,
      creative: { id: creative, format: "json", width: 300, height: 250, body: { headline: EVIL, tag: EVIL } },
    });
    expect(json.impression).toMatch(/^[0-9a-f]{32}$/);
    expect((json.creative.body as Record<string, string>).link).toBe(json.click_url);
    // No personal data in a creative: neither the cookie ID nor the customer ID.
    const text = JSON.stringify(json);
    expect(text).not.toContain(cookie);
    expect(text).not.toContain("C-EVIL");
  });

  it("prefixes the click URL with the network's click macro, and ignores a macro that is not http(s)", async () => {
    const site = await bannerSite();
    await site.rule({ creative_id: await site.creative("html", '<a href="{{click_url}}">x</a>') });
    const macro = "https://adnet.example/click?redir=";
    const json = await bannerJson(site.siteKey, "slot", randomCookie(), `&click=${encodeURIComponent(macro)}`);
    expect(json.click_url!.startsWith(macro)).toBe(true);
    const ours = decodeURIComponent(json.click_url!.slice(macro.length));
    expect(ours).toMatch(/^https:\/\/tagwerk\.test\/c\/[\w.-]+$/);
    const bad = await bannerJson(
      site.siteKey,
      "slot",
      randomCookie(),
      `&click=${encodeURIComponent("javascript:alert(1)//")}`,
    );
    expect(bad.click_url).toMatch(/^https:\/\/tagwerk\.test\/c\//);
  });

  it("answers 404 for an unknown site and 400 for a bad format, never 5xx", async () => {
    expect((await fetchWorker("/b/slot?site=no-such-site")).status).toBe(404);
    expect((await fetchWorker("/b/slot?site=x&format=gif")).status).toBe(400);
  });
});
