import { describe, expect, it } from "vitest";
import { completionsOf, errorPosition, markedParts, SEGMENT_FIELDS } from "../../admin/client/segment-editing";
import { PLAIN_FIELD_NAMES } from "../../worker/segments/fields";
import { parseSegment } from "../../worker/segments/parser";

describe("the segment editor's completions and marks", () => {
  it("offers every field the parser knows, acquisition too, from its first letters", () => {
    for (const field of PLAIN_FIELD_NAMES) {
      const offered = completionsOf(field.slice(0, 3), SEGMENT_FIELDS.length);
      expect(
        offered.some((f) => f === field || f.startsWith(`${field}(`)),
        field,
      ).toBe(true);
    }
    expect(completionsOf("acq")).toEqual(["acquisition"]);
    expect(completionsOf("ACQ")).toEqual(["acquisition"]);
    // A complete word is not offered again; nothing is offered for an empty word.
    expect(completionsOf("acquisition")).toEqual([]);
    expect(completionsOf("")).toEqual([]);
  });

  it("marks the whole token the parser's error points at, or the end when something is missing", () => {
    const mark = (expression: string) => {
      let message = "";
      try {
        parseSegment(expression);
      } catch (error) {
        message = (error as Error).message;
      }
      const position = errorPosition(message);
      expect(position, message).not.toBeNull();
      return markedParts(expression, position ?? 0);
    };
    expect(mark("orders > 1 and vists > 2")).toEqual({ before: "orders > 1 and ", token: "vists", after: " > 2" });
    expect(mark('gender = "f" and')).toEqual({ before: 'gender = "f" and', token: "", after: "" });
    expect(markedParts('cluster = "ri', 11)).toEqual({ before: "cluster = ", token: '"ri', after: "" });
    expect(markedParts("orders >= 1", 8)).toEqual({ before: "orders ", token: ">=", after: " 1" });
  });
});
