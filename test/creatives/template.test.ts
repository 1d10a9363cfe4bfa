import { describe, expect, it } from "vitest";
import { compileTemplate } from "../../worker/creatives/compile";
import { compileMarkupTemplate, TemplateError } from "../../worker/creatives/template";

const render = (format: "html" | "svg", template: string, values: Record<string, string>) =>
  compileTemplate(format, template)(values) as string;

describe("template validation at save time", () => {
  it("refuses an unknown variable and names it", () => {
    expect(() => compileMarkupTemplate("<p>Hi {{first_name}}</p>")).toThrow(/first_name/);
  });

  it.each([
    ["<script>var c = '{{coupon}}'</script>", "<script>"],
    ["<a onclick=\"go('{{coupon}}')\">x</a>", "event handler"],
    ['<p style="color: {{cluster}}">x</p>', "style"],
    ["<a href={{click_url}}>x</a>", "unquoted"],
    ["<p {{cluster}}>x</p>", "attribute name"],
    ["<!-- {{coupon}} -->", "comment"],
    ['<p>{{#coupon}}<a href="x{{/coupon}}">y</a></p>', "must end where it began"],
    ["<p>{{#coupon}}open</p>", "not closed"],
    ["<p>{{/coupon}}</p>", "closes no open section"],
  ])("refuses %s", (template, message) => {
    expect(() => compileMarkupTemplate(template)).toThrow(TemplateError);
    expect(() => compileMarkupTemplate(template)).toThrow(message);
  });

  it("accepts variables in text, quoted attributes and URL attributes, also after a <style> block", () => {
    expect(() =>
      compileMarkupTemplate(
        '<style>p{color:red}</style><a href="{{click_url}}" title="{{product_name}}"><img src="{{product_image}}" alt="{{product_name}}">{{coupon}}</a>',
      ),
    ).not.toThrow();
  });

  it("refuses a json template that is not an object, and names the field with an unknown variable", () => {
    expect(() => compileTemplate("json", "text")).toThrow(TemplateError);
    expect(() => compileTemplate("json", { headline: "ok", body: "{{nope}}" })).toThrow(/field "body".*nope/);
  });
});

describe("rendering escapes every value for where it stands", () => {
  const evil = `"><script>alert(1)</script>'&`;

  it("escapes markup in HTML text and attributes", () => {
    const html = render("html", '<p title="{{product_name}}">{{product_name}}</p>', { product_name: evil });
    expect(html).toBe(
      '<p title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#39;&amp;">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#39;&amp;</p>',
    );
    expect(html).not.toContain("<script>");
  });

  it("lets only http(s) URLs start an href or src", () => {
    const template = '<a href="{{product_url}}"><img src="{{product_image}}"></a>';
    expect(
      render("html", template, { product_url: "javascript:alert(1)", product_image: "https://cdn.example/a.jpg" }),
    ).toBe('<a href="about:blank"><img src="https://cdn.example/a.jpg"></a>');
    expect(render("html", template, { product_url: 'https://x.example/?q="a"', product_image: "data:x" })).toBe(
      '<a href="https://x.example/?q=%22a%22"><img src="about:blank"></a>',
    );
  });

  it("percent-encodes a value inside the query of a URL attribute", () => {
    const html = render("html", '<a href="https://shop.example/?code={{coupon}}&x=1">go</a>', { coupon: 'A B&c="d' });
    expect(html).toBe('<a href="https://shop.example/?code=A%20B%26c%3D%22d&x=1">go</a>');
  });

  it("escapes for XML in SVG, including xlink:href", () => {
    const svg = render("svg", '<svg><a xlink:href="{{click_url}}"><text>{{cluster}}</text></a></svg>', {
      click_url: "javascript:alert(1)",
      cluster: "<b>rings</b>&",
    });
    expect(svg).toBe('<svg><a xlink:href="about:blank"><text>&lt;b&gt;rings&lt;/b&gt;&amp;</text></a></svg>');
  });

  it("shows {{#coupon}} sections only with a code and {{^coupon}} sections only without one", () => {
    const template = "{{#coupon}}Code {{coupon}} ({{discount}}){{/coupon}}{{^coupon}}Free shipping{{/coupon}}";
    expect(render("html", template, { coupon: "AB12", discount: "10 %" })).toBe("Code AB12 (10 %)");
    expect(render("html", template, { coupon: "", discount: "10 %" })).toBe("Free shipping");
  });

  it("substitutes json fields as plain strings, leaving non-string fields alone", () => {
    const fields = compileTemplate("json", { headline: "{{product_name}} for you", rank: 2, code: "{{coupon}}" })({
      product_name: "<b>Ring</b>",
      coupon: "",
    });
    expect(fields).toEqual({ headline: "<b>Ring</b> for you", rank: 2, code: "" });
  });
});
