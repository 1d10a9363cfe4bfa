/**
 * What markup a creative may contain: checked when a template is saved (and previewed), so that no
 * creative, in any format or attribute, can run script with the privileges of the edge origin that
 * also serves `/admin` and the API (docs/architecture.md, "Trust boundaries"). `/b` adds a CSP with `sandbox`
 * on every answer (worker/decide/render.ts) as the second, independent layer.
 *
 * Why an allow-list over a real parser, and not a regex blacklist: a blacklist has to know every
 * way a browser can be made to run script (event handlers, `javascript:` in a dozen attributes,
 * `<foreignObject>`, `<animate attributeName="href">`, entity-encoded schemes, `<svg><style><img
 * onerror>` breaking out of foreign content…) and misses the next one. Here the template is
 * tokenised by the runtime's own HTML parser (HTMLRewriter: lol-html, which follows the HTML
 * tokenizer and tracks SVG/HTML namespaces like a browser's tree builder does), and every element
 * and attribute must be on a list of what banners need; anything else is refused with its name.
 * Values of URL-bearing attributes are decoded as a browser would and must be absolute http(s)
 * URLs (or `#fragment`s, or raster `data:` images for images). workerd has no DOM, so DOMPurify
 * and friends do not run at the edge, and no maintained sanitizer for Workers allow-lists SVG.
 *
 * An SVG creative is also served on its own as `image/svg+xml`, where the browser parses it as XML,
 * not HTML. The constructs on which the two parsers disagree — DOCTYPE with entity definitions,
 * CDATA sections, processing instructions (`<?xml-stylesheet?>` loads XSLT), unusual comments,
 * namespace declarations — are refused before parsing, so both parsers see the same elements.
 */
import { TemplateError } from "./template";

const SVG_NS = "http://www.w3.org/2000/svg";
const HTML_NS = "http://www.w3.org/1999/xhtml";

// Element names as lol-html reports them: lower-cased.
const HTML_ELEMENTS = new Set(
  (
    "a abbr article aside audio b bdi bdo big blockquote br caption center cite code col colgroup dd del " +
    "details dfn div dl dt em figcaption figure font footer h1 h2 h3 h4 h5 h6 header hr i img ins kbd li " +
    "main mark nav ol p picture pre q rp rt ruby s samp section small source span strike strong style sub " +
    "summary sup table tbody td tfoot th thead time tr tt u ul var video wbr"
  ).split(" "),
);

const SVG_ELEMENTS = new Set(
  (
    "svg a g defs symbol use image path rect circle ellipse line polyline polygon text tspan textpath title " +
    "desc lineargradient radialgradient stop pattern clippath mask marker filter style switch view mpath " +
    "animate animatetransform animatemotion set fegaussianblur feoffset feblend fecolormatrix fecomposite " +
    "feflood femerge femergenode femorphology fedropshadow feturbulence fedisplacementmap fecomponenttransfer " +
    "fefunca fefuncb fefuncg fefuncr feimage fetile fespecularlighting fediffuselighting fepointlight " +
    "fespotlight fedistantlight feconvolvematrix"
  ).split(" "),
);

/** Attributes as lol-html reports them (lower-cased). Event handlers (`on*`) are never on it. */
const ATTRIBUTES = new Set(
  // HTML
  (
    "id class style title lang dir hidden role tabindex width height align valign alt href src srcset sizes " +
    "target rel hreflang type loading decoding referrerpolicy crossorigin poster controls autoplay muted loop " +
    "playsinline preload colspan rowspan border cellpadding cellspacing bgcolor color face size start reversed " +
    "datetime open span scope headers abbr media kind srclang label default name value cite translate " +
    // SVG
    "xmlns xmlns:xlink xlink:href xml:space xml:lang version viewbox preserveaspectratio x y x1 x2 y1 y2 cx cy " +
    "r rx ry fx fy fr d points pathlength fill fill-opacity fill-rule stroke stroke-width stroke-linecap " +
    "stroke-linejoin stroke-dasharray stroke-dashoffset stroke-opacity stroke-miterlimit opacity transform " +
    "transform-origin font-family font-size font-weight font-style font-variant text-anchor dominant-baseline " +
    "alignment-baseline baseline-shift letter-spacing word-spacing text-decoration dx dy rotate textlength " +
    "lengthadjust startoffset method spacing offset stop-color stop-opacity gradientunits gradienttransform " +
    "spreadmethod patternunits patterncontentunits patterntransform clip-path clippathunits clip-rule mask " +
    "maskunits maskcontentunits filter filterunits primitiveunits in in2 result stddeviation mode operator k1 " +
    "k2 k3 k4 values tablevalues slope intercept amplitude exponent flood-color flood-opacity lighting-color " +
    "basefrequency numoctaves seed stitchtiles scale xchannelselector ychannelselector radius order " +
    "kernelmatrix divisor bias targetx targety edgemode preservealpha surfacescale specularconstant " +
    "specularexponent diffuseconstant azimuth elevation pointsatx pointsaty pointsatz limitingconeangle z " +
    "dur begin end repeatcount repeatdur restart from to by keytimes keysplines keypoints calcmode additive " +
    "accumulate attributename attributetype path marker-start marker-mid marker-end markerwidth markerheight " +
    "refx refy orient markerunits visibility display overflow vector-effect shape-rendering text-rendering " +
    "image-rendering color-interpolation color-interpolation-filters mix-blend-mode paint-order cursor " +
    "pointer-events systemlanguage"
  ).split(" "),
);

