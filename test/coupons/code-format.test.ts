import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BODY_LENGTH,
  CODE_ALPHABET,
  checkCharacter,
  classifyMissingCode,
  generateCode,
  hasValidCheck,
  SUFFIX_LENGTH,
} from "../../worker/coupons/code-format";

const body = fc
  .array(fc.constantFrom(...CODE_ALPHABET), { minLength: BODY_LENGTH, maxLength: BODY_LENGTH })
  .map((chars) => chars.join(""));

describe("generated coupon codes", () => {
  it("use an alphabet without look-alike characters", () => {
    expect(CODE_ALPHABET).toHaveLength(23);
    for (const lookAlike of "0OQ1IL2Z5S8BV") expect(CODE_ALPHABET).not.toContain(lookAlike);
    expect(new Set(CODE_ALPHABET).size).toBe(CODE_ALPHABET.length);
  });

  it("are prefix + body + one check character, and pass their own check", () => {
    for (let i = 0; i < 200; i++) {
      const code = generateCode("SPRING-");
      expect(code).toMatch(new RegExp(`^SPRING-[${CODE_ALPHABET}]{${SUFFIX_LENGTH}}$`));
      expect(hasValidCheck(code.slice(7))).toBe(true);
      expect(classifyMissingCode(code, ["SPRING-"])).toBe("unknown");
    }
  });

  it("detect every single-character substitution as mistyped", () => {
    fc.assert(
      fc.property(
        body,
        fc.nat(SUFFIX_LENGTH - 1),
        fc.oneof(fc.constantFrom(...CODE_ALPHABET), fc.constantFrom(..."0O1IL5S2Z8Bab-")),
        (b, position, replacement) => {
          const suffix = b + checkCharacter(b);
          fc.pre(suffix[position] !== replacement);
          const typo = suffix.slice(0, position) + replacement + suffix.slice(position + 1);
          expect(hasValidCheck(typo)).toBe(false);
          expect(classifyMissingCode(`P-${typo}`, ["X", "P-"])).toBe("mistyped");
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("detect every swap of two different neighbouring characters", () => {
    fc.assert(
      fc.property(body, fc.nat(SUFFIX_LENGTH - 2), (b, i) => {
        const suffix = b + checkCharacter(b);
        fc.pre(suffix[i] !== suffix[i + 1]);
        const swapped = suffix.slice(0, i) + suffix[i + 1] + suffix[i] + suffix.slice(i + 2);
        expect(hasValidCheck(swapped)).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it("call a code of another shape unknown, not mistyped", () => {
    const code = generateCode("SPRING-");
    expect(classifyMissingCode(code.slice(0, -1), ["SPRING-"])).toBe("unknown");
    expect(classifyMissingCode(`WINTER-${code.slice(7)}`, ["SPRING-"])).toBe("unknown");
    expect(classifyMissingCode("HELLO", [])).toBe("unknown");
  });
});
