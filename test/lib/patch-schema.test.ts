/**
 * Merge semantics on every PATCH of the API (README.md, "API reference"), walked from the OpenAPI
 * document itself so a new PATCH route cannot escape: for each operation a resource is created with
 * no field at its default, then each field of the PATCH body (as the document lists it) is sent
 * alone — it changes and every other field stays as it was; `null` clears a nullable field and is
 * a 400 that changes nothing for any other field.
 */
import { describe, expect, it } from "vitest";
import { call, createTestSite } from "../fixtures/api";
import { apiOf, comparable, FIXTURES, type Json, type Schema } from "../fixtures/patchable";

function nullable(schema: Schema): boolean {
  if (Array.isArray(schema.type)) return schema.type.includes("null");
  if (schema.type === "null") return true;
  return [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])].some(nullable);
}

async function patchOperations() {
  const doc = (await (await call("/api/v1/openapi.json")).json()) as {
    paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Schema }> } }>>;
    components: { schemas: Record<string, Schema> };
  };
  return Object.entries(doc.paths)
    .filter(([, ops]) => ops.patch)
    .map(([path, ops]) => {
      let schema = ops.patch.requestBody?.content["application/json"]?.schema as Schema & { $ref?: string };
      if (schema?.$ref) schema = doc.components.schemas[schema.$ref.split("/").pop() as string];
      return { path, properties: schema?.properties ?? {} };
    });
}

describe("PATCH merge semantics, walked over the OpenAPI document", () => {
  it("has a fixture for every PATCH operation and every field of its body", async () => {
    const ops = await patchOperations();
    expect(ops.length).toBeGreaterThanOrEqual(9);
    for (const op of ops) {
      const fixture = FIXTURES[op.path];
      expect(fixture, `no fixture for PATCH ${op.path}`).toBeDefined();
      const { siteKey: _s, apiKey } = await createTestSite();
      const made = await fixture.create(apiOf(apiKey));
      expect(Object.keys(made.changes).sort(), op.path).toEqual(Object.keys(op.properties).sort());
    }
  }, 60_000);

  for (const path of Object.keys(FIXTURES)) {
    it(`PATCH ${path}: each field sent alone changes only that field; null clears or is a 400 that changes nothing`, async () => {
      const ops = await patchOperations();
      const op = ops.find((o) => o.path === path);
      expect(op, `${path} is not a PATCH operation of the document`).toBeDefined();
      const fixture = FIXTURES[path];
      const { apiKey } = await createTestSite();
      const made = await fixture.create(apiOf(apiKey));
      for (const [field, value] of Object.entries(made.changes)) {
        const before = comparable(await made.read());
        const res = await call(made.path, { method: "PATCH", key: apiKey, json: { [field]: value } });
        const refused = fixture.refusedAlone?.[field];
        if (refused) {
          expect(res.status, `${path} ${field} alone`).toBe(refused);
          expect(comparable(await made.read()), `${path} ${field} refused`).toEqual(before);
          continue;
        }
        expect(res.status, `${path} ${field}: ${await res.clone().text()}`).toBe(200);
        const after = comparable(await made.read());
        const shown = fixture.shows?.[field] ? fixture.shows[field](value) : value;
        const expected: Json = { ...before };
        if (shown !== undefined) expected[field] = shown;
        for (const other of fixture.coupled?.[field] ?? []) expected[other] = after[other];
        expect(after, `${path}: PATCH {${field}} changed other fields`).toEqual(expected);
      }
      for (const [field, schema] of Object.entries(op?.properties ?? {})) {
        const before = comparable(await made.read());
        const res = await call(made.path, { method: "PATCH", key: apiKey, json: { [field]: null } });
        const refused = fixture.refusedNull?.[field];
        if (nullable(schema) && !refused) {
          expect(res.status, `${path} ${field}: null clears it`).toBe(200);
          expect(comparable(await made.read()), `${path} ${field}: null`).toEqual({ ...before, [field]: null });
        } else {
          expect(res.status, `${path} ${field}: null for a field that may not be empty`).toBe(400);
          expect(comparable(await made.read()), `${path} ${field}: refused null changed something`).toEqual(before);
        }
      }
    }, 60_000);
  }
});
