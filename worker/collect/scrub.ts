/**
 * What a rejected_events row keeps of the refused input: enough for a shop to see what it sends
 * wrong (the shape, the field names, non-personal values), never personal data.
 *
 * - Fields known to hold personal data (e-mail, phone, names, addresses, birth dates, payment and
 *   network identifiers…) keep their name; their value becomes "[removed]".
 * - Identifiers (customer, user and cookie IDs, orders, coupon codes, signatures, tokens) become
 *   "[id]"; the first customer ID is kept only as a hash of (site, ID) in its own column, so that
 *   erasing that customer reaches the row (worker/privacy/erasure.ts).
 * - Any other string that looks like an e-mail address or a phone number becomes "[removed]" too
 *   (worker/privacy/personal-data.ts).
 * - Size is capped: strings at 200 characters, 50 entries per object or array, 6 levels, 2,000
 *   characters in all.
 * - A body that is not JSON keeps only its shape: every letter and digit becomes "x", so a
 *   truncated body or a stray comma still shows, the text does not.
 * Field names are compared without case, `_`, `-` or spaces (`E-Mail`, `first_name`, `userId`);
 * an event's own `name` (the custom event's name) is kept, and so is the `name` of a thing rather
 * than a person — inside `library` (Segment's `context.library.name`: "analytics-node"), `os`,
 * `browser`, `app`, `page`, `campaign`, `product(s)` and `items`; a `name` anywhere else is not.
 */

import { EMAIL_LIKE, looksLikePhone, normaliseKey as normalise } from "../privacy/personal-data";

const PERSONAL = new Set(
  (
    "email mail emailaddress phone phonenumber telephone tel mobile fax name firstname lastname fullname " +
    "surname givenname familyname middlename nickname username address address1 address2 addressline1 " +
    "addressline2 street streetaddress housenumber zip zipcode postcode postalcode city " +
    "birthday birthdate dateofbirth dob age gender iban bic accountnumber creditcard cardnumber cc cvv " +
    "cvc password passwd ip ipaddress ssn taxid vatid passport nationalid company salutation"
  ).split(" "),
);

const IDENTIFIERS = new Set(
  (
    "customer customerid userid user anonymousid cookieid twid puid partneruserid order orderid " +
    "transactionid coupon code sig signature token t emailsha256 uid2email externalid crmid memberid"
  ).split(" "),
);

const CUSTOMER_KEYS = new Set(["customer", "customerid", "userid"]);

/** Objects whose `name` names a thing (a library, a product, a page), never a person. */
const NAMED_THINGS = new Set(["library", "os", "browser", "app", "page", "campaign", "product", "products", "items"]);

const MAX_STRING = 200;
const MAX_ENTRIES = 50;
const MAX_DEPTH = 6;
/** @internal Exported for tests; the Worker itself does not import it. */
export const MAX_PAYLOAD_CHARS = 2000;

export type ScrubbedPayload = { payload: string | null; customerRef: string | null };

function clip(value: string): string {
  return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
}

function scrubValue(value: unknown, depth: number, customers: string[], parent = ""): unknown {
  if (typeof value === "string") return EMAIL_LIKE.test(value) || looksLikePhone(value) ? "[removed]" : clip(value);
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DEPTH) return "[too deep]";
  if (Array.isArray(value)) {
    return value.slice(0, MAX_ENTRIES).map((v) => scrubValue(v, depth + 1, customers, parent));
  }
  const out: Record<string, unknown> = {};
  // An event's own `name` (tw('event', NAME, props)) names the event, not a person; so does a
  // thing's (NAMED_THINGS). An e-mail-shaped value is removed all the same (scrubValue on strings).
  const namesThing = (value as { type?: unknown }).type === "event" || NAMED_THINGS.has(parent);
  for (const [key, v] of Object.entries(value).slice(0, MAX_ENTRIES)) {
    const name = normalise(key);
    const safeKey = clip(key);
    if (name === "name" && namesThing && typeof v === "string") out[safeKey] = scrubValue(v, depth + 1, customers);
    else if (PERSONAL.has(name)) out[safeKey] = "[removed]";
    else if (IDENTIFIERS.has(name)) {
      if (CUSTOMER_KEYS.has(name) && (typeof v === "string" || typeof v === "number")) customers.push(String(v));
      out[safeKey] = "[id]";
    } else out[safeKey] = scrubValue(v, depth + 1, customers, name);
  }
  return out;
}

/** SHA-256 hex of (site, customer ID): how a rejected row names a customer, for erasure only. */
export async function customerRef(siteId: number, customerId: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${siteId}:${customerId}`));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The scrubbed, capped text of a refused input, and the erasure reference of the customer it
 * names (only when the site is known). `raw` text that parses as JSON is scrubbed as JSON.
 */
export async function scrubPayload(value: unknown, siteId: number | null): Promise<ScrubbedPayload> {
  if (value === undefined || value === null) return { payload: null, customerRef: null };
  let parsed = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch {
      const shape = value.slice(0, MAX_PAYLOAD_CHARS).replace(/[\p{L}\p{N}]/gu, "x");
      return { payload: JSON.stringify({ unparsed_body_shape: shape, chars: value.length }), customerRef: null };
    }
  }
  const customers: string[] = [];
  const text = JSON.stringify(scrubValue(parsed, 0, customers)) ?? null;
  const payload = text && text.length > MAX_PAYLOAD_CHARS ? `${text.slice(0, MAX_PAYLOAD_CHARS)}…` : text;
  const ref = siteId !== null && customers.length > 0 ? await customerRef(siteId, customers[0]) : null;
  return { payload, customerRef: ref };
}
