/**
 * Creative templates: `{{variable}}`, `{{#variable}}…{{/variable}}` (shown when the value is not
 * empty) and `{{^variable}}…{{/variable}}` (shown when it is empty — e.g. the no-coupon variant).
 *
 * Hand-written, on purpose: the escaping a value needs depends on where it stands in the markup
 * (text, a quoted attribute, the start of an href/src, the query part of a URL, SVG/XML), and
 * mustache-style libraries escape every value the same way, while a DOM-based sanitizer is not
 * available at the edge (workerd has no DOM, and HTMLRewriter only streams a finished document).
 * So the template's own markup is scanned once, at save time, with a small HTML tokenizer that
 * records each variable's context; positions that cannot be escaped safely (script, style, event
 * handler and style attributes, tag or attribute names, unquoted attribute values, comments) are
 * refused then, like an unknown variable. Rendering is plain string concatenation afterwards.
 */

export const TEMPLATE_VARIABLES = [
  "coupon",
  "discount",
  "expires",
  "click_url",
  "product_name",
  "product_price",
  "product_sku",
  "product_category",
  "product_url",
  "product_image",
  "cluster",
] as const;

type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateValues = Partial<Record<TemplateVariable, string>>;

const KNOWN = new Set<string>(TEMPLATE_VARIABLES);

/** Where a value lands: decides its escaping. */
type ValueContext = "text" | "attr" | "url" | "url-part" | "plain";

export type Part =
  | { kind: "text"; value: string }
  | { kind: "var"; name: TemplateVariable; context: ValueContext }
  | { kind: "section"; name: TemplateVariable; inverted: boolean; parts: Part[] };

export class TemplateError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
    this.name = "TemplateError";
  }
}

