/**
 * Segment evaluation in Node: 1,000 compiled segments (the generator's expression shapes) against
 * many profiles; the figure is profile × segment evaluations per second.
 */
import { compileSegment } from "../worker/segments";
import { segmentExpressions } from "./generate";
import { makeProfiles } from "./profiles";

export type SegmentFigures = {
  segments: number;
  profiles: number;
  evaluationsPerSecond: number;
  /** Microseconds to test one profile against all segments. */
  microsPerProfile: number;
  compileMicrosPerSegment: number;
  matches: number;
};

export function measureSegments(opts: { segments: number; profiles: number; now: number }): SegmentFigures {
  const expressions = segmentExpressions(opts.segments, 4242);
  const compileStarted = performance.now();
  const predicates = expressions.map((e) => compileSegment(e));
  const compileMs = performance.now() - compileStarted;
  const profiles = makeProfiles(opts.profiles, opts.now);
  // Warm-up pass so the JIT has seen every closure before the timed passes.
  let matches = 0;
  for (const p of profiles.slice(0, 100)) for (const f of predicates) if (f(p, opts.now)) matches++;
  matches = 0;
  const started = performance.now();
  for (const p of profiles) for (const f of predicates) if (f(p, opts.now)) matches++;
  const ms = performance.now() - started;
  const evaluations = profiles.length * predicates.length;
  return {
    segments: predicates.length,
    profiles: profiles.length,
    evaluationsPerSecond: evaluations / (ms / 1000),
    microsPerProfile: (ms * 1000) / profiles.length,
    compileMicrosPerSegment: (compileMs * 1000) / predicates.length,
    matches,
  };
}
