/**
 * Turning a compiled creative and the decision's values into the `/b` response body per format:
 * an HTML document for iframes (which posts its size to the tag, `{tw: "size", w, h}`), the SVG
 * itself, or the fields object of the JSON answer for native placements (README.md, "Banners (creatives, rules, `/b`, `/c`)"). Also the built-in empty 1×1 creative,
 * the last resort when even a placement's fallback cannot be served.
 */
import { randomBytes, toBase64Url } from "../auth/crypto";
import type { CompiledCreative, JsonFields } from "../creatives/compile";
import type { TemplateValues } from "../creatives/template";
import { escapeMarkup } from "../creatives/template";

export type ResponseFormat = "html" | "svg" | "json";

export type DecisionJson = {
  impression: string | null;
  rule: number | null;
  creative: { id: number | null; format: string; width: number; height: number; body: string | JsonFields };
  coupon: { code: string; expires: string } | null;
  click_url: string | null;
};

export type Rendered = { contentType: string; body: string; headers?: Record<string, string> };

/** A creative fits a response format: an iframe shows html or svg, an svg slot svg, json anything. */
export function fitsFormat(creative: CompiledCreative, format: ResponseFormat): boolean {
  if (format === "json") return true;
  if (format === "svg") return creative.format === "svg";
  return creative.format === "html" || creative.format === "svg";
}

/** 96 random bits; CSP's nonce grammar accepts base64url as well as base64. */
function nonce(): string {
  return toBase64Url(randomBytes(12));
}

// Shared by every creative answer. Images, fonts and styles may come from anywhere a banner's
// assets live; nothing else loads, no plugin, no form, no <base href>.
const ASSETS =
  "default-src 'none'; img-src https: http: data:; media-src https: http: data:; style-src 'unsafe-inline' https:; font-src https: data:; object-src 'none'; base-uri 'none'; form-action 'none'";
// Links in a banner open the shop in the top window (or a new one) on a click, nothing more.
const LINKS = "allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation";

/**
 * The headers of every creative answer of `/b`, whatever the format: a CSP under which no script
 * runs except, in the HTML document, our own nonce'd size script; `sandbox`, so the document has an
 * opaque origin and even a script that got past everything would hold none of the edge origin's
 * privileges (its cookies, /admin, the API); and `nosniff`, so no body is read as another type.
 * The template allow-list (creatives/markup-policy.ts) is the first layer, these the second.
 */
function creativeHeaders(format: ResponseFormat, scriptNonce?: string): Record<string, string> {
  const policy =
    format === "json"
      ? "default-src 'none'; sandbox; frame-ancestors 'none'"
      : format === "svg"
        ? `${ASSETS}; script-src 'none'; sandbox ${LINKS}`
        : `${ASSETS}; script-src 'nonce-${scriptNonce}'; sandbox allow-scripts ${LINKS}`;
  return { "Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff" };
}

/**
 * The iframe document. Links open in the top window (`<base target="_top">`), so a click leaves the
 * ad slot for the shop. Only our own size script runs: a creative is markup, not code. Sandboxed,
 * the document posts its size from the opaque origin "null" (the tag accepts that from the frame
 * it made, tag/src/index.ts).
 */
function htmlDocument(body: string, width: number, height: number): Rendered {
  const n = nonce();
  return {
    contentType: "text/html; charset=utf-8",
    headers: creativeHeaders("html", n),
    body: `<!doctype html><html><head><meta charset="utf-8"><base target="_top"><style>html,body{margin:0;padding:0;overflow:hidden;background:transparent}</style></head><body>${body}<script nonce="${n}">parent.postMessage({tw:"size",w:${width},h:${height}},"*")</script></body></html>`,
  };
}

export function renderResponse(
  format: ResponseFormat,
  creative: CompiledCreative,
  values: TemplateValues,
  meta: Omit<DecisionJson, "creative">,
): Rendered {
  const body = creative.render(values);
  if (format === "json") {
    const json: DecisionJson = {
      ...meta,
      creative: { id: creative.id, format: creative.format, width: creative.width, height: creative.height, body },
    };
    return {
      contentType: "application/json; charset=utf-8",
      body: JSON.stringify(json),
      headers: creativeHeaders("json"),
    };
  }
  const markup = typeof body === "string" ? body : escapeMarkup(JSON.stringify(body));
  if (format === "svg")
    return { contentType: "image/svg+xml; charset=utf-8", body: markup, headers: creativeHeaders("svg") };
  return htmlDocument(markup, creative.width, creative.height);
}

/** The last resort: an empty 1×1 creative, answered 200 so an ad network never sees an error. */
export function emptyCreative(format: ResponseFormat): Rendered {
  if (format === "json") {
    const json: DecisionJson = {
      impression: null,
      rule: null,
      creative: { id: null, format: "html", width: 1, height: 1, body: "" },
      coupon: null,
      click_url: null,
    };
    return {
      contentType: "application/json; charset=utf-8",
      body: JSON.stringify(json),
      headers: creativeHeaders("json"),
    };
  }
  if (format === "svg") {
    return {
      contentType: "image/svg+xml; charset=utf-8",
      headers: creativeHeaders("svg"),
      body: '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>',
    };
  }
  return htmlDocument("", 1, 1);
}
