/**
 * Every operation of the API document, called without credentials, answers what the document
 * declares: 401 where it names a security scheme, its public answer where it declares
 * `security: []`. An operation that declares neither is a failure too: a route added without
 * thinking about who may call it is exactly what this walk is for. Called with an ingest-only key,
 * every `apiKey` operation answers 403 unless it declares `{ apiKey: ["ingest"] }`.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { call, createTestSite } from "../fixtures/api";

type Operation = { method: string; path: string; security?: Array<Record<string, unknown>> };

let operations: Operation[] = [];

beforeAll(async () => {
  const doc = (await (await call("/api/v1/openapi.json")).json()) as {
    paths: Record<string, Record<string, { security?: Operation["security"] }>>;
    security?: Operation["security"];
  };
  operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([method]) => ["get", "post", "put", "patch", "delete"].includes(method))
      .map(([method, op]) => ({ method: method.toUpperCase(), path, security: op.security ?? doc.security })),
  );
});

/** A concrete path for a templated one: IDs that exist nowhere, so only authentication is tested. */
function concrete(path: string): string {
  return path.replace(/\{([a-z_]+)\}/g, (_, name: string) => (name === "id" || name === "delivery" ? "1" : "x"));
}

/** The operation's method with an empty JSON body where it takes one, and `key` when given. */
function requestOf(op: Operation, key?: string): Parameters<typeof call>[1] {
  const hasBody = op.method !== "GET" && op.method !== "DELETE";
  return {
    method: op.method,
    ...(key ? { key } : {}),
    ...(hasBody ? { body: "{}", headers: { "Content-Type": "application/json" } } : {}),
  };
}

describe("calls without credentials", () => {
  it("the document lists the management operations", () => {
    expect(operations.length).toBeGreaterThan(40);
    expect(operations.some((op) => op.path === "/api/v1/rules" && op.method === "POST")).toBe(true);
  });

  it("every operation declares who may call it: a security scheme, or security: [] for a public one", () => {
    const undeclared = operations.filter((op) => op.security === undefined).map((op) => `${op.method} ${op.path}`);
    expect(undeclared).toEqual([]);
  });

  it("every operation that names a security scheme answers 401 without credentials", async () => {
    const answers: string[] = [];
    for (const op of operations.filter((o) => (o.security?.length ?? 0) > 0)) {
      const res = await call(concrete(op.path), requestOf(op));
      if (res.status !== 401) answers.push(`${op.method} ${op.path} → ${res.status}`);
    }
    expect(answers).toEqual([]);
  });

  it("an ingest-only key is refused (403) by every operation but the ones that declare the ingest scope", async () => {
    const { apiKey } = await createTestSite();
    const issued = await call("/api/v1/site/keys", { method: "POST", key: apiKey, json: { scope: "ingest" } });
    const ingestKey = ((await issued.json()) as { api_key: string }).api_key;
    const answers: string[] = [];
    const declared: string[] = [];
    for (const op of operations.filter((o) => o.security?.some((r) => "apiKey" in r))) {
      if (op.security?.some((r) => ((r.apiKey as string[] | undefined) ?? []).includes("ingest"))) {
        declared.push(`${op.method} ${op.path}`);
        continue;
      }
      const res = await call(concrete(op.path), requestOf(op, ingestKey));
      if (res.status !== 403) answers.push(`${op.method} ${op.path} → ${res.status}`);
    }
    expect(answers).toEqual([]);
    expect(declared).toEqual(["POST /api/v1/events"]);
  });
});
