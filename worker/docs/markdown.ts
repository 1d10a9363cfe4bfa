/**
 * The small markdown subset the OpenAPI descriptions use — paragraphs, `-` lists, `code`,
 * **bold**, *emphasis* and [links](https://…) — rendered to HTML for `/docs`. Hand-written because
 * no markdown library is a dependency and the subset is tiny; safe by construction: the text is
 * HTML-escaped first, code spans are set aside before any other rule runs, and links are kept only
 * for http(s), same-site paths and fragments (no `javascript:`).
 */
const escapeHtml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

const SAFE_HREF = /^(https?:\/\/|\/(?!\/)|#)/;

/** One line of inline markdown as HTML. */
export function inlineMarkdown(text: string): string {
  const codes: string[] = [];
  let out = escapeHtml(text).replace(/`([^`]+)`/g, (_, code: string) => {
    codes.push(`<code>${code}</code>`);
    return `\u0000${codes.length - 1}\u0000`;
  });
  out = out
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (whole, label: string, href: string) =>
      // href is already escaped; unescaping &amp; is not needed to test the scheme.
      SAFE_HREF.test(href) ? `<a href="${href}">${label}</a>` : whole,
    )
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[\s(])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>");
  return out.replace(/\u0000(\d+)\u0000/g, (_, i: string) => codes[Number(i)]);
}

/** A description as HTML blocks: blank lines separate paragraphs, `- ` / `* ` lines make a list. */
export function markdown(text: string | undefined): string {
  if (!text) return "";
  return text
    .replace(/\r\n?/g, "\n")
    .split(/\n\s*\n/)
    .map((block) => {
      const lines = block.split("\n").filter((line) => line.trim() !== "");
      if (lines.length && lines.every((line) => /^\s*[-*] /.test(line))) {
        return `<ul>${lines.map((line) => `<li>${inlineMarkdown(line.replace(/^\s*[-*] /, ""))}</li>`).join("")}</ul>`;
      }
      return lines.length ? `<p>${inlineMarkdown(lines.join(" "))}</p>` : "";
    })
    .join("");
}
