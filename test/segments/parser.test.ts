import { describe, expect, it } from "vitest";
import { buildProfile, compileSegment, SegmentError, segmentWhere } from "../../worker/segments";
import { parseSegment } from "../../worker/segments/parser";

function errorOf(expression: string): SegmentError {
  try {
    parseSegment(expression);
  } catch (err) {
    if (err instanceof SegmentError) return err;
    throw err;
  }
  throw new Error(`"${expression}" parsed`);
}

describe("segment parser", () => {
  it('parses the examples of docs/architecture.md, "Segments: one language, two back ends", and more', () => {
    for (const expression of [
      'gender = "f" and days_since_last_order >= 180 and lifetime_revenue > 100 and coupons_redeemed = 0',
      'cluster in ("rings", "earrings") and interest("rings") >= 3',
      "cart_items > 0 and cart_age_hours >= 1 and not customer",
      "days_since_first_order <= 28",
      'interest("rings", 30) > 2 or visits(7) >= 3 and attr.tier = "gold"',
      'cluster contains ("rings", "gifts") and placement = "home" and country != "DE" and device in ("mobile")',
    ]) {
      expect(() => parseSegment(expression)).not.toThrow();
    }
  });

  it("gives and precedence over or, and not over and", () => {
    expect(parseSegment("orders > 1 or orders < 5 and not customer")).toMatchObject({
      type: "or",
      items: [{ type: "compare" }, { type: "and", items: [{ type: "compare" }, { type: "not" }] }],
    });
  });

  it("names the 1-based position and what was expected when a value is missing", () => {
    const err = errorOf('gender = "f" and (orders > )');
    expect(err.position).toBe(28);
    expect(err.message).toBe('at 28: expected a value (number, string, list, true, false) but found ")"');
    expect(err.expected).toBe("a value (number, string, list, true, false)");
  });

  it("lists the fields when a field name is unknown", () => {
    const err = errorOf("gendr = 'f'");
    expect(err.position).toBe(1);
    expect(err.message).toContain("expected a field (customer, gender, acquisition, cluster, lifetime_revenue");
    expect(err.message).toContain('but found "gendr"');
  });

  it("suggests the field a typo was meant to be, acquisition included", () => {
    expect(errorOf("gendr = 'f'").message).toContain('but found "gendr" — did you mean gender?');
    expect(errorOf("vists > 2").message).toContain("did you mean visits?");
    expect(errorOf("aquisition = 'display'").message).toContain("did you mean acquisition?");
    expect(errorOf("orders > 1 and lifetime_revnue > 9").position).toBe(16);
    expect(errorOf("zzz > 1").message).not.toContain("did you mean");
    expect(errorOf("zzz > 1").message).toContain("acquisition");
  });

  it("refuses values of the wrong type and operators a field does not have", () => {
    expect(errorOf('orders = "3"').message).toBe('at 10: expected a number for orders but found "3"');
    expect(errorOf('gender > "f"').message).toBe('at 8: expected =, !=, in or contains for gender but found ">"');
    expect(errorOf("customer = 1").message).toBe("at 12: expected true or false for customer but found 1");
    expect(errorOf("orders contains 3").message).toContain("expected =, !=, <, <=, >, >= or in for orders");
    expect(errorOf("attr.age > 'x'").message).toBe("at 12: expected a number after > but found 'x'");
  });

  it("refuses a window longer than the per-day history that is kept, naming the limit and the position", () => {
    for (const expression of [
      'interest("rings", 366) > 0',
      "visits(91) > 1",
      'event("signup", 120) >= 1',
      "purchases(365) > 0",
    ]) {
      const error = errorOf(expression);
      expect(error.message, expression).toMatch(
        /expected a window of at most 90 days \(per-day history is kept 90 days\) but found \d+/,
      );
      expect(error.position, expression).toBe(expression.search(/\d{2,}/) + 1);
    }
    expect(() => parseSegment('interest("rings", 90) > 0 and visits(90) > 1 and purchases(90) > 0')).not.toThrow();
  });

  it("parses goals: event counts all time or in a window, and purchases in a window", () => {
    expect(parseSegment('event("newsletter_signup") >= 1')).toMatchObject({
      type: "compare",
      field: { kind: "event", name: "newsletter_signup", days: null },
      op: ">=",
      value: 1,
    });
    expect(parseSegment('event("newsletter_signup", 7) >= 1')).toMatchObject({ field: { kind: "event", days: 7 } });
    expect(parseSegment("purchases(30) = 0")).toMatchObject({ field: { kind: "purchases_window", days: 30 } });
    expect(parseSegment('acquisition = "display"')).toMatchObject({ field: { kind: "text", name: "acquisition" } });
    expect(errorOf("purchases > 0").message).toBe(
      'at 11: expected "(" and a number of days, e.g. purchases(30) but found ">"',
    );
    expect(errorOf("event(signup) > 0").message).toContain("expected an event name as a string");
    expect(errorOf('event("signup") contains "x"').message).toContain("=, !=, <, <=, >, >= or in for event(...)");
  });

  it("reports unbalanced parentheses, trailing tokens, unterminated strings and empty input", () => {
    expect(errorOf("(orders > 1").message).toBe('at 12: expected ")" but found end of expression');
    expect(errorOf("orders > 1 orders").message).toBe(
      'at 12: expected "and", "or" or the end of the expression but found "orders"',
    );
    expect(errorOf('gender = "f').message).toBe('at 10: expected a closing " but found end of expression');
    expect(errorOf("  ").message).toBe("at 3: expected a condition (e.g. orders > 0) but found end of expression");
    expect(errorOf("orders in 3").message).toContain('expected a list after "in"');
    expect(errorOf("visits(0) > 1").message).toContain("expected a whole number of days (1 to 90)");
    expect(errorOf("orders > 1 & orders < 3").message).toBe('at 12: expected a field, operator or value but found "&"');
  });
});

describe("request context", () => {
  it("is read from the profile's context on the edge", () => {
    const isHomeMobile = compileSegment('placement = "home" and device in ("mobile", "tablet") and country != "DE"');
    expect(isHomeMobile(buildProfile(null, null, { placement: "home", device: "mobile", country: "AT" }), 0)).toBe(
      true,
    );
    expect(isHomeMobile(buildProfile(null, null, { placement: "home", device: "mobile", country: "DE" }), 0)).toBe(
      false,
    );
    expect(isHomeMobile(buildProfile(null, null, { placement: "home", device: "mobile" }), 0)).toBe(false);
  });

  it("is refused on the SQL side with an error naming the field", () => {
    expect(() => segmentWhere('orders > 1 and country = "DE"', 0)).toThrow(SegmentError);
    expect(() => segmentWhere('orders > 1 and country = "DE"', 0)).toThrow(
      "at 16: country is request context, known only when a banner is decided; audiences and counts cannot use it",
    );
  });
});
