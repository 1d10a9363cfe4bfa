import { describe, expect, it } from "vitest";
import { inlineMarkdown, markdown } from "../../worker/docs/markdown";

describe("the docs' markdown subset", () => {
  it("renders code, bold, emphasis, links, paragraphs and lists", () => {
    expect(inlineMarkdown("use `a_b` with **care** and *ease*, see [docs](https://x.example/a?b=1&c=2)")).toBe(
      'use <code>a_b</code> with <strong>care</strong> and <em>ease</em>, see <a href="https://x.example/a?b=1&amp;c=2">docs</a>',
    );
    expect(markdown("First line\nsame paragraph.\n\n- one\n- `two`")).toBe(
      "<p>First line same paragraph.</p><ul><li>one</li><li><code>two</code></li></ul>",
    );
  });

  it("escapes HTML everywhere, keeps markdown inside code literal, and drops unsafe link schemes", () => {
    expect(inlineMarkdown("<img src=x onerror=alert(1)>")).toBe("&lt;img src=x onerror=alert(1)&gt;");
    expect(inlineMarkdown("`**not bold** <b>`")).toBe("<code>**not bold** &lt;b&gt;</code>");
    expect(inlineMarkdown("[click](javascript:alert(1))")).not.toContain("<a ");
    expect(inlineMarkdown('[x](https://a.example/"onmouseover=alert(1))')).not.toContain('"onmouseover');
  });
});
