/**
 * The profile a segment expression is evaluated against (docs/architecture.md, "Segments: one language, two back ends"): a visitor
 * with its linked CRM customer, or a CRM customer that no visitor is linked to yet. A field that is
 * missing is `null`; a comparison with a missing value is false on the edge and in SQL alike.
 */
import type { customers, visitors } from "../db/schema";

export type VisitorRow = typeof visitors.$inferSelect;
export type CustomerRow = typeof customers.$inferSelect;

export type ProfileContext = { placement?: string; country?: string; device?: string };

export type Profile = {
  /** tw_id of the visitor; null for a CRM customer without a visitor. */
  cookieId: string | null;
  /** CRM customer ID when linked (or the customer itself); null otherwise. */
  customerId: string | null;
  visitor: VisitorRow | null;
  customer: CustomerRow | null;
  /** Request context: only on the edge (`placement`, `country`, `device`). */
  context: ProfileContext;
};

export function buildProfile(
  visitor: VisitorRow | null,
  customer: CustomerRow | null,
  context: ProfileContext = {},
): Profile {
  return {
    cookieId: visitor?.cookieId ?? null,
    customerId: customer?.customerId ?? visitor?.customerId ?? null,
    visitor,
    customer,
    context,
  };
}