/** Attributes whose value is a URL (or a list of them): decoded, then only safe schemes pass. */
const URL_ATTRIBUTES = new Set(["href", "xlink:href", "src", "poster", "cite"]);

/** `xmlns` declarations that change nothing: the SVG and XLink namespaces themselves. */
const ALLOWED_NAMESPACES: Record<string, string> = {
  xmlns: SVG_NS,
  "xmlns:xlink": "http://www.w3.org/1999/xlink",
};

const RASTER_DATA_URL = /^data:image\/(png|gif|jpeg|webp|avif);base64,[a-z0-9+/=\s]*$/i;
const IMAGE_ELEMENTS = new Set(["img", "image", "source", "video"]);
/** Elements whose href may only point inside the creative itself (`#id`). */
const FRAGMENT_ONLY = new Set(["use", "mpath", "feimage", "pattern", "lineargradient", "radialgradient", "textpath"]);
const ANIMATION_ELEMENTS = new Set(["animate", "animatetransform", "animatemotion", "set"]);

// A variable's rendered value is escaped for its place (template.ts); for the checks below it is
// replaced by a stand-in with the same effect: an absolute https URL where a URL starts, else text.
const VARIABLE = /\{\{\s*([#^/]?)\s*[^{}]*?\s*\}\}/g;
const URL_STAND_IN = "https://variable.invalid/";

const XML_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/**
 * Decodes character references the way both HTML and XML agree on: numeric ones and the five XML
 * names. Any other named reference (HTML knows `&colon;`, `&Tab;`, `&NewLine;`…) is refused in a
 * URL rather than decoded by a table that might differ from the browser's.
 */
function decodeReferences(value: string): string | null {
  const decoded = value.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z][a-z0-9]*);?/gi, (all, ref: string) => {
    if (ref[0] === "#") {
      const code = ref[1] === "x" || ref[1] === "X" ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1));
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : "\uFFFD";
    }
    return all.endsWith(";") && ref in XML_ENTITIES ? XML_ENTITIES[ref] : "\u0000&";
  });
  return decoded.includes("\u0000&") ? null : decoded;
}

