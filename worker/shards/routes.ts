/**
 * The operator's shard moves (docs/architecture.md, "Shards"):
 * `POST /api/v1/sites/{key}/shards` starts a move of a site's people to another shard set (202 and
 * the move's ID), `GET` shows the site's set and its last move, and a failed or interrupted move is
 * resumed or rolled back by its own calls. Operator token only, as site creation and the
 * decision-row rebuild: a move decides where a shop's data lives, which no shop may.
 */
import { z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { shardMoves, sites } from "../db/schema";
import type { Db } from "../env";
import { apiError } from "../errors";
import { executionContextOf } from "../lib/after-response";
import { errorResponses, jsonBody, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { scheduleMove } from "../pipeline/shard-moves";
import { lastMove, type MoveView, moveView, refuseSet, resumeMove, rollBackMove, startMove } from "./moves";
import { shardSizes } from "./routing";

export const shardRoutes = createRouter();

const SiteKeyParam = z.object({
  key: z
    .string()
    .min(1)
    .max(63)
    .openapi({ param: { name: "key", in: "path" } }),
});

const MoveParams = SiteKeyParam.extend({
  moveId: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "moveId", in: "path" } }),
});

const TallySchema = z.object({ rows: z.number(), checksum: z.string() });

const MoveSchema = z
  .object({
    move_id: z.number(),
    from: z
      .array(z.number())
      .nullable()
      .openapi({ description: "The set moved from; null: HOME (a site created before shards)" }),
    to: z.array(z.number()),
    state: z.enum(["running", "failed", "rolling_back", "rolled_back", "done"]),
    phase: z.enum(["copying", "holding", "syncing", "verifying", "switched", "codes", "deleting", "done"]),
    progress: z.record(z.string(), z.number()).openapi({ description: "Rows copied per table" }),
    verified: z
      .record(
        z.string(),
        z.record(z.string(), z.object({ source: TallySchema, destination: TallySchema, ok: z.boolean() })),
      )
      .openapi({
        description: "Per table and destination shard (by index): count and checksum at the source and the destination",
      }),
    error: z.string().nullable(),
    stalled: z.boolean().openapi({ description: "Running, but no step for longer than a step's lease: resume it" }),
    can_resume: z.boolean(),
    can_roll_back: z.boolean(),
    created_at: z.number(),
    updated_at: z.number(),
  })
  .openapi("ShardMove");

const ShardsSchema = z
  .object({
    shards: z
      .array(z.number())
      .nullable()
      .openapi({ description: "The site's set; null: its people are still in HOME" }),
    held: z.boolean().openapi({ description: "A move holds the site's person writes (they are delayed, not dropped)" }),
    bound: z.number().openapi({ description: "PEOPLE shards this deployment binds: indexes 0 to bound - 1" }),
    bytes: z
      .record(z.string(), z.number())
      .openapi({ description: "Bytes each shard of the set holds (all its sites), by shard index" }),
    move: MoveSchema.nullable().openapi({ description: "The move in progress, else the last one" }),
  })
  .openapi("SiteShards");

function moveJson(view: MoveView): z.infer<typeof MoveSchema> {
  return {
    move_id: view.moveId,
    from: view.from,
    to: view.to,
    state: view.state,
    phase: view.phase,
    progress: view.progress,
    verified: view.verified,
    error: view.error,
    stalled: view.stalled,
    can_resume: view.canResume,
    can_roll_back: view.canRollBack,
    created_at: view.createdAt,
    updated_at: view.updatedAt,
  };
}

async function siteByKey(db: Db, key: string) {
  const [site] = await db
    .select({ id: sites.id, shards: sites.shards, shardsHeld: sites.shardsHeld })
    .from(sites)
    .where(eq(sites.key, key));
  if (!site) throw apiError(404, "not_found", "No such site");
  return site;
}

async function moveOf(db: Db, siteId: number, moveId: number) {
  const [move] = await db.select().from(shardMoves).where(eq(shardMoves.id, moveId));
  if (!move || move.siteId !== siteId) throw apiError(404, "not_found", "No such move of this site");
  return move;
}

/** The request's waitUntil, or the work awaited in place where there is no execution context. */
function afterResponse(c: Parameters<typeof executionContextOf>[0]) {
  const ctx = executionContextOf(c);
  const pending: Promise<unknown>[] = [];
  return {
    waitUntil: (work: Promise<unknown>) => (ctx ? ctx.waitUntil(work) : pending.push(work)),
    settle: () => Promise.all(pending),
  };
}

