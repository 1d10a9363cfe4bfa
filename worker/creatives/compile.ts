/**
 * A creative compiled for rendering: markup templates (html, svg) and the string fields of a
 * `json` creative, scanned once (at save time to refuse bad templates, and once per rules version
 * in the decision cache) and rendered per request by concatenation.
 */
import {
  compileMarkupTemplate,
  compilePlainTemplate,
  type Part,
  renderParts,
  TemplateError,
  type TemplateValues,
} from "./template";

export type CreativeFormat = "html" | "svg" | "json";
export type JsonFields = Record<string, string | number | boolean | null>;

export type CompiledCreative = {
  id: number;
  format: CreativeFormat;
  width: number;
  height: number;
  landingUrl: string;
  render(values: TemplateValues): string | JsonFields;
};

/** Parses the stored template text of a creative into what the API shows (an object for json). */
export function templateFromStored(format: CreativeFormat, stored: string): string | JsonFields {
  return format === "json" ? (JSON.parse(stored) as JsonFields) : stored;
}

/** Validates a template for its format; throws TemplateError with a message naming the problem. */
export function compileTemplate(format: CreativeFormat, template: string | JsonFields) {
  if (format === "json") {
    if (typeof template !== "object" || template === null || Array.isArray(template)) {
      throw new TemplateError("a json creative's template is an object of fields", 0);
    }
    const fields: [string, Part[] | string | number | boolean | null][] = [];
    for (const [name, value] of Object.entries(template)) {
      if (typeof value === "string") {
        try {
          fields.push([name, compilePlainTemplate(value)]);
        } catch (err) {
          if (err instanceof TemplateError) throw new TemplateError(`field "${name}": ${err.message}`, err.position);
          throw err;
        }
      } else fields.push([name, value]);
    }
    return (values: TemplateValues): JsonFields =>
      Object.fromEntries(fields.map(([name, v]) => [name, Array.isArray(v) ? renderParts(v, values) : v]));
  }
  if (typeof template !== "string") throw new TemplateError(`a ${format} creative's template is a string`, 0);
  const parts = compileMarkupTemplate(template);
  return (values: TemplateValues): string => renderParts(parts, values);
}

export function compileCreative(row: {
  id: number;
  format: CreativeFormat;
  template: string;
  width: number;
  height: number;
  landingUrl: string;
}): CompiledCreative {
  return {
    id: row.id,
    format: row.format,
    width: row.width,
    height: row.height,
    landingUrl: row.landingUrl,
    render: compileTemplate(row.format, templateFromStored(row.format, row.template)),
  };
}
