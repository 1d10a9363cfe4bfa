/**
 * What the operator may name as a site's shard set (docs/architecture.md, "Shards"): a site's new
 * set at creation (`POST /api/v1/sites`) and a move's target (shards/moves.ts) are checked here.
 */
import { z } from "@hono/zod-openapi";
import { apiError } from "../errors";
import { type ShardEnv, shardBindings } from "./routing";

/** Shards by index: distinct, at least one; whether this deployment binds them is boundShardSet()'s. */
export const ShardSetSchema = z
  .array(z.number().int().min(0).max(1023))
  .min(1)
  .max(64)
  .refine((set) => new Set(set).size === set.length, "each shard once");

/** The set, if every shard of it is bound in this deployment; else 422 naming the ones that are not. */
export function boundShardSet(env: ShardEnv, set: readonly number[]): number[] {
  const bound = shardBindings(env).length;
  const unknown = set.filter((k) => k >= bound);
  if (unknown.length > 0) {
    throw apiError(
      422,
      "unknown_shard",
      `No shard ${unknown.join(", ")} in this deployment: it binds ${bound} PEOPLE shards, 0 to ${bound - 1} (wrangler.toml)`,
    );
  }
  return [...set];
}
