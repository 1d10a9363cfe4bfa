/**
 * Personal data has no place in event props (README, "Personal data"; SECURITY.md): tagwerk
 * profiles behaviour under a random cookie ID and links a person only through the shop's own
 * customer ID. An event whose props carry a direct identifier is refused, with its reason and
 * scrubbed (worker/collect/scrub.ts), on every path — `/e`, `POST /api/v1/events`, Segment `/v1/*`.
 * Refused rather than hashed: a hash of an e-mail address or phone number is still personal data
 * (it links the person across every system that hashes the same way), and a shop that sends one by
 * mistake should see its mistake in rejected events, not have it stored in another form.
 *
 * What counts: a prop whose name is a direct identifier (e-mail, phone, first/last name, postal
 * address, birth date, payment and government numbers, IP address), compared without case, `_`,
 * `-` or spaces, at any depth; any string value shaped like an e-mail address; and in a custom
 * event's free-form props, a string shaped like a phone number: 7 to 15 digits after a leading +,
 * or starting with 0 and grouped by spaces, dashes or brackets (a bare digit string is an order
 * number as often as a phone number, and is let through).
 */
import type { TagEvent } from "../collect/event-schema";

export const normaliseKey = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, "");

const PERSONAL_PROP_KEYS = new Set(
  (
    "email mail emailaddress phone phonenumber telephone tel mobile mobilephone mobilenumber cell cellphone fax " +
    "firstname lastname fullname surname givenname familyname address address1 address2 addressline1 " +
    "addressline2 street streetaddress postaladdress birthday birthdate dateofbirth dob iban creditcard " +
    "cardnumber ssn passport nationalid taxid ip ipaddress"
  ).split(" "),
);

export const EMAIL_LIKE = /[^\s@]+@[^\s@]+\.[^\s@]+/;
/** "+49 171 2345678", "+491712345678", "0171 2345678", "(030) 123-4567"; not "0012345678" or "01.02.2024". */
const PHONE_SHAPE = /^\s*(?:\+[\d\s()-]+|\(?0[\d()-]*[\s()-][\d\s()-]*)$/;

export function looksLikePhone(value: string): boolean {
  if (!PHONE_SHAPE.test(value)) return false;
  const digits = value.replace(/\D/g, "").length;
  return digits >= 7 && digits <= 15;
}

function findIn(value: unknown, path: string, freeForm: boolean): string | null {
  if (typeof value === "string") {
    return EMAIL_LIKE.test(value) || (freeForm && looksLikePhone(value)) ? path : null;
  }
  if (value === null || typeof value !== "object") return null;
  for (const [key, inner] of Object.entries(value)) {
    const at = `${path}.${key}`;
    if (PERSONAL_PROP_KEYS.has(normaliseKey(key))) return at;
    const found = findIn(inner, at, freeForm);
    if (found) return found;
  }
  return null;
}

/** Why the event is refused for personal data in its props, or null. */
export function personalDataRefusal(event: TagEvent): string | null {
  if (!("props" in event) || event.props === undefined) return null;
  const at = findIn(event.props, "props", event.type === "event");
  return at ? `${at}: personal data (e-mail, phone, name, address…) is not accepted in event props` : null;
}
