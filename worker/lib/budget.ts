/**
 * Time budgets for D1 calls on the public hot paths: D1 can stall (a slow primary, a lagging
 * replica, a network fault), and a banner slot or a beacon cannot wait. Racing the call with a
 * timer lets the caller fall back; the abandoned promise settles later and is ignored.
 *
 * The budget is `DECISION_BUDGET_MS` (wrangler.toml): the decision's read and /e's site lookup get
 * it, a first coupon claim CLAIM_BUDGET_FACTOR times it (a write, and writes queue behind each
 * other when many first visitors claim at once).
 */
export const DEFAULT_BUDGET_MS = 500;
export const CLAIM_BUDGET_FACTOR = 4;

export function budgetOf(env: Env): number {
  const ms = Number(env.DECISION_BUDGET_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : DEFAULT_BUDGET_MS;
}

export class OverBudget extends Error {
  constructor(what: string, ms: number) {
    super(`${what} took longer than ${ms} ms`);
  }
}

export function withinBudget<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new OverBudget(what, ms)), ms);
  });
  // Keeps a late rejection of the abandoned work from surfacing as unhandled.
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
