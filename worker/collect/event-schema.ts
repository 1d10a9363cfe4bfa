/**
 * The `POST /e` contract as zod schemas: the batch envelope (validated as a whole: an unusable
 * envelope rejects the batch) and one schema per event type (validated one by one: a bad event
 * is rejected alone and listed in the 202 answer).
 */
import { z } from "@hono/zod-openapi";
import { hasControlCharacters, NO_CONTROL_CHARACTERS } from "../lib/identifiers";
import { isReservedKey, reservedKeyPath } from "../lib/reserved-keys";
import { personalDataRefusal } from "../privacy/personal-data";

export const MAX_BODY_BYTES = 32 * 1024;
const MAX_EVENTS = 50;

const text = (max: number) => z.string().max(max);
const label = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((value) => !/[\u0000-\u001f]/.test(value), "must not contain control characters")
    // Categories become keys of the visitor's interest counts.
    .refine((value) => !isReservedKey(value), "is a reserved name (__proto__, constructor, prototype)");
// z.number() refuses Infinity and NaN (JSON.parse turns 1e999 into Infinity).
const amount = z.number().min(0).max(1e9);

const product = {
  sku: text(100).min(1),
  name: text(200).optional(),
  category: label(100).optional(),
  price: amount.optional(),
};

const base = {
  ts: z.number().int().min(0).max(8.64e15),
  url: text(2048).nullish(),
  ref: text(2048).nullish(),
};

const PageEvent = z.object({ ...base, type: z.literal("page"), props: z.object({}).strict().optional() }).strict();
const ViewEvent = z.object({ ...base, type: z.literal("view"), props: z.object(product).strict() }).strict();
const CartEvent = z
  .object({
    ...base,
    type: z.literal("cart"),
    props: z
      .object({ ...product, action: z.enum(["add", "remove"]), qty: z.number().int().min(1).max(1000).default(1) })
      .strict(),
  })
  .strict();
const PurchaseEvent = z
  .object({
    ...base,
    type: z.literal("purchase"),
    props: z
      .object({
        order: text(100).min(1),
        value: amount,
        currency: z
          .string()
          .regex(/^[A-Za-z]{3}$/, "must be an ISO 4217 code")
          .optional(),
        items: z
          .array(z.object({ ...product, qty: z.number().int().min(1).max(1000).default(1) }).strict())
          .max(MAX_EVENTS)
          .optional(),
        coupon: text(100).min(1).optional(),
      })
      .strict(),
  })
  .strict();
const IdentifyEvent = z
  .object({
    ...base,
    type: z.literal("identify"),
    props: z
      .object({
        customer: text(200)
          .min(1)
          .refine((value) => !hasControlCharacters(value), NO_CONTROL_CHARACTERS),
        // The shop's signature (worker/identity/): without a valid one the identify links nothing.
        sig: z
          .string()
          .regex(/^[0-9a-fA-F]{64}$/, "must be the hex HMAC-SHA256 of the customer ID")
          .optional(),
        // Unix seconds of the timestamped form: `sig` then signs `customer + "." + ts`.
        ts: z
          .union([
            z.number().int().positive().max(1e11),
            z
              .string()
              .regex(/^\d{1,11}$/)
              .transform(Number),
          ])
          .optional(),
      })
      .strict(),
  })
  .strict();
const ConsentEvent = z
  .object({ ...base, type: z.literal("consent"), props: z.object({ granted: z.boolean() }).strict() })
  .strict();
const CustomEvent = z
  .object({
    ...base,
    type: z.literal("event"),
    name: text(100).min(1),
    props: z
      .record(text(100), z.union([text(1000), z.number(), z.boolean(), z.null()]))
      .refine((props) => Object.keys(props).length <= 30, "at most 30 properties")
      .optional(),
  })
  .strict();

export const EventSchema = z
  .discriminatedUnion("type", [
    PageEvent,
    ViewEvent,
    CartEvent,
    PurchaseEvent,
    IdentifyEvent,
    ConsentEvent,
    CustomEvent,
  ])
  .openapi("Event");

export type TagEvent = z.infer<typeof EventSchema>;

/** The envelope: events stay unknown here so that one bad event does not reject its batch. */
export const BatchEnvelopeSchema = z.object({
  site: text(64).min(1),
  events: z.array(z.unknown()).max(MAX_EVENTS, `at most ${MAX_EVENTS} events per batch`),
});

/** The documented request body (OpenAPI); validation goes through the two schemas above. */
export const BatchSchema = z
  .object({ site: z.string().openapi({ example: "demo" }), events: z.array(EventSchema).max(MAX_EVENTS) })
  .openapi("EventBatch");

export type Rejection = { index: number; reason: string };

/**
 * The 202 answer of both event routes, `POST /e` and `POST /api/v1/events`: how many events were
 * accepted and which were rejected, by their index in the batch. Unnamed: each route names its own.
 */
export const EventsResultSchema = z.object({
  accepted: z.number(),
  rejected: z.array(z.object({ index: z.number(), reason: z.string() })),
});

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "event"}: ${issue.message}`)
    .join("; ");
}

/** Splits a batch's events into the valid ones (with their index) and the rejected ones. */
export function validateEvents(events: unknown[]) {
  const accepted: { index: number; event: TagEvent }[] = [];
  const rejected: Rejection[] = [];
  events.forEach((raw, index) => {
    // Checked before zod, whose records drop a `__proto__` key silently.
    const reserved = reservedKeyPath(raw);
    if (reserved) {
      rejected.push({ index, reason: `${reserved}: reserved key name (__proto__, constructor, prototype)` });
      return;
    }
    const result = EventSchema.safeParse(raw);
    if (!result.success) {
      rejected.push({ index, reason: describeIssues(result.error) });
      return;
    }
    const personal = personalDataRefusal(result.data);
    if (personal) rejected.push({ index, reason: personal });
    else accepted.push({ index, event: result.data });
  });
  return { accepted, rejected };
}
