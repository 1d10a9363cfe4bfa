/**
 * The API document passes Redocly's `recommended` ruleset, checked with Redocly's own linter
 * (@redocly/openapi-core) — which needs Node, so this file runs in the `node` project on the
 * document the assembled app generates (the same one /api/v1/openapi.json serves).
 */
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { describe, expect, it } from "vitest";
import { openApiConfig } from "../../worker/docs/openapi-config";
import { app } from "../../worker/index";

describe("the OpenAPI document", () => {
  it("passes redocly lint with the recommended rules", async () => {
    const doc = app.getOpenAPI31Document(openApiConfig("https://edge.example"));
    const config = await createConfig({ extends: ["recommended"] });
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: "openapi.json", config });
    const found = problems.map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}`);
    // Warnings (which `redocly lint` passes with) only where the rule does not fit the route:
    // `/` and `/healthz` have no client error to answer, and a click is a 302 redirect by design.
    expect(found).toEqual([
      "warn operation-4xx-response at #/paths/~1healthz/get/responses",
      "warn operation-4xx-response at #/paths/~1/get/responses",
      "warn operation-2xx-response at #/paths/~1c~1{token}/get/responses",
    ]);
  });
});
