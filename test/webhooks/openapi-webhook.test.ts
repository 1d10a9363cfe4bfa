/**
 * The served OpenAPI document describes what a receiver gets: the Standard Webhooks headers the
 * deliveries are signed with (worker/webhooks/deliver.ts) and the `type`-keyed payload — not the
 * replaced `X-Tagwerk-Signature` scheme or an `event` key.
 */
import { describe, expect, it } from "vitest";
import { signatureHeaders } from "../../worker/webhooks/deliver";
import { call } from "../fixtures/api";

type Parameter = { name: string; in: string; required?: boolean };
type Doc = {
  webhooks?: Record<
    string,
    { post?: { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: { $ref: string } }> } } }
  >;
  components: { schemas: Record<string, { properties: Record<string, unknown>; required?: string[] }> };
};

describe("the webhook in the OpenAPI document", () => {
  it("names the Standard Webhooks headers that a delivery carries, and the payload's keys", async () => {
    const res = await call("/api/v1/openapi.json");
    const text = await res.text();
    expect(text).not.toMatch(/X-Tagwerk-Signature/i);
    const doc = JSON.parse(text) as Doc;
    const post = doc.webhooks?.segmentMembership?.post;
    const headers = (post?.parameters ?? []).filter((p) => p.in === "header");
    expect(headers.map((p) => p.name).sort()).toEqual(["webhook-id", "webhook-signature", "webhook-timestamp"]);
    expect(headers.every((p) => p.required)).toBe(true);

    // The headers a delivery is actually sent with are the documented ones.
    const sent = await signatureHeaders([new Uint8Array(32)], "msg_1", "{}", Date.now());
    expect(Object.keys(sent).sort()).toEqual(headers.map((p) => p.name).sort());

    const ref = post?.requestBody?.content["application/json"].schema.$ref ?? "";
    const payload = doc.components.schemas[ref.replace("#/components/schemas/", "")];
    expect(Object.keys(payload.properties)).toEqual(expect.arrayContaining(["type", "sequence", "segment_id"]));
    expect(payload.properties).not.toHaveProperty("event");
  });
});
