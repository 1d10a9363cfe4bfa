import { describe, expect, it } from "vitest";
import { call } from "../fixtures/api";

describe("the /docs reference page", () => {
  it("renders markdown descriptions as HTML instead of printing them raw", async () => {
    const html = await (await call("/docs")).text();
    expect(html).toContain("<code>Authorization: Bearer KEY</code>");
    expect(html).not.toContain("`Authorization: Bearer KEY`");
    expect(html).toContain("<code>%%CLICK_URL_UNESC%%</code>");
  });

  it("loads its script and style from this origin under a CSP that allows nothing else", async () => {
    const res = await call("/docs");
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    const html = await res.text();
    expect(html).not.toMatch(/<script>|<style>|https?:\/\/cdn/);
    expect(html).toContain('<script src="/docs/assets/docs.js" defer=""></script>');
    const js = await call("/docs/assets/docs.js");
    expect(js.headers.get("Content-Type")).toContain("javascript");
    expect(await js.text()).toContain("fetch(");
    expect((await call("/docs/assets/docs.css")).status).toBe(200);
  });

  it("has a search box and a try-it form per operation with its parameters as fields", async () => {
    const html = await (await call("/docs")).text();
    expect(html).toContain('id="docs-search"');
    const ops = html.match(/<div class="op"/g)?.length ?? 0;
    expect(ops).toBeGreaterThan(60);
    expect(html.match(/<form class="try"/g)?.length).toBe(ops);
    const tagForm = html.match(
      /<form class="try" data-method="get" data-path="\/api\/v1\/placements\/\{placement\}\/tag"[\s\S]*?<\/form>/,
    )?.[0];
    expect(tagForm).toContain('name="placement" data-in="path"');
    expect(tagForm).toContain('name="network" data-in="query"');
    const ruleForm = html.match(
      /<form class="try" data-method="post" data-path="\/api\/v1\/rules"[\s\S]*?<\/form>/,
    )?.[0];
    expect(ruleForm).toContain('data-type="application/json"');
    expect(ruleForm).toContain('name="body"');
  });
});
