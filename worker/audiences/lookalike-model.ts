/**
 * The site's last look-alike training as the API and the admin show it: when, on how many people,
 * its quality on held-out people (AUC, top-decile lift) or why it was refused
 * (docs/architecture.md, "Audiences, look-alikes and webhooks").
 */
import { z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { lookalikeModels } from "../db/schema";
import type { Db } from "../env";

export const LookalikeModelSchema = z
  .object({
    status: z.enum(["trained", "refused"]),
    reason: z.string().nullable().openapi({ description: "Why training was refused, or why quality is unknown" }),
    positives: z.number().openapi({ description: "Visitors who arrived through display or a banner and bought" }),
    negatives: z.number(),
    held_out: z.number().openapi({ description: "People kept out of training to measure the model on" }),
    auc: z
      .number()
      .nullable()
      .openapi({ description: "Area under the ROC curve on the held-out people (0.5 = random)" }),
    top_decile_lift: z
      .number()
      .nullable()
      .openapi({ description: "Conversion rate of the held-out top 10 % by score over the held-out average" }),
    trained_at: z.number(),
  })
  .openapi("LookalikeModel");

export type LookalikeModelJson = z.infer<typeof LookalikeModelSchema>;

type Training = {
  siteId: number;
  status: "trained" | "refused";
  reason: string | null;
  positives: number;
  negatives: number;
  heldOut: number;
  auc?: number | null;
  topDecileLift?: number | null;
  now: number;
};

const round = (value: number | null | undefined) => (value == null ? null : Math.round(value * 1000) / 1000);

export async function saveLookalikeModel(db: Db, training: Training): Promise<void> {
  const row = {
    siteId: training.siteId,
    status: training.status,
    reason: training.reason,
    positives: training.positives,
    negatives: training.negatives,
    heldOut: training.heldOut,
    auc: round(training.auc),
    topDecileLift: round(training.topDecileLift),
    trainedAt: training.now,
  };
  await db.insert(lookalikeModels).values(row).onConflictDoUpdate({ target: lookalikeModels.siteId, set: row });
}

/** The last training of the site; null before the first. */
export async function readLookalikeModel(db: Db, siteId: number): Promise<LookalikeModelJson | null> {
  const [row] = await db.select().from(lookalikeModels).where(eq(lookalikeModels.siteId, siteId));
  if (!row) return null;
  return {
    status: row.status,
    reason: row.reason,
    positives: row.positives,
    negatives: row.negatives,
    held_out: row.heldOut,
    auc: row.auc,
    top_decile_lift: row.topDecileLift,
    trained_at: row.trainedAt,
  };
}
