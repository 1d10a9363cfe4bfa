/**
 * Day arithmetic shared by every capability. The per-day keys of the visitor profile
 * (interest_days, visit_days) are written by collect and read by the segment evaluator and its SQL:
 * one definition keeps them in agreement.
 */
export const MS_PER_DAY = 86_400_000;
/** The same day in seconds, for cookie lifetimes, CORS max-age and other second-valued settings. */
export const SECONDS_PER_DAY = 86_400;

/** The UTC day of an instant as `YYYY-MM-DD`. */
export function utcDayKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * How many UTC days of per-day history a visitor profile keeps (interest_days, visit_days,
 * event_days, purchase_days): collect drops older days, and the segment parser refuses a window
 * longer than this instead of silently answering a shorter one.
 */
export const DAY_HISTORY = 90;

/** The UTC day number (days since the epoch) of an instant: whole-day differences are "days since". */
export function utcDayNumber(ms: number): number {
  return Math.floor(ms / MS_PER_DAY);
}
