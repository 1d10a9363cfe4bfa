/**
 * Every operation of the API document, called without credentials, answers what the document
 * declares: 401 where it names a security scheme, its public answer where it declares
 * `security: []`. An operation that declares neither is a failure too: a route added without
 * thinking about who may call it is exactly what this walk is for.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { call } from "../fixtures/api";

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
      const init: RequestInit = { method: op.method };
      if (op.method !== "GET" && op.method !== "DELETE") {
        init.body = "{}";
        init.headers = { "Content-Type": "application/json" };
      }
      const res = await call(concrete(op.path), init);
      if (res.status !== 401) answers.push(`${op.method} ${op.path} → ${res.status}`);
    }
    expect(answers).toEqual([]);
  });
});
