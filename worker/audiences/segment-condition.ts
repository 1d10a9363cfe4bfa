/**
 * The `segment` kind's condition: the segment expression compiled to SQL by the segments module,
 * over the same `v`/`c` aliases as the built-in kinds. An expression that only the edge can
 * evaluate (placement, country, device) cannot select an audience: 400 naming the position.
 */
import type { SQL } from "drizzle-orm";
import { apiError } from "../errors";
import { SegmentError, segmentWhere } from "../segments";

export function segmentCondition(expression: string, now: number): SQL {
  try {
    return segmentWhere(expression, now);
  } catch (error) {
    if (error instanceof SegmentError) {
      throw apiError(400, "invalid_segment", `Segment cannot select an audience: ${error.message}`);
    }
    throw error;
  }
}
