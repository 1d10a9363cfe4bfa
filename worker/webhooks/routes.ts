/** `/api/v1/webhooks`: CRUD, the signing secret, deliveries and their replay. */
import { type RouteConfig, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { requireRole } from "../auth/roles";
import { signingSecretOf } from "../auth/signing";
import { webhookDeliveries } from "../db/schema";
import { apiError } from "../errors";
import { errorResponses, IdParam, jsonBody, jsonContent } from "../lib/openapi-shared";
import { patchSchemaOf } from "../lib/patch-schema";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { enqueueDeliveriesOf } from "../pipeline/producers";
import { peopleOfSite } from "../shards/routing";
import { MAX_ATTEMPTS, sendTestDelivery } from "./deliver";
import { syncWebhookMembers } from "./entries";
import { localHttpAllowed, webhookUrlProblem } from "./public-url";
import {
  deleteWebhook,
  deliveryToJson,
  getDelivery,
  getWebhook,
  insertWebhook,
  listDeliveries,
  listWebhooks,
  patchWebhook,
  rotateWebhookSecret,
  webhookSecret,
  webhookToJson,
} from "./store";

const WebhookInput = z
  .object({
    url: z.string().max(2000).openapi({ example: "https://hooks.mailtool.example/tagwerk" }),
    segment_id: z.number().int().positive(),
    enabled: z.boolean().optional(),
  })
  .strict();

export const WebhookSchema = z
  .object({
    id: z.number(),
    url: z.string(),
    segment_id: z.number(),
    enabled: z.boolean(),
    created_at: z.number(),
    updated_at: z.number(),
  })
  .openapi("Webhook");

const DeliverySchema = z
  .object({
    id: z.number(),
    webhook_id: z.number(),
    status: z.enum(["pending", "delivered", "failed"]),
    attempts: z.number(),
    last_error: z.string().nullable(),
    payload: z.record(z.string(), z.unknown()),
    created_at: z.number(),
    delivered_at: z.number().nullable(),
  })
  .openapi("WebhookDelivery");

const SecretSchema = z.string().openapi({
  description:
    "Standard Webhooks `whsec_` secret: signs `webhook-signature: v1,BASE64(HMAC-SHA256(key, id + '.' + timestamp + '.' + body))`",
});

export const webhooksRoutes = createRouter();

function checkUrl(url: string, env: Env) {
  const problem = webhookUrlProblem(url, { allowLocalHttp: localHttpAllowed(env) });
  if (problem) throw apiError(400, "validation_failed", `url: ${problem}`);
}

webhooksRoutes.openapi(
  createRoute({
    operationId: "listWebhooks",
    method: "get",
    path: "/api/v1/webhooks",
    tags: ["Webhooks"],
    summary: "The site's webhooks",
    security: [{ apiKey: [] }],
    responses: {
      200: jsonContent(z.object({ webhooks: z.array(WebhookSchema) }), "Webhooks"),
      ...errorResponses(401),
    },
  }),
  async (c) => c.json({ webhooks: (await listWebhooks(c.var.db, c.var.site.id)).map(webhookToJson) }, 200),
);

webhooksRoutes.openapi(
  createRoute({
    operationId: "createWebhook",
    method: "post",
    path: "/api/v1/webhooks",
    tags: ["Webhooks"],
    summary: "Create a webhook; the answer carries its signing secret",
    description: "Visitors already in the segment are recorded as the baseline; only later entries are delivered.",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: { body: jsonBody(WebhookInput) },
    responses: {
      201: jsonContent(WebhookSchema.extend({ secret: SecretSchema }), "Created"),
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    const input = c.req.valid("json");
    checkUrl(input.url, c.env);
    const now = Date.now();
    const webhook = await insertWebhook(c.var.db, c.var.site.id, input, now);
    await syncWebhookMembers(c.var.db, webhook, now, { notify: false, env: c.env });
    const secret = await webhookSecret(signingSecretOf(c.env), webhook.id);
    return c.json({ ...webhookToJson(webhook), secret }, 201);
  },
);

webhooksRoutes.openapi(
  createRoute({
    operationId: "getWebhook",
    method: "get",
    path: "/api/v1/webhooks/{id}",
    tags: ["Webhooks"],
    summary: "One webhook",
    security: [{ apiKey: [] }],
    request: { params: IdParam },
    responses: {
      200: jsonContent(WebhookSchema, "The webhook"),
      ...errorResponses(401, 404),
    },
  }),
  async (c) => c.json(webhookToJson(await getWebhook(c.var.db, c.var.site.id, c.req.valid("param").id)), 200),
);

webhooksRoutes.openapi(
  createRoute({
    operationId: "updateWebhook",
    method: "patch",
    path: "/api/v1/webhooks/{id}",
    tags: ["Webhooks"],
    summary: "Change a webhook (a new segment starts from a new baseline)",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: {
      params: IdParam,
      body: jsonBody(patchSchemaOf(WebhookInput)),
    },
    responses: {
      200: jsonContent(WebhookSchema, "The webhook"),
      ...errorResponses(400, 401, 403, 404),
    },
  }),
  async (c) => {
    const patch = c.req.valid("json");
    if (patch.url !== undefined) checkUrl(patch.url, c.env);
    const now = Date.now();
    const { webhook, segmentChanged } = await patchWebhook(
      c.var.db,
      peopleOfSite(c.env, c.var.site),
      c.var.site.id,
      c.req.valid("param").id,
      patch,
      now,
    );
    if (segmentChanged) await syncWebhookMembers(c.var.db, webhook, now, { notify: false, env: c.env });
    return c.json(webhookToJson(webhook), 200);
  },
);

webhooksRoutes.openapi(
  createRoute({
    operationId: "deleteWebhook",
    method: "delete",
    path: "/api/v1/webhooks/{id}",
    tags: ["Webhooks"],
    summary: "Delete a webhook with its members and deliveries",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    await deleteWebhook(c.var.db, peopleOfSite(c.env, c.var.site), c.var.site.id, c.req.valid("param").id);
    return c.body(null, 204);
  },
);

webhooksRoutes.openapi(
  createRoute({
    operationId: "getWebhookSecret",
    method: "get",
    path: "/api/v1/webhooks/{id}/secret",
    tags: ["Webhooks"],
    summary: "The webhook's current signing secret again (admins only); rotating is POST",
    description:
      "Secrets are derived from the deployment's SIGNING_SECRET, the webhook ID and its secret version, never " +
      "stored, so the current one can be shown again to whoever may rotate it.",
    security: [{ apiKey: [] }],
    middleware: [requireRole("admin")] as const,
    request: { params: IdParam },
    responses: {
      200: jsonContent(z.object({ secret: SecretSchema }), "The current secret"),
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const webhook = await getWebhook(c.var.db, c.var.site.id, c.req.valid("param").id);
    return c.json({ secret: await webhookSecret(signingSecretOf(c.env), webhook.id, webhook.secretVersion) }, 200);
  },
);

webhooksRoutes.openapi(
  createRoute({
    operationId: "rotateWebhookSecret",
    method: "post",
    path: "/api/v1/webhooks/{id}/secret",
    tags: ["Webhooks"],
    summary: "Rotate the webhook's signing secret (admins only); the old one signs too for a grace period",
    description:
      "Answers a new secret, shown once. During `grace_hours` (default 24; 0 ends the old secret at once) every " +
      "delivery carries two signatures in `webhook-signature` (space-separated, as Standard Webhooks allows), " +
      "one under each secret, so the receiver can switch to the new one without losing a delivery. Secrets " +
      "are derived from the deployment's SIGNING_SECRET, the webhook ID and its secret version; none is stored.",
    security: [{ apiKey: [] }],
    middleware: [requireRole("admin")] as const,
    request: {
      params: IdParam,
      body: jsonBody(z.object({ grace_hours: z.number().int().min(0).max(168).default(24) }).strict(), {
        required: false,
      }),
    },
    responses: {
      201: jsonContent(
        z.object({
          secret: SecretSchema,
          previous_valid_until: z.number().nullable().openapi({
            description: "Until when (ms since the epoch) the previous secret signs too; null: not at all",
          }),
        }),
        "The new secret",
      ),
      ...errorResponses(400, 401, 403, 404),
    },
  }),
  async (c) => {
    const graceHours = c.req.valid("json")?.grace_hours ?? 24;
    const webhook = await rotateWebhookSecret(c.var.db, c.var.site.id, c.req.valid("param").id, graceHours, Date.now());
    const secret = await webhookSecret(signingSecretOf(c.env), webhook.id, webhook.secretVersion);
    return c.json({ secret, previous_valid_until: webhook.previousSecretUntil }, 201);
  },
);

webhooksRoutes.openapi(
  createRoute({
    operationId: "listWebhookDeliveries",
    method: "get",
    path: "/api/v1/webhooks/{id}/deliveries",
    tags: ["Webhooks"],
    summary: "The webhook's latest deliveries (100), newest first",
    security: [{ apiKey: [] }],
    request: {
      params: IdParam,
      query: z.object({ status: z.enum(["pending", "delivered", "failed"]).optional() }),
    },
    responses: {
      200: jsonContent(z.object({ deliveries: z.array(DeliverySchema) }), "Deliveries"),
      ...errorResponses(401, 404),
    },
  }),
  async (c) => {
    const webhook = await getWebhook(c.var.db, c.var.site.id, c.req.valid("param").id);
    const rows = await listDeliveries(c.var.db, webhook.id, c.req.valid("query").status);
    return c.json({ deliveries: rows.map(deliveryToJson) }, 200);
  },
);

const DeliveryParams = IdParam.extend({
  delivery: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "delivery", in: "path" }, example: 1 }),
});

webhooksRoutes.openapi(
  createRoute({
    operationId: "replayWebhookDelivery",
    method: "post",
    path: "/api/v1/webhooks/{id}/deliveries/{delivery}/replay",
    tags: ["Webhooks"],
    summary: "Send a delivery again (same payload, fresh attempts)",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: { params: DeliveryParams },
    responses: {
      202: jsonContent(DeliverySchema, "Queued"),
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const { id, delivery: deliveryId } = c.req.valid("param");
    const webhook = await getWebhook(c.var.db, c.var.site.id, id);
    await getDelivery(c.var.db, webhook.id, deliveryId);
    const [row] = await c.var.db
      .update(webhookDeliveries)
      .set({ status: "pending", deliveredAt: null })
      .where(eq(webhookDeliveries.id, deliveryId))
      .returning();
    await enqueueDeliveriesOf(c.env, [deliveryId]);
    return c.json(deliveryToJson(row), 202);
  },
);

webhooksRoutes.openapi(
  createRoute({
    operationId: "testWebhook",
    method: "post",
    path: "/api/v1/webhooks/{id}/test",
    tags: ["Webhooks"],
    summary: "Send a signed test delivery now and answer what the receiver said",
    description:
      'POSTs `{type: "webhook.test", webhook_id, segment_id, at}` to the webhook\'s URL at once, signed with the ' +
      "Standard Webhooks headers exactly as real deliveries are (a `webhook-id` starting `msg_test_`), also while the " +
      "webhook is disabled. Nothing is queued, stored or retried. `receiver_status` is the receiver's HTTP status " +
      "(null when it did not answer); `error` the category of a failure, never the receiver's body.",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: { params: IdParam },
    responses: {
      200: jsonContent(
        z
          .object({
            message_id: z.string(),
            delivered: z.boolean().openapi({ description: "The receiver answered 2xx" }),
            receiver_status: z.number().nullable(),
            error: z.string().nullable(),
          })
          .openapi("WebhookTestResult"),
        "What the receiver answered",
      ),
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const webhook = await getWebhook(c.var.db, c.var.site.id, c.req.valid("param").id);
    const answer = await sendTestDelivery(c.env, signingSecretOf(c.env), webhook, Date.now());
    return c.json(
      {
        message_id: answer.message_id,
        delivered: answer.failure === undefined,
        receiver_status: answer.status,
        error: answer.failure ?? null,
      },
      200,
    );
  },
);

// What tagwerk sends, as OpenAPI 3.1 describes outgoing calls (`webhooks`): the payload stored in
// webhook_deliveries (entries.ts) and the Standard Webhooks headers deliver.ts signs it with.
// test/webhooks/openapi-webhook.test.ts reads them back from the served document.
const StandardWebhooksHeaders = z.object({
  "webhook-id": z.string().openapi({
    description: "`msg_` and the delivery's ID: the same on every retry and replay (the receiver's idempotency key)",
    example: "msg_42",
  }),
  "webhook-timestamp": z.string().openapi({
    description: "UNIX seconds of this attempt; Standard Webhooks libraries refuse one more than five minutes off",
    example: "1767225600",
  }),
  "webhook-signature": z.string().openapi({
    description:
      "`v1,BASE64(HMAC-SHA256(key, id + '.' + timestamp + '.' + body))` with the Base64-decoded part of the " +
      "`whsec_` secret as key; during a rotation's grace period a second `v1,…` under the previous secret, " +
      "space-separated",
    example: "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
  }),
});

const MembershipChangeSchema = z
  .object({
    type: z.enum(["segment.entered", "segment.left"]),
    webhook_id: z.number().int(),
    segment_id: z.number().int(),
    visitor: z.string().nullable().openapi({ description: "The tw_id cookie; null for a CRM customer without one" }),
    customer: z.string().nullable(),
    email_sha256: z.string().nullable(),
    at: z.number().int().openapi({ description: "Unix ms of the change" }),
    sequence: z
      .number()
      .int()
      .openapi({
        description:
          "The delivery's ID, increasing in the order the changes happened: keep the highest applied per member " +
          "and ignore a lower one",
      }),
  })
  .openapi("SegmentMembershipChange");

/** Registered by docs/routes.tsx on the assembled app: a sub-app's would be keyed like a path ("/…"). */
export const SEGMENT_MEMBERSHIP_WEBHOOK = {
  method: "post",
  path: "segmentMembership",
  operationId: "segmentMembershipChanged",
  tags: ["Webhooks"],
  summary: "A person entered or left the webhook's segment (sent to the webhook's URL)",
  description:
    "Signed per the Standard Webhooks specification (standardwebhooks.com): verify with any of its libraries " +
    "and the `whsec_` secret shown when the webhook was created or its secret rotated. A non-2xx answer is " +
    `retried with backoff, ${MAX_ATTEMPTS} attempts in all.`,
  security: [],
  request: {
    headers: StandardWebhooksHeaders,
    body: jsonBody(MembershipChangeSchema),
  },
  responses: { 200: { description: "Any 2xx answer acknowledges the delivery" } },
} satisfies RouteConfig;
