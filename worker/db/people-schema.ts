/**
 * A PEOPLE shard's tables (docs/architecture.md, "Shards"): what drizzle.people.config.ts generates
 * migrations/people/ from. The same definitions as HOME's (worker/db/people-tables.ts), without the
 * foreign keys to HOME's sites, audiences and webhooks, which a shard does not hold.
 */
import { integer } from "drizzle-orm/sqlite-core";
import { peopleTables } from "./people-tables";

/** A shard's columns: the IDs of HOME's rows, which no shard can check. */
const homeId = () => integer().notNull();

export const {
  archiveSweeps,
  products,
  productAffinities,
  personCodes,
  personCaps,
  customers,
  visitors,
  idLinks,
  events,
  exposures,
  appliedMessages,
  decisionRows,
  ruleConversions,
  erasures,
  audienceMembers,
  audienceCustomerMembers,
  audienceSpaceMembers,
  audienceChanges,
  webhookMembers,
  webhookMemberships,
} = peopleTables({ siteId: homeId, audienceId: homeId, webhookId: homeId });