type Token =
  | { kind: "text"; value: string; at: number }
  | { kind: "tag"; sigil: "" | "#" | "^" | "/"; name: string; at: number };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\{\{\s*([#^/]?)\s*([^{}]*?)\s*\}\}/g;
  let last = 0;
  for (let match = pattern.exec(source); match; match = pattern.exec(source)) {
    if (match.index > last) tokens.push({ kind: "text", value: source.slice(last, match.index), at: last });
    const sigil = match[1] as "" | "#" | "^" | "/";
    const name = match[2];
    if (!KNOWN.has(name)) {
      throw new TemplateError(
        `unknown variable "{{${name}}}" at position ${match.index}; known: ${TEMPLATE_VARIABLES.join(", ")}`,
        match.index,
      );
    }
    tokens.push({ kind: "tag", sigil, name, at: match.index });
    last = match.index + match[0].length;
  }
  if (last < source.length) tokens.push({ kind: "text", value: source.slice(last), at: last });
  const stray = source.slice(last).indexOf("{{");
  if (stray >= 0) throw new TemplateError(`unclosed "{{" at position ${last + stray}`, last + stray);
  return tokens;
}

// ---- A minimal HTML/SVG tokenizer: just enough state to know where a variable stands. ----

type State =
  | "data"
  | "tag-open"
  | "tag-name"
  | "in-tag"
  | "attr-name"
  | "after-attr-name"
  | "before-value"
  | "value-dq"
  | "value-sq"
  | "value-unquoted"
  | "comment"
  | "rawtext"
  | "markup-decl";

// Every attribute a browser reads as a URL (or a list of URLs), whether or not the markup policy
// (markup-policy.ts) lets its element through: a value standing there is validated as a URL.
const URL_ATTRIBUTES = new Set([
  "href",
  "src",
  "xlink:href",
  "action",
  "formaction",
  "poster",
  "background",
  "cite",
  "data",
  "codebase",
  "longdesc",
  "usemap",
  "manifest",
  "ping",
  "icon",
  "lowsrc",
  "dynsrc",
  "archive",
  "classid",
  "profile",
]);
/** Attributes where no value may stand at all: they hold markup, code, a namespace or a target. */
const REFUSED_ATTRIBUTES: Record<string, string> = {
  srcdoc: 'inside a "srcdoc" attribute (it holds a whole document)',
  content: 'inside a "content" attribute (a meta refresh is a URL)',
  attributename: 'inside an "attributeName" attribute (it picks what an animation changes)',
  style: 'inside a "style" attribute',
  srcset: 'inside a "srcset" attribute',
};
const RAWTEXT_ELEMENTS = new Set(["script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"]);

class MarkupScanner {
  state: State = "data";
  tagName = "";
  closing = false;
  attrName = "";
  valueSoFar = "";
  rawEnd = "";
  private pending = "";

  feed(text: string) {
    for (let i = 0; i < text.length; i++) this.step(text[i]);
  }

  private step(ch: string) {
    switch (this.state) {
      case "data":
        if (ch === "<") {
          this.state = "tag-open";
          this.pending = "";
        }
        return;
      case "tag-open":
        if (ch === "!") {
          this.state = "markup-decl";
          this.pending = "";
        } else if (ch === "/") this.closing = true;
        else if (/[A-Za-z]/.test(ch)) {
          this.state = "tag-name";
          this.tagName = ch.toLowerCase();
        } else {
          this.state = "data";
          this.closing = false;
        }
        return;
      case "markup-decl":
        this.pending += ch;
        if (this.pending === "--") {
          this.state = "comment";
          this.pending = "";
        } else if (!"--".startsWith(this.pending) && ch === ">") this.state = "data";
        return;
      case "comment":
        this.pending = (this.pending + ch).slice(-3);
        if (this.pending === "-->") this.state = "data";
        return;
      case "rawtext":
        this.pending = (this.pending + ch.toLowerCase()).slice(-this.rawEnd.length);
        if (this.pending === this.rawEnd) {
          this.state = "in-tag";
          this.tagName = this.rawEnd.slice(2);
          this.closing = true;
        }
        return;
      case "tag-name":
        if (/\s/.test(ch)) this.state = "in-tag";
        else if (ch === ">") this.endTag();
        else if (ch === "/") this.state = "in-tag";
        else this.tagName += ch.toLowerCase();
        return;
      case "in-tag":
        if (ch === ">") this.endTag();
        else if (!/[\s/]/.test(ch)) {
          this.state = "attr-name";
          this.attrName = ch.toLowerCase();
        }
        return;
      case "attr-name":
        if (ch === "=") this.beforeValue();
        else if (/\s/.test(ch)) this.state = "after-attr-name";
        else if (ch === ">") this.endTag();
        else if (ch === "/") this.state = "in-tag";
        else this.attrName += ch.toLowerCase();
        return;
      case "after-attr-name":
        if (ch === "=") this.beforeValue();
        else if (ch === ">") this.endTag();
        else if (!/\s/.test(ch)) {
          this.state = "attr-name";
          this.attrName = ch.toLowerCase();
        }
        return;
      case "before-value":
        if (ch === '"') this.state = "value-dq";
        else if (ch === "'") this.state = "value-sq";
        else if (ch === ">") this.endTag();
        else if (!/\s/.test(ch)) {
          this.state = "value-unquoted";
          this.valueSoFar = ch;
        }
        return;
      case "value-dq":
      case "value-sq":
        if ((this.state === "value-dq" && ch === '"') || (this.state === "value-sq" && ch === "'"))
          this.state = "in-tag";
        else this.valueSoFar += ch;
        return;
      case "value-unquoted":
        if (/\s/.test(ch)) this.state = "in-tag";
        else if (ch === ">") this.endTag();
        else this.valueSoFar += ch;
        return;
    }
  }

  private beforeValue() {
    this.state = "before-value";
    this.valueSoFar = "";
  }

  private endTag() {
    if (!this.closing && RAWTEXT_ELEMENTS.has(this.tagName)) {
      this.state = "rawtext";
      this.rawEnd = `</${this.tagName}`;
      this.pending = "";
    } else this.state = "data";
    this.closing = false;
  }

  /** The context of a value inserted here, or why no value may stand here. */
  context(): ValueContext | string {
    switch (this.state) {
      case "data":
        return "text";
      case "value-dq":
      case "value-sq": {
        const name = this.attrName;
        if (name.startsWith("on")) return `inside the event handler attribute "${name}"`;
        if (name in REFUSED_ATTRIBUTES) return REFUSED_ATTRIBUTES[name];
        if (name.startsWith("xmlns")) return `inside the namespace declaration "${name}"`;
        if (URL_ATTRIBUTES.has(name)) return this.valueSoFar.trim() === "" ? "url" : "url-part";
        return "attr";
      }
      case "value-unquoted":
      case "before-value":
        return `in an unquoted value of the attribute "${this.attrName}" (quote it)`;
      case "comment":
      case "markup-decl":
        return "inside a comment";
      case "rawtext":
        return `inside <${this.rawEnd.slice(2)}>`;
      default:
        return "inside a tag or attribute name";
    }
  }

  /** A value was inserted here: a later value in the same URL attribute is no longer at its start. */
  noteValue() {
    if (this.state === "value-dq" || this.state === "value-sq") this.valueSoFar += "\u0000";
  }

  /**
   * Why a section may not open or close here, or null. Sections stand between tags or inside one
   * quoted non-URL attribute value: leaving one out then removes whole tokens or plain text, never
   * part of a tag or a URL (markup-policy.ts checks each shape a template can render to).
   */
  sectionProblem(): string | null {
    if (this.state === "data") return null;
    if (this.state === "value-dq" || this.state === "value-sq") {
      return URL_ATTRIBUTES.has(this.attrName) ? `inside the URL attribute "${this.attrName}"` : null;
    }
    return this.state === "rawtext" ? `inside <${this.rawEnd.slice(2)}>` : "inside a tag, comment or unquoted value";
  }

  /** Where in the markup we are, as far as the escaping of a value is concerned. */
  snapshot(): string {
    if (this.state === "data") return "data";
    if (this.state === "rawtext") return `rawtext|${this.rawEnd}`;
    return `${this.state}|${this.tagName}|${this.attrName}`;
  }
}

/**
 * Compiles a markup template (html or svg). Throws TemplateError naming an unknown variable, a
 * position where no value can be escaped safely, or a section that is not closed.
 */
export function compileMarkupTemplate(source: string): Part[] {
  return build(tokenize(source), new MarkupScanner());
}

/** Compiles one string field of a `json` creative: values are inserted as plain text. */
export function compilePlainTemplate(source: string): Part[] {
  return build(tokenize(source), null);
}

function build(tokens: Token[], scanner: MarkupScanner | null): Part[] {
  const root: Part[] = [];
  const stack: { name: string; parts: Part[]; at: number; snapshot: string }[] = [];
  let current = root;
  for (const token of tokens) {
    if (token.kind === "text") {
      scanner?.feed(token.value);
      current.push({ kind: "text", value: token.value });
      continue;
    }
    const name = token.name as TemplateVariable;
    // Only where a section opens: its end must stand in the same place (checked below).
    const misplaced = (token.sigil === "#" || token.sigil === "^") && scanner ? scanner.sectionProblem() : null;
    if (misplaced) {
      throw new TemplateError(
        `the section tag "{{${token.sigil}${name}}}" at position ${token.at} stands ${misplaced}`,
        token.at,
      );
    }
    if (token.sigil === "#" || token.sigil === "^") {
      const section: Part = { kind: "section", name, inverted: token.sigil === "^", parts: [] };
      current.push(section);
      stack.push({ name, parts: current, at: token.at, snapshot: scanner?.snapshot() ?? "" });
      current = section.parts;
    } else if (token.sigil === "/") {
      const open = stack.pop();
      if (!open || open.name !== name) {
        throw new TemplateError(`"{{/${name}}}" at position ${token.at} closes no open section`, token.at);
      }
      if (scanner && scanner.snapshot() !== open.snapshot) {
        throw new TemplateError(
          `the section "{{${name}}}" opened at position ${open.at} must end where it began in the markup (not inside another tag or attribute)`,
          open.at,
        );
      }
      current = open.parts;
    } else {
      const context = scanner ? scanner.context() : "plain";
      if (
        context !== "text" &&
        context !== "attr" &&
        context !== "url" &&
        context !== "url-part" &&
        context !== "plain"
      ) {
        throw new TemplateError(`the variable "{{${name}}}" at position ${token.at} stands ${context}`, token.at);
      }
      current.push({ kind: "var", name, context });
      scanner?.noteValue();
    }
  }
  const open = stack.pop();
  if (open) throw new TemplateError(`the section "{{#${open.name}}}" at position ${open.at} is not closed`, open.at);
  return root;
}

// ---- Rendering ----

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** HTML text and attribute escaping; the same five replacements are valid XML (SVG) too. */
export function escapeMarkup(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => ESCAPES[ch]);
}

/** Only absolute http(s) URLs may start an href/src: no javascript:, data: or relative tricks. */
export function safeUrl(value: string): string | null {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function renderValue(value: string, context: ValueContext): string {
  switch (context) {
    case "text":
    case "attr":
      return escapeMarkup(value);
    case "url":
      // A refused URL renders as an inert, empty link target rather than leaking the value.
      return value === "" ? "" : escapeMarkup(safeUrl(value) ?? "about:blank");
    case "url-part":
      return escapeMarkup(encodeURIComponent(value));
    case "plain":
      return value;
  }
}

export function renderParts(parts: Part[], values: TemplateValues): string {
  let out = "";
  for (const part of parts) {
    if (part.kind === "text") out += part.value;
    else if (part.kind === "var") out += renderValue(values[part.name] ?? "", part.context);
    else {
      const present = (values[part.name] ?? "") !== "";
      if (present !== part.inverted) out += renderParts(part.parts, values);
    }
  }
  return out;
}
