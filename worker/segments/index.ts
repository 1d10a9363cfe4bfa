/**
 * TEMPORARY stand-in until branch issue-4 (the segment language) is merged: same signature as the
 * shared interface; every expression is refused so nothing silently matches.
 */
import type { Profile } from "./profile";

export type SegmentPredicate = (profile: Profile, now: number) => boolean;

export function compileSegment(expression: string): SegmentPredicate {
  throw new Error(`segments module not merged yet: cannot compile ${JSON.stringify(expression)}`);
}
