/** Schemas and content blocks shared by many routes of the API document. */
import { z } from "@hono/zod-openapi";
import { COOKIE_ID_PATTERN } from "./visitor-cookie";

const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "validation_failed" }),
      message: z.string().openapi({ example: "name: Too small: expected string to have >=1 characters" }),
    }),
  })
  .openapi("Error");

/**
 * A JSON response: `200: jsonContent(Schema, "The rule")` instead of spelling the media type out
 * for every route (stoker's helper of the same name, without the dependency).
 */
export function jsonContent<const S extends z.ZodType>(schema: S, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/**
 * A JSON request body, validated by the route: `request: { body: jsonBody(Schema) }`. Required
 * unless `{ required: false }`: a body that may be left out, so that its fields' defaults apply.
 */
export function jsonBody<const S extends z.ZodType>(schema: S, { required = true } = {}) {
  return { required, content: { "application/json": { schema } } };
}

export function errorResponses(...statuses: number[]) {
  const descriptions: Record<number, string> = {
    400: "Invalid input; the message names the field",
    401: "Missing or wrong credentials",
    403: "Not allowed for this caller",
    404: "Not found in this site",
    409: "Conflict",
    410: "Gone",
    413: "Payload too large",
    422: "The request contradicts an earlier one (e.g. an Idempotency-Key reused with another body)",
    429: "Rate limited; see Retry-After",
    503: "Storage unavailable; nothing was stored, see Retry-After",
  };
  return Object.fromEntries(
    statuses.map((status) => [status, jsonContent(ErrorSchema, descriptions[status] ?? "Error")]),
  );
}

export const IdParam = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "id", in: "path" }, example: 1 }),
});

/** `/api/v1/customers/{id}`: a CRM customer ID as the shop's CRM writes it. */
export const CustomerIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: "id", in: "path" } }),
});

/** `/api/v1/visitors/{cid}`: a tw_id cookie ID. */
export const CookieIdParam = z.object({
  cid: z
    .string()
    .regex(COOKIE_ID_PATTERN, "a tw_id: 32 hex characters")
    .openapi({ param: { name: "cid", in: "path" } }),
});
