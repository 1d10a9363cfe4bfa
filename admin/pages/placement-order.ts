/**
 * "Move up/down" as one call: the new order of the placement's rules goes to
 * `PUT /api/v1/placements/:placement/order`, which writes every priority in one batch
 * (worker/rules/placements.ts) — never two PATCHes that a failure could leave half done.
 */
import type { Api } from "../api";

type MoveResult = { ok: true } | { ok: false; message: string };

/** The order after moving `ruleId` one step; the same order when it is already first or last. */
function movedOrder(ids: number[], ruleId: number, up: boolean): number[] {
  const index = ids.indexOf(ruleId);
  const other = up ? index - 1 : index + 1;
  if (index < 0 || other < 0 || other >= ids.length) return ids;
  const next = [...ids];
  [next[index], next[other]] = [next[other], next[index]];
  return next;
}

export async function moveRule(api: Api, placement: string, ruleIds: number[], ruleId: number, up: boolean) {
  const order = movedOrder(ruleIds, ruleId, up);
  if (order === ruleIds) return { ok: true } satisfies MoveResult;
  const result = await api.call("PUT", `/api/v1/placements/${encodeURIComponent(placement)}/order`, {
    json: { rule_ids: order },
  });
  return (result.ok ? { ok: true } : { ok: false, message: result.error.message }) satisfies MoveResult;
}