/** Why this URL attribute value is unsafe, or null when it is fine. */
function urlProblem(element: string, raw: string): string | null {
  if (/\{\{\s*[#^/]/.test(raw)) return "a section ({{#…}}) may not stand inside a URL";
  let first = true;
  const filled = raw.replace(VARIABLE, (_all, _sigil, offset: number) => {
    const atStart = first && raw.slice(0, offset).trim() === "";
    first = false;
    return atStart ? URL_STAND_IN : "x";
  });
  const value = decodeReferences(filled);
  if (value === null) return "uses a named character reference (only &amp; &lt; &gt; &quot; &apos; and numeric ones)";
  // Browsers drop leading/trailing spaces and control characters and every tab and newline.
  const url = value.replace(/[\t\n\r]/g, "").replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "");
  if (url.startsWith("#")) return null;
  if (FRAGMENT_ONLY.has(element)) return "may only point inside the creative (#id)";
  if (IMAGE_ELEMENTS.has(element) && RASTER_DATA_URL.test(url)) return null;
  try {
    const parsed = new URL(url);
    if (parsed.protocol === "http:" || parsed.protocol === "https:") return null;
  } catch {}
  return "must be an absolute http(s) URL or a #fragment";
}

/** `srcset`: comma-separated "URL [descriptor]" candidates, each a URL. */
function srcsetProblem(element: string, raw: string): string | null {
  for (const candidate of raw.split(",")) {
    const url = candidate.trim().split(/\s+/)[0] ?? "";
    const problem = url === "" ? null : urlProblem(element, url);
    if (problem) return problem;
  }
  return null;
}

/**
 * Refuses, before any parsing, what HTML and XML parsers read differently (see the header): `<!`
 * other than a plain comment, `<?` other than a leading XML declaration, and comments whose end
 * the two parsers would find in different places.
 */
function refuseParserDifferentials(source: string) {
  const problem = (message: string, at: number) => new TemplateError(`${message} at position ${at}`, at);
  const declaration = /^\s*<\?xml\s[^<>?]*\?>/.exec(source);
  let from = declaration ? declaration[0].length : 0;
  for (;;) {
    const at = source.indexOf("<", from);
    if (at < 0) return;
    const next = source[at + 1];
    if (next === "?") throw problem("processing instructions (<?…?>) are not allowed", at);
    if (next === "!") {
      if (!source.startsWith("<!--", at)) {
        throw problem("DOCTYPE, CDATA and other <!…> declarations are not allowed", at);
      }
      const end = source.indexOf("-->", at + 4);
      const body = end < 0 ? "" : source.slice(at + 4, end);
      if (end < 0 || body.startsWith(">") || body.startsWith("->") || /--|<|>/.test(body)) {
        throw problem("a comment may not contain --, < or >", at);
      }
      from = end + 3;
    } else from = at + 1;
  }
}

/**
 * Checks one complete rendering shape of a template (sections resolved) against the allow-lists.
 * Throws TemplateError naming the first element or attribute that is not allowed.
 */
async function checkMarkup(source: string, format: "html" | "svg"): Promise<void> {
  const problems: string[] = [];
  const refuse = (message: string) => {
    if (problems.length === 0) problems.push(message);
  };
  const rewriter = new HTMLRewriter()
    .on("*", {
      element(el) {
        const name = el.tagName;
        const ns = el.namespaceURI;
        const allowed =
          (ns === SVG_NS && SVG_ELEMENTS.has(name)) || (format === "html" && ns === HTML_NS && HTML_ELEMENTS.has(name));
        if (!allowed) {
          refuse(
            format === "svg" && ns !== SVG_NS && HTML_ELEMENTS.has(name)
              ? `the element <${name}> is HTML, not SVG (an svg creative holds SVG elements only)`
              : `the element <${name}> is not allowed in a creative`,
          );
          return;
        }
        for (const [attr, value] of el.attributes) {
          if (!(ATTRIBUTES.has(attr) || /^(data|aria)-[a-z0-9_.-]+$/.test(attr))) {
            refuse(
              attr.startsWith("on")
                ? `the event handler attribute "${attr}" on <${name}> is not allowed: creatives are markup, not code`
                : `the attribute "${attr}" on <${name}> is not allowed in a creative`,
            );
            continue;
          }
          if (attr in ALLOWED_NAMESPACES && value.trim() !== ALLOWED_NAMESPACES[attr]) {
            refuse(`the namespace declaration ${attr}="${value}" on <${name}> is not allowed`);
          }
          const problem = URL_ATTRIBUTES.has(attr)
            ? urlProblem(name, value)
            : attr === "srcset"
              ? srcsetProblem(name, value)
              : null;
          if (problem) refuse(`the URL in ${attr}="${value.slice(0, 80)}" on <${name}> ${problem}`);
          if (attr === "attributename" && ANIMATION_ELEMENTS.has(name)) {
            const target = value.trim().toLowerCase();
            if (
              !ATTRIBUTES.has(target) ||
              URL_ATTRIBUTES.has(target) ||
              target === "style" ||
              target.startsWith("xmlns")
            ) {
              refuse(`<${name}> may not animate the attribute "${value}"`);
            }
          }
        }
      },
    })
    .onDocument({
      doctype() {
        refuse("a DOCTYPE is not allowed in a creative");
      },
    });
  await rewriter.transform(new Response(source)).arrayBuffer();
  if (problems.length > 0) throw new TemplateError(problems[0], 0);
}

/**
 * The shapes a template can render to: every section shown, every section hidden, and each
 * section flipped on its own. Sections may only open and close between tags (template.ts), so
 * leaving one out removes whole tokens; the variants make sure no combination reveals markup the
 * fully shown template hides (such as a `<style>` whose end lies in a section).
 */
function renderShapes(source: string): string[] {
  const sections = [...source.matchAll(/\{\{\s*[#^]\s*([^{}]*?)\s*\}\}/g)].map((m) => m.index);
  const strip = (hidden: Set<number>) => {
    let out = "";
    let depth = 0;
    let last = 0;
    let skipping = -1;
    for (const match of source.matchAll(VARIABLE)) {
      if (skipping < 0) out += source.slice(last, match.index);
      last = match.index + match[0].length;
      const sigil = match[1];
      if (sigil === "#" || sigil === "^") {
        depth++;
        if (skipping < 0 && hidden.has(match.index)) skipping = depth;
      } else if (sigil === "/") {
        if (skipping === depth) skipping = -1;
        depth--;
      } else if (skipping < 0) out += match[0];
    }
    return skipping < 0 ? out + source.slice(last) : out;
  };
  const shapes = new Set([strip(new Set()), strip(new Set(sections))]);
  for (const at of sections.slice(0, 20)) shapes.add(strip(new Set([at])));
  return [...shapes];
}

/** Refuses a markup template that could run script or load active content (throws TemplateError). */
export async function checkCreativeMarkup(format: "html" | "svg", source: string): Promise<void> {
  refuseParserDifferentials(source);
  for (const shape of renderShapes(source)) await checkMarkup(shape, format);
}
