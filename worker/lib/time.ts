/**
 * Day arithmetic shared by every capability. The per-day keys of the visitor profile
 * (interest_days, visit_days) are written by collect and read by the segment evaluator and its SQL:
 * one definition keeps them in agreement.
 */
export const MS_PER_DAY = 86_400_000;

/** The UTC day of an instant as `YYYY-MM-DD`. */
export function utcDayKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
