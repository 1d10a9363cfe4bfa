/**
 * CRM import endpoints (`POST /api/v1/import/customers`, `POST /api/v1/import/links`). The body is
 * read as a stream (never `c.req.text()`): the route schemas document the CSV and NDJSON bodies,
 * and @hono/zod-openapi validates only JSON and form bodies, so declaring them reads nothing.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireApiKey } from "../auth/api-keys";
import { requireRole } from "../auth/roles";
import { apiError } from "../errors";
import { errorResponses } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { importCustomers } from "./customers";
import { importLinks } from "./links";
import type { ImportFormat } from "./read-rows";

const ImportResultSchema = z
  .object({
    accepted: z.number().openapi({ description: "Rows written", example: 1999 }),
    rejected: z
      .array(z.object({ line: z.number(), reason: z.string() }))
      .openapi({ description: "Refused rows with the reason (the first 1,000); line 1 is the header" }),
    rejected_count: z.number().openapi({ description: "All refused rows, also beyond the listed ones" }),
  })
  .openapi("ImportResult");

function body(example: string) {
  return {
    required: true,
    content: {
      "text/csv": { schema: z.string().openapi({ example }) },
      "application/x-ndjson": { schema: z.string() },
    },
  };
}

function formatOf(contentType: string | undefined): ImportFormat {
  const essence = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (essence === "text/csv") return "csv";
  if (essence === "application/x-ndjson" || essence === "application/ndjson") return "ndjson";
  throw apiError(415, "unsupported_media_type", "Send text/csv (with a header row) or application/x-ndjson");
}

function streamOf(request: Request): ReadableStream<Uint8Array> {
  if (!request.body) throw apiError(400, "empty_body", "The request has no body");
  return request.body;
}

export const importRoutes = createRouter();

importRoutes.use("/api/v1/import/*", requireApiKey);

importRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/import/customers",
    tags: ["Import"],
    summary: "Upsert CRM customers from CSV or NDJSON",
    description:
      "Columns: customer_id (required), email (hashed on arrival) or email_sha256, gender, lifetime_revenue, " +
      "orders, first_order_at, last_order_at (ISO 8601), coupons_redeemed, clusters (;-separated), attr.NAME. " +
      "An unknown CSV column refuses the whole file (line 1). Good rows are written, bad rows are listed.",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: {
      body: body("customer_id,email,gender,lifetime_revenue,clusters\nC-1,a@example.com,f,120.5,rings;gifts"),
    },
    responses: {
      200: { description: "Import result", content: { "application/json": { schema: ImportResultSchema } } },
      ...errorResponses(400, 401, 403, 415, 503),
    },
  }),
  async (c) => {
    const format = formatOf(c.req.header("Content-Type"));
    const result = await importCustomers(c.var.db, c.var.site.id, streamOf(c.req.raw), format, Date.now());
    return c.json(result, 200);
  },
);

importRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/import/links",
    tags: ["Import"],
    summary: "Link cookie IDs to CRM customers from CSV or NDJSON",
    description: "Columns: cookie_id (the 32-hex tw_id), customer_id. Creates the visitor when it is new.",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: { body: body("cookie_id,customer_id\n0123456789abcdef0123456789abcdef,C-1") },
    responses: {
      200: { description: "Import result", content: { "application/json": { schema: ImportResultSchema } } },
      ...errorResponses(400, 401, 403, 415, 503),
    },
  }),
  async (c) => {
    const format = formatOf(c.req.header("Content-Type"));
    const result = await importLinks(c.var.db, c.var.site.id, streamOf(c.req.raw), format, Date.now());
    return c.json(result, 200);
  },
);
