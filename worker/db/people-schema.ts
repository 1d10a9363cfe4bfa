/**
 * A PEOPLE shard's tables (docs/architecture.md, "Shards"): what drizzle.people.config.ts generates
 * migrations/people/ from. The same definitions as HOME's (worker/db/people-tables.ts), without the
 * foreign keys to HOME's sites, audiences and webhooks, which a shard does not hold.
 */
import { peopleTables, SHARD_REFS } from "./people-tables";

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
} = peopleTables(SHARD_REFS);
