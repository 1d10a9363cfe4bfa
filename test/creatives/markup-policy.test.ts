/**
 * The creative allow-list (worker/creatives/markup-policy.ts): markup that could run script with
 * the edge origin's privileges is refused when it is saved, however it is written; what banners
 * need (links, images, inline SVG, styles, animations of presentation attributes) is kept.
 */
import { describe, expect, it } from "vitest";
import { checkCreativeMarkup } from "../../worker/creatives/markup-policy";
import { compileMarkupTemplate, TemplateError } from "../../worker/creatives/template";
import { call, createTestSite, errorOf } from "../fixtures/api";

const svg = (inner: string, attrs = "") =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="250"${attrs}>${inner}</svg>`;

// Each one was, or is a classic way to, run script in an HTML or SVG document.
const REFUSED_SVG: [string, string][] = [
  [svg("", ' onload="alert(1)"'), "event handler"],
  [svg("", " ONLOAD=alert(1)"), "event handler"],
  [svg("<script>alert(1)</script>"), "<script>"],
  [svg('<script href="https://evil.example/x.js"/>'), "<script>"],
  [svg('<foreignObject><div onclick="x">a</div></foreignObject>'), "foreignobject"],
  [svg('<a href="javascript:alert(1)"><text>x</text></a>'), "http(s)"],
  [svg('<a xlink:href="jav&#x61;script:alert(1)"><text>x</text></a>'), "http(s)"],
  [svg('<a href="java&#9;script:alert(1)"><text>x</text></a>'), "http(s)"],
  [svg('<a href="javascript&colon;alert(1)"><text>x</text></a>'), "named character reference"],
  [svg('<a href="  JaVaScRiPt:alert(1)"><text>x</text></a>'), "http(s)"],
  [svg('<a href="data:text/html,<script>alert(1)</script>"><text>x</text></a>'), "http(s)"],
  [svg('<image href="data:image/svg+xml,<svg onload=alert(1)>"/>'), "http(s)"],
  [svg('<use href="https://evil.example/sprite.svg#x"/>'), "#id"],
  [svg('<a><animate attributeName="href" to="javascript:alert(1)"/><text>x</text></a>'), "may not animate"],
  [svg('<set attributeName="onmouseover" to="alert(1)"/>'), "may not animate"],
  [svg("<style><img src=x onerror=alert(1)></style>"), "<img>"],
  [svg('<iframe srcdoc="<script>alert(1)</script>"></iframe>'), "<iframe>"],
  [svg('<handler type="application/ecmascript">alert(1)</handler>'), "<handler>"],
  [svg("<![CDATA[<script>alert(1)</script>]]>"), "CDATA"],
  [`<?xml-stylesheet type="text/xsl" href="https://evil.example/x.xsl"?>${svg("")}`, "processing instructions"],
  [`<!DOCTYPE svg [<!ENTITY x "&#60;script&#62;alert(1)&#60;/script&#62;">]>${svg("<text>&x;</text>")}`, "DOCTYPE"],
  [svg("<!--><script>alert(1)</script>-->"), "comment"],
  [svg("", ' xmlns:x="http://www.w3.org/1999/xhtml"'), "not allowed"],
  [svg('<g xmlns="http://www.w3.org/1999/xhtml"><p>x</p></g>'), "not allowed"],
  [svg('<x:script xmlns:x="http://www.w3.org/2000/svg">alert(1)</x:script>'), "not allowed"],
  ["<p>an html element in an svg creative</p>", "HTML, not SVG"],
];

const REFUSED_HTML: [string, string][] = [
  ["<img src=https://x.example/a.png onerror=alert(1)>", "event handler"],
  ['<a href="javascript:alert(1)">x</a>', "http(s)"],
  ['<form action="https://evil.example/"><input name=q></form>', "<form>"],
  ['<button formaction="javascript:alert(1)">x</button>', "<button>"],
  ['<object data="https://evil.example/x.swf"></object>', "<object>"],
  ['<embed src="https://evil.example/x">', "<embed>"],
  ['<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>', "<iframe>"],
  ['<meta http-equiv="refresh" content="0;url=javascript:alert(1)">', "<meta>"],
  ['<base href="https://evil.example/">', "<base>"],
  ['<link rel="import" href="https://evil.example/">', "<link>"],
  ["<math><mtext><script>alert(1)</script></mtext></math>", "<math>"],
  ["<svg><style><img src=https://x.example/a.png onerror=alert(1)></style></svg>", "event handler"],
  ['<video poster="javascript:alert(1)"></video>', "http(s)"],
  ['<img srcset="https://ok.example/a.png 1x, javascript:alert(1) 2x">', "http(s)"],
  ["<template><script>alert(1)</script></template>", "<template>"],
  // A section whose shown text ends a <style> could uncover markup in the other shape.
  ['{{#coupon}}<noscript>{{/coupon}}<p title="</noscript><img src=x onerror=alert(1)>">x</p>', "not allowed"],
];

const ACCEPTED: ["html" | "svg", string][] = [
  [
    "html",
    '<a href="{{click_url}}" style="display:block;background:#fdf1e4"><strong>Your code</strong> <b>{{coupon}}</b><img src="{{product_image}}" alt="{{product_name}}" width="100"></a>',
  ],
  ["html", '<div class="x"><a href="https://shop.example/?a=1&amp;b=2" target="_blank" rel="noopener">Shop</a></div>'],
  [
    "html",
    '<style>.b{color:red}</style><p class="b" data-slot="1" aria-label="Offer">{{#coupon}}{{coupon}}{{/coupon}}{{^coupon}}Free shipping{{/coupon}}</p>',
  ],
  ["html", '<img src="data:image/png;base64,iVBORw0KGgo=" alt=""><!-- a plain comment -->'],
  [
    "svg",
    '<?xml version="1.0" encoding="UTF-8"?><svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 300 250"><defs><linearGradient id="g"><stop offset="0" stop-color="#fff"/></linearGradient></defs><a href="{{click_url}}"><rect width="300" height="250" fill="url(#g)"/><text x="10" y="40">{{coupon}}</text></a><use xlink:href="#g"/><circle r="4"><animate attributeName="opacity" from="0" to="1" dur="1s"/></circle></svg>',
  ],
];

describe("the creative markup allow-list", () => {
  it.each([
    ...REFUSED_SVG.map(([template, reason]) => ["svg", template, reason] as const),
    ...REFUSED_HTML.map(([template, reason]) => ["html", template, reason] as const),
  ])("refuses the %s template %s", async (format, template, reason) => {
    const error = await checkCreativeMarkup(format, template).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TemplateError);
    expect((error as Error).message).toContain(reason);
  });

  it.each(ACCEPTED)("keeps what banners need (%s): %s", async (format, template) => {
    compileMarkupTemplate(template);
    await expect(checkCreativeMarkup(format, template)).resolves.toBeUndefined();
  });
});

describe("variables in URL-bearing and dangerous attributes", () => {
  it.each([
    ['<iframe srcdoc="{{product_name}}"></iframe>', "srcdoc"],
    ['<meta http-equiv="refresh" content="0;url={{product_url}}">', "content"],
    ['<svg><animate attributeName="{{cluster}}"/></svg>', "attributeName"],
    ['<svg xmlns="{{cluster}}"></svg>', "namespace"],
    ['<a href="https://x.example/{{#coupon}}a{{/coupon}}">x</a>', "URL attribute"],
  ])("refuses a variable or section in %s", (template, where) => {
    expect(() => compileMarkupTemplate(template)).toThrow(where);
  });

  it.each([
    ['<form action="{{product_url}}">', "url"],
    ['<button formaction="{{product_url}}">', "url"],
    ['<object data="{{product_url}}">', "url"],
    ['<video poster="{{product_image}}">', "url"],
    ['<table background="{{product_image}}">', "url"],
    ['<a href="https://shop.example/?q={{product_name}}">', "url-part"],
  ])("treats %s as a URL (http/https only, escaped)", (template, context) => {
    const parts = compileMarkupTemplate(template);
    expect(parts.find((p) => p.kind === "var")).toMatchObject({ context });
  });
});

describe("the creatives API", () => {
  it("refuses an svg creative with onload or script at save time, naming the problem", async () => {
    const { apiKey } = await createTestSite();
    const base = { name: "x", format: "svg", width: 300, height: 250, landing_url: "https://shop.example/" };
    for (const template of [svg("", ' onload="alert(1)"'), svg("<script>alert(1)</script>")]) {
      const res = await call("/api/v1/creatives", { method: "POST", key: apiKey, json: { ...base, template } });
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: "invalid_template" });
    }
    const preview = await call("/api/v1/creatives/preview", {
      method: "POST",
      key: apiKey,
      json: { format: "svg", template: svg("<script>alert(1)</script>"), width: 1, height: 1 },
    });
    expect(preview.status).toBe(400);
    const list = (await (await call("/api/v1/creatives", { key: apiKey })).json()) as { creatives: unknown[] };
    expect(list.creatives).toEqual([]);
  });
});
