/**
 * CRM import endpoints (`POST /api/v1/import/customers`, `POST /api/v1/import/links`). The body is
 * read as a stream (never `c.req.text()`): the route schemas document the CSV and NDJSON bodies,
 * and @hono/zod-openapi validates only JSON and form bodies, so declaring them reads nothing.
 */

import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireRole } from "../auth/roles";
import type { AppEnv } from "../env";
import { apiError } from "../errors";
import { errorResponses } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { refuseWhileHeld } from "../shards/moves";
import { importCustomers } from "./customers";
import { importLinks } from "./links";
import type { ImportFormat } from "./read-rows";
import { ndjsonReport, runImportFor } from "./report";
import type { ImportOptions } from "./run-import";

export const ImportResultSchema = z
  .object({
    accepted: z.number().openapi({ description: "Rows written", example: 1999 }),
    rejected: z
      .array(
        z.object({
          line: z.number(),
          reason: z.string().openapi({ description: 'Every problem of the line, joined with "; "' }),
          problems: z.array(z.string()).openapi({ description: "Every problem of the line, one by one" }),
        }),
      )
      .openapi({ description: "Refused rows with all their problems (the first 1,000); line 1 is the header" }),
    rejected_count: z.number().openapi({ description: "All refused rows, also beyond the listed ones" }),
    ignored_columns: z.array(z.string()).openapi({
      description: "Columns that are neither the contract's nor a known CRM export name: not read",
      example: ["First Name", "Phone"],
    }),
    mapped_columns: z.record(z.string(), z.string()).openapi({
      description: "CRM export names taken as the contract's columns",
      example: { "Customer ID": "customer_id", "Total Spent": "lifetime_revenue" },
    }),
  })
  .openapi("ImportResult");

export function importBody(example: string) {
  return {
    required: true,
    content: {
      "text/csv": { schema: z.string().openapi({ example }) },
      "application/x-ndjson": { schema: z.string() },
    },
  };
}

export function formatOf(contentType: string | undefined): ImportFormat {
  const essence = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (essence === "text/csv") return "csv";
  if (essence === "application/x-ndjson" || essence === "application/ndjson") return "ndjson";
  throw apiError(415, "unsupported_media_type", "Send text/csv (with a header row) or application/x-ndjson");
}

const NDJSON_REPORT =
  "With `Accept: application/x-ndjson` the answer is the full report as a stream instead: one " +
  '`{"line", "reason"}` object per refused row (every one, not only the first 1,000), then one ' +
  "summary object as in the JSON answer without `rejected`; an import cut short ends with an " +
  '`{"error": {"code", "message"}}` line instead of the summary.';

export function streamOf(request: Request): ReadableStream<Uint8Array> {
  if (!request.body) throw apiError(400, "empty_body", "The request has no body");
  return request.body;
}

type Importer = typeof importCustomers | typeof importLinks;

/** The import of the request's body, as the JSON answer and the NDJSON report both run it. */
function runOf(importer: Importer) {
  return (c: Context<AppEnv>) => {
    const format = formatOf(c.req.header("Content-Type"));
    const body = streamOf(c.req.raw);
    return (options: ImportOptions) => importer(c.env, c.var.site, body, format, Date.now(), options);
  };
}

/** What both import routes share: who may call them, the NDJSON report, the answers. */
function importRoute<const P extends string>(
  importer: Importer,
  config: { operationId: string; path: P; summary: string; description: string; example: string },
) {
  return createRoute({
    operationId: config.operationId,
    method: "post",
    path: config.path,
    tags: ["Import"],
    summary: config.summary,
    description: `${config.description} ${NDJSON_REPORT}`,
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer"), ndjsonReport(runOf(importer))] as const,
    request: { body: importBody(config.example) },
    responses: {
      200: {
        description: "Import result (JSON), or with Accept: application/x-ndjson the full report",
        content: {
          "application/json": { schema: ImportResultSchema },
          "application/x-ndjson": { schema: z.string() },
        },
      },
      ...errorResponses(400, 401, 403, 415, 503),
    },
  });
}

export const importRoutes = createRouter();

for (const [importer, config] of [
  [
    importCustomers,
    {
      operationId: "importCustomers",
      path: "/api/v1/import/customers",
      summary: "Upsert CRM customers from CSV or NDJSON",
      description:
        "Columns: customer_id (required), email (hashed on arrival) or email_sha256, gender, lifetime_revenue, " +
        "orders, first_order_at, last_order_at (ISO 8601), coupons_redeemed, clusters (;-separated), attr.NAME. " +
        "Names of Shopify, Mailchimp and Klaviyo customer exports are taken as these columns (e.g. Customer ID, " +
        "External ID, Email Address, Total Spent, Total Orders, Tags); any other column is ignored and listed in " +
        "ignored_columns. Good rows are written, bad rows are listed.",
      example: "customer_id,email,gender,lifetime_revenue,clusters\nC-1,a@example.com,f,120.5,rings;gifts",
    },
  ],
  [
    importLinks,
    {
      operationId: "importLinks",
      path: "/api/v1/import/links",
      summary: "Link cookie IDs to CRM customers from CSV or NDJSON",
      description:
        "Columns: cookie_id (the 32-hex tw_id), customer_id (a customer imported before: a link to an unknown " +
        "customer is refused and listed). Creates the visitor when it is new; the cookie's coupon codes merge " +
        "into the customer's.",
      example: "cookie_id,customer_id\n0123456789abcdef0123456789abcdef,C-1",
    },
  ],
] as const) {
  importRoutes.openapi(importRoute(importer, config), async (c) => {
    // A move holds the site's person writes for a few seconds (README.md, "Shards").
    refuseWhileHeld(c.var.site);
    return c.json(await runImportFor(c, runOf(importer)(c)), 200);
  });
}
