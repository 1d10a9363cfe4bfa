/**
 * Segment spec messages → tagwerk's trusted server events (README.md, "Integrate
 * with your stack"). Only the shape changes here; validation, trust and storage are
 * `ingestServerEvents`'s (worker/server-events/ingest.ts), exactly as for `POST /api/v1/events`.
 *
 * - `anonymousId` is the visitor's `tw_id` when it looks like one (32 lower-case hex characters);
 *   any other anonymousId (Segment's own UUIDs) names no cookie tagwerk knows and is ignored.
 * - `userId` is the CRM customer ID.
 * - track "Product Viewed" → view; "Product Added" / "Product Removed" → cart add / remove;
 *   "Order Completed" → purchase (`order_id`, `revenue` else `total`, `currency`, `coupon`,
 *   `products[]`); any other track → `event` with its name and its scalar properties (nested
 *   objects and arrays have no place in a custom event's flat props and are left out);
 *   identify → identify (trusted: no signature; traits are personal data tagwerk does not keep);
 *   page → page (`properties.url` / `referrer`, else `context.page`).
 * - `timestamp` (else `originalTimestamp`, else the time of receipt) becomes `ts`.
 * A value of the wrong kind is passed on as it is, so that validation refuses it with its reason
 * rather than storing it as empty.
 */
import { COOKIE_ID_PATTERN } from "../lib/visitor-cookie";

export type Mapped = { event: Record<string, unknown> } | { reason: string };

type Obj = Record<string, unknown>;

const isObj = (value: unknown): value is Obj => typeof value === "object" && value !== null && !Array.isArray(value);

/** IDs arrive as strings or numbers (Segment allows both for product and order IDs). */
function id(value: unknown): unknown {
  return typeof value === "number" && Number.isFinite(value) ? String(value) : value;
}

/** Prices and quantities sometimes arrive as numeric strings ("19.90"); anything else passes as is. */
function amount(value: unknown): unknown {
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return value;
}

/** Keeps the defined entries only: an absent Segment property is an absent tagwerk prop. */
function defined(entries: Obj): Obj {
  return Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined && value !== null));
}

function product(p: Obj): Obj {
  return defined({
    sku: id(p.sku ?? p.product_id ?? p.id),
    name: p.name,
    category: p.category,
    price: amount(p.price),
  });
}

function timestampOf(message: Obj, now: number): number | { reason: string } {
  const value = message.timestamp ?? message.originalTimestamp;
  if (value === undefined || value === null) return now;
  const ts = typeof value === "number" ? value : typeof value === "string" ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ts) || ts < 0) return { reason: "timestamp: not an ISO 8601 date" };
  return ts;
}

const ECOMMERCE: Record<string, (props: Obj) => Obj> = {
  "product viewed": (p) => ({ type: "view", props: product(p) }),
  "product added": (p) => ({ type: "cart", props: { ...product(p), action: "add", qty: amount(p.quantity ?? 1) } }),
  "product removed": (p) => ({
    type: "cart",
    props: { ...product(p), action: "remove", qty: amount(p.quantity ?? 1) },
  }),
  "order completed": (p) => ({
    type: "purchase",
    props: defined({
      order: id(p.order_id),
      value: amount(p.revenue ?? p.total),
      currency: p.currency,
      coupon: p.coupon,
      items: Array.isArray(p.products)
        ? p.products.map((item) => (isObj(item) ? { ...product(item), qty: amount(item.quantity ?? 1) } : item))
        : p.products,
    }),
  }),
};

function scalarProps(props: Obj): Obj {
  return Object.fromEntries(
    Object.entries(props).filter(
      ([, value]) => value === null || ["string", "number", "boolean"].includes(typeof value),
    ),
  );
}

/** One Segment message (of `type`, or `implied` when the endpoint names it: `/v1/track`…). */
export function mapSegmentMessage(message: unknown, now: number, implied?: string): Mapped {
  if (!isObj(message)) return { reason: "message: not an object" };
  const type = message.type ?? implied;
  const ts = timestampOf(message, now);
  if (typeof ts !== "number") return ts;
  const anonymousId = message.anonymousId;
  const cookieId = typeof anonymousId === "string" && COOKIE_ID_PATTERN.test(anonymousId) ? anonymousId : undefined;
  const userId = id(message.userId);
  if (userId !== undefined && userId !== null && typeof userId !== "string") {
    return { reason: "userId: not a string (the CRM customer ID)" };
  }
  const customer = typeof userId === "string" && userId.trim() !== "" ? userId : undefined;
  if (cookieId === undefined && customer === undefined) {
    return { reason: "no subject: anonymousId is not a tw_id and there is no userId" };
  }
  const properties = isObj(message.properties) ? message.properties : {};
  const subject = defined({ cookie_id: cookieId, customer, ts });

  switch (type) {
    case "identify":
      if (customer === undefined) return { reason: "identify: needs userId (the CRM customer ID)" };
      if (cookieId === undefined) return { reason: "identify: needs anonymousId set to the visitor's tw_id" };
      return { event: { ...subject, type: "identify", props: { customer } } };
    case "page": {
      const page = isObj(message.context) && isObj(message.context.page) ? message.context.page : {};
      return {
        event: defined({
          ...subject,
          type: "page",
          url: properties.url ?? page.url,
          ref: properties.referrer ?? page.referrer,
        }),
      };
    }
    case "track": {
      if (typeof message.event !== "string" || message.event.trim() === "") return { reason: "track: needs event" };
      const ecommerce = ECOMMERCE[message.event.trim().toLowerCase()];
      if (ecommerce) return { event: { ...subject, ...ecommerce(properties) } };
      return { event: { ...subject, type: "event", name: message.event.trim(), props: scalarProps(properties) } };
    }
    default:
      return {
        reason: `type: ${typeof type === "string" ? type.slice(0, 40) : "missing"} is not supported (track, identify, page)`,
      };
  }
}
