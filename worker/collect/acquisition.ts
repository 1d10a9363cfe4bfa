/**
 * How a visitor first arrived (README.md, "Segments", `acquisition`): "banner" when it came
 * through a tagwerk click (`/c`), "display" when its first landing URL carries a display
 * `utm_medium`, else "other". It is written once — by the visitor's first page event (collect) or
 * by a click (worker/pipeline/impressions.ts) — and never overwritten: the look-alike model
 * (worker/audiences/lookalike-scores.ts) learns from customers won through display, so it must
 * say how they were won, not how they came back last.
 */
export type Acquisition = "banner" | "display" | "other";

/** `utm_medium` values that mean paid display (lower-cased; the UTM convention is free text). */
const DISPLAY_MEDIUMS = new Set(["display", "banner", "cpm", "programmatic"]);

/** The acquisition a landing URL states; a missing or unparsable URL is "other". */
export function acquisitionOfLanding(url: string | null | undefined): Acquisition {
  if (!url) return "other";
  let medium: string | null;
  try {
    medium = new URL(url).searchParams.get("utm_medium");
  } catch {
    return "other";
  }
  return medium !== null && DISPLAY_MEDIUMS.has(medium.trim().toLowerCase()) ? "display" : "other";
}
