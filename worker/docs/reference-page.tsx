/**
 * `/docs`: a readable API reference rendered on the server from the same OpenAPI document that
 * `/api/v1/openapi.json` serves. Rendered here rather than with a hosted viewer so it loads no
 * third-party script and works offline and under a strict content security policy.
 */
import { raw } from "hono/html";
import type { FC } from "hono/jsx";
import { inlineMarkdown, markdown } from "./markdown";

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  description?: string;
  $ref?: string;
  nullable?: boolean;
  anyOf?: Schema[];
  oneOf?: Schema[];
};
type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema; description?: string }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string }>;
  security?: Record<string, unknown>[];
};
type Document = {
  info: { title: string; version: string; description?: string };
  paths?: Record<string, Record<string, Operation>>;
};

function typeOf(schema: Schema | undefined): string {
  if (!schema) return "";
  if (schema.$ref) return schema.$ref.split("/").pop() ?? "";
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) return variants.map(typeOf).join(" | ");
  if (schema.type === "array") return `${typeOf(schema.items)}[]`;
  return Array.isArray(schema.type) ? schema.type.join(" | ") : (schema.type ?? "object");
}

const Fields: FC<{ schema?: Schema }> = ({ schema }) => {
  if (!schema?.properties) return <p class="muted">{typeOf(schema) || "—"}</p>;
  return (
    <table>
      <tbody>
        {Object.entries(schema.properties).map(([name, field]) => (
          <tr>
            <td>
              <code>{name}</code>
              {schema.required?.includes(name) ? " *" : ""}
            </td>
            <td>{typeOf(field)}</td>
            <td>{raw(inlineMarkdown(field.description ?? ""))}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
};

/**
 * A request form per operation: path and query parameters as fields, a JSON body, the answer
 * shown below. docs.js sends it with fetch (and unhides it); without the script it stays hidden.
 */
const TryIt: FC<{ path: string; method: string; op: Operation }> = ({ path, method, op }) => {
  const params = (op.parameters ?? []).filter((p) => p.in === "path" || p.in === "query");
  const bodyType = Object.keys(op.requestBody?.content ?? {})[0];
  const id = (name: string) => `try-${op.operationId ?? `${method}-${path}`}-${name}`;
  return (
    <details>
      <summary>Try it</summary>
      <form class="try" data-method={method} data-path={path} data-type={bodyType} hidden>
        {params.map((p) => (
          <label for={id(p.name)}>
            {p.name}{" "}
            <span class="muted">
              ({p.in}
              {p.required ? ", required" : ""})
            </span>
            <input id={id(p.name)} name={p.name} data-in={p.in} required={p.in === "path"} />
          </label>
        ))}
        {bodyType && (
          <label for={id("body")}>
            Body <span class="muted">{bodyType}</span>
            <textarea id={id("body")} name="body" spellcheck={false}>
              {bodyType.includes("json") ? "{}" : ""}
            </textarea>
          </label>
        )}
        <button type="submit">
          Send {method.toUpperCase()} {path}
        </button>
        <pre>
          <output aria-live="polite" />
        </pre>
      </form>
      <noscript>
        <p class="muted">The try-it form needs JavaScript; the same request with curl works too.</p>
      </noscript>
    </details>
  );
};

export const ReferencePage: FC<{ doc: Document }> = ({ doc }) => {
  const operations = Object.entries(doc.paths ?? {}).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method, op })),
  );
  const tags = [...new Set(operations.map((o) => o.op.tags?.[0] ?? "Other"))];
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{doc.info.title} — reference</title>
        <link rel="stylesheet" href="/docs/assets/docs.css" />
        <script src="/docs/assets/docs.js" defer />
      </head>
      <body>
        <h1>
          {doc.info.title} <small class="muted">{doc.info.version}</small>
        </h1>
        {raw(markdown(doc.info.description))}
        <p>
          Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>
        </p>
        <div class="tools">
          <label>
            Search operations
            <input id="docs-search" type="search" placeholder="e.g. coupon redeem, POST rules" autocomplete="off" />
          </label>
          <label>
            API key for “try it” (kept in this page only)
            <input id="docs-key" type="password" autocomplete="off" />
          </label>
          <output id="docs-count" class="muted" aria-live="polite">
            {operations.length} operations
          </output>
        </div>
        <nav>
          {tags.map((tag) => (
            <a href={`#${tag}`}>{tag}</a>
          ))}
        </nav>
        {tags.map((tag) => (
          <section id={tag} class="tag">
            <h2>{tag}</h2>
            {operations
              .filter((o) => (o.op.tags?.[0] ?? "Other") === tag)
              .map(({ path, method, op }) => (
                <div
                  class="op"
                  id={op.operationId}
                  data-search={[method, path, op.operationId, op.summary, tag].join(" ").toLowerCase()}
                >
                  <h3>
                    <span class={`m ${method}`}>{method}</span> <code>{path.replace(/\{(\w+)\}/g, ":$1")}</code>
                  </h3>
                  <p>{op.summary}</p>
                  {op.description ? raw(markdown(op.description)) : null}
                  {op.parameters?.length ? (
                    <>
                      <h4>Parameters</h4>
                      <table>
                        <tbody>
                          {op.parameters.map((p) => (
                            <tr>
                              <td>
                                <code>{p.name}</code>
                                {p.required ? " *" : ""}
                              </td>
                              <td>{p.in}</td>
                              <td>{typeOf(p.schema)}</td>
                              <td>{raw(inlineMarkdown(p.description ?? ""))}</td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    </>
                  ) : null}
                  {op.requestBody?.content
                    ? Object.entries(op.requestBody.content).map(([type, body]) => (
                        <>
                          <h4>
                            Body <span class="muted">{type}</span>
                          </h4>
                          <Fields schema={body.schema} />
                        </>
                      ))
                    : null}
                  <h4>Responses</h4>
                  <ul>
                    {Object.entries(op.responses ?? {}).map(([status, r]) => (
                      <li>
                        <code>{status}</code> {r.description}
                      </li>
                    ))}
                  </ul>
                  <TryIt path={path} method={method} op={op} />
                </div>
              ))}
          </section>
        ))}
      </body>
    </html>
  );
};
