/**
 * The `segment` kind's condition: the segment expression compiled to SQL by the segments module
 * (issue 4), over the same `v`/`c` aliases as the built-in kinds.
 */
import type { SQL } from "drizzle-orm";
import { apiError } from "../errors";

export function segmentCondition(_expression: string, _now: number): SQL {
  throw apiError(501, "not_implemented", "Audiences of kind segment need the segments module");
}
