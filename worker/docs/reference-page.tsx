/**
 * `/docs`: a readable API reference rendered on the server from the same OpenAPI document that
 * `/api/v1/openapi.json` serves. Rendered here rather than with a hosted viewer so it loads no
 * third-party script and works offline and under a strict content security policy.
 */
import type { FC } from "hono/jsx";

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
            <td>{field.description ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
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
        <style>{`body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:0 auto;padding:1rem;color:#222}
code{background:#f3f3f3;padding:0 .2em}h2{border-bottom:1px solid #ddd;margin-top:2rem}
.op{border:1px solid #e3e3e3;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.m{display:inline-block;min-width:4.5em;font-weight:700;text-transform:uppercase}
.get{color:#0a6}.post{color:#06c}.patch,.put{color:#a60}.delete{color:#c22}
table{border-collapse:collapse;width:100%}td{border-top:1px solid #eee;padding:.2rem .5rem;vertical-align:top}
.muted{color:#777}nav a{margin-right:.8rem}`}</style>
      </head>
      <body>
        <h1>
          {doc.info.title} <small class="muted">{doc.info.version}</small>
        </h1>
        <p>{doc.info.description}</p>
        <p>
          Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>
        </p>
        <nav>
          {tags.map((tag) => (
            <a href={`#${tag}`}>{tag}</a>
          ))}
        </nav>
        {tags.map((tag) => (
          <section id={tag}>
            <h2>{tag}</h2>
            {operations
              .filter((o) => (o.op.tags?.[0] ?? "Other") === tag)
              .map(({ path, method, op }) => (
                <div class="op">
                  <h3>
                    <span class={`m ${method}`}>{method}</span> <code>{path.replace(/\{(\w+)\}/g, ":$1")}</code>
                  </h3>
                  <p>{op.summary}</p>
                  {op.description ? <p>{op.description}</p> : null}
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
                              <td>{p.description ?? ""}</td>
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
                </div>
              ))}
          </section>
        ))}
      </body>
    </html>
  );
};
