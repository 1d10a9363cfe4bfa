/** What the document says about itself: its server, an operationId everywhere, security on every operation. */
import { describe, expect, it } from "vitest";
import { call } from "../fixtures/api";

describe("the OpenAPI document", () => {
  it("names this deployment as its server and gives every operation an operationId", async () => {
    const doc = (await (await call("/api/v1/openapi.json")).json()) as {
      servers: { url: string }[];
      paths: Record<string, Record<string, { operationId?: string; security?: unknown[] }>>;
    };
    expect(doc.servers).toEqual([{ url: "https://tagwerk.test", description: "This deployment" }]);
    const ops = Object.values(doc.paths).flatMap((methods) => Object.values(methods));
    expect(ops.length).toBeGreaterThan(60);
    expect(ops.filter((op) => !op.operationId)).toEqual([]);
    expect(doc.paths["/b/{placement}"].get.security).toEqual([]);
    expect(doc.paths["/api/v1/rules"].get.security).toEqual([{ apiKey: [] }]);
  });
});
