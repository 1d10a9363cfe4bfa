/**
 * The segment language (docs/architecture.md, "Segments: one language, two back ends"; README.md, "Segments"): one expression, two back ends that agree
 * on every profile — a compiled JS predicate for the edge decision and a parameterised SQL
 * condition for audiences, webhooks and the preview count. Semantics: worker/segments/evaluate.ts.
 */
import { compileAst, type SegmentPredicate } from "./evaluate";
import { parseSegment } from "./parser";

export type { SegmentPredicate } from "./evaluate";

export { SegmentError } from "./parser";
export { buildProfile, type Profile } from "./profile";
export { segmentWhere } from "./query";

/**
 * Parses and compiles an expression once into `(profile, now) => boolean`; keep the result and
 * reuse it for every request. Throws SegmentError for an invalid expression. Request-context
 * fields (`placement`, `country`, `device`) read `profile.context`.
 */
export function compileSegment(expression: string): SegmentPredicate {
  return compileAst(parseSegment(expression));
}