shardRoutes.openapi(
  createRoute({
    operationId: "moveSiteShards",
    method: "post",
    path: "/api/v1/sites/{key}/shards",
    tags: ["Sites"],
    summary: "Move a site's people to another shard set (operator only); runs in the background",
    security: [{ operatorToken: [] }],
    request: {
      params: SiteKeyParam,
      body: jsonBody(
        z
          .object({
            shards: z
              .array(z.number().int().min(0))
              .max(64)
              .openapi({
                description: "Indexes of the PEOPLE shards the site's people go to",
                example: [0, 1, 2, 3],
              }),
          })
          .strict(),
      ),
    },
    responses: {
      202: jsonContent(MoveSchema, "The move, started; follow it with GET"),
      ...errorResponses(400, 401, 403, 404, 409),
    },
  }),
  async (c) => {
    const site = await siteByKey(c.var.db, c.req.valid("param").key);
    const to = c.req.valid("json").shards;
    const refused = refuseSet(c.env, site.shards, to);
    if (refused === "the site is on that set already") throw apiError(409, "conflict", refused);
    if (refused) throw apiError(400, "validation_failed", `shards: ${refused}`);
    const move = await startMove(c.var.db, site, to);
    if (!move) {
      throw apiError(409, "conflict", "Another move of this site is running or failed: resume or roll it back first");
    }
    const after = afterResponse(c);
    await scheduleMove(c.env, c.var.db, move.id, after.waitUntil);
    await after.settle();
    return c.json(moveJson(moveView(move)), 202);
  },
);

shardRoutes.openapi(
  createRoute({
    operationId: "getSiteShards",
    method: "get",
    path: "/api/v1/sites/{key}/shards",
    tags: ["Sites"],
    summary: "A site's shard set and its move in progress, or last move (operator only)",
    security: [{ operatorToken: [] }],
    request: { params: SiteKeyParam },
    responses: {
      200: jsonContent(ShardsSchema, "The set and the move"),
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const site = await siteByKey(c.var.db, c.req.valid("param").key);
    const move = await lastMove(c.var.db, site.id);
    // One `select 1` per bound shard (routing.ts, shardSizes): cheap, and what placing sites uses.
    const sizes = await shardSizes(c.env);
    const bytes = Object.fromEntries((site.shards ?? []).map((k) => [String(k), sizes[k] ?? 0] as const));
    return c.json(
      {
        shards: site.shards,
        held: site.shardsHeld,
        bound: sizes.length,
        bytes,
        move: move ? moveJson(moveView(move)) : null,
      },
      200,
    );
  },
);

for (const action of ["resume", "rollback"] as const) {
  shardRoutes.openapi(
    createRoute({
      operationId: action === "resume" ? "resumeShardMove" : "rollBackShardMove",
      method: "post",
      path: `/api/v1/sites/{key}/shards/{moveId}/${action}`,
      tags: ["Sites"],
      summary:
        action === "resume"
          ? "Resume a failed or stalled move from where it stopped (operator only)"
          : "Roll back a move that has not switched yet: the new set's copies go, the old placement stays (operator only)",
      security: [{ operatorToken: [] }],
      request: { params: MoveParams },
      responses: {
        202: jsonContent(MoveSchema, action === "resume" ? "Resumed" : "Rolling back; follow it with GET"),
        ...errorResponses(401, 403, 404, 409),
      },
    }),
    async (c) => {
      const { key, moveId } = c.req.valid("param");
      const site = await siteByKey(c.var.db, key);
      const move = await moveOf(c.var.db, site.id, moveId);
      const changed = action === "resume" ? await resumeMove(c.var.db, move) : await rollBackMove(c.var.db, move);
      if (!changed) {
        const view = moveView(move);
        throw apiError(
          409,
          "conflict",
          action === "resume"
            ? `The move is ${view.state} in phase ${view.phase}: only a failed or stalled move resumes`
            : view.canRollBack
              ? "A step of the move is running: roll back once it has ended (within a minute)"
              : `The move is ${view.state} in phase ${view.phase}: only a move that has not switched rolls back`,
        );
      }
      const after = afterResponse(c);
      await scheduleMove(c.env, c.var.db, move.id, after.waitUntil);
      await after.settle();
      return c.json(moveJson(moveView(await moveOf(c.var.db, site.id, moveId))), 202);
    },
  );
}
