/**
 * Hostile input for the property tests: unicode edge cases (lone surrogates, RTL overrides, NUL,
 * emoji, combining marks), injection-shaped strings (SQL, markup, template, path, URL schemes),
 * oversized and deeply nested values.
 */
import fc from "fast-check";

export const INJECTIONS = [
  "'); DROP TABLE visitors;--",
  '" OR 1=1 --',
  "' OR '1'='1",
  "1; DELETE FROM customers",
  "Robert'); DROP TABLE events; --",
  "<img src=x onerror=alert(1)>",
  "<script>alert(1)</script>",
  '"><svg onload=alert(1)>',
  "{{coupon}}{{#x}}{{/x}}",
  "../../../etc/passwd",
  "javascript:alert(1)",
  "data:text/html,<script>alert(1)</script>",
  "\u0000",
  "a\u0000b",
  "\u202Eevil\u202C",
  "\u200F\u05D0\u05D1",
  "\uD800",
  "x\uDFFFy",
  "👨‍👩‍👧‍👦🏳️‍🌈",
  "e\u0301\u0301\u0301",
  "%00%27%22",
  "$" + "{7*7}", // a template-injection probe (split so the linter does not read it as a mistake)
  "__proto__",
  "constructor",
  "\r\nSet-Cookie: x=1",
];

/** Hostile strings of at most a few hundred characters (fast to shrink). */
export const shortHostileString = fc.oneof(
  fc.constantFrom(...INJECTIONS),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ maxLength: 40 }),
);

export const hostileString = fc.oneof(
  shortHostileString,
  fc.integer({ min: 1_000, max: 40_000 }).map((n) => "x".repeat(n)),
);

export const shortHostileValue: fc.Arbitrary<unknown> = fc.oneof(
  shortHostileString,
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, -1, 0, 1e308, 0.1),
  fc.dictionary(shortHostileString, shortHostileString, { maxKeys: 3 }),
);

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(null, true, -1, 0, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 0.1),
  fc.array(hostileString, { maxLength: 4 }),
  fc.dictionary(hostileString, hostileString, { maxKeys: 4 }),
);

/** An object with the expected keys given hostile values, plus stray keys. */
export function hostileObject(keys: string[], value = hostileValue): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(
      fc.record(Object.fromEntries(keys.map((k) => [k, value])), { requiredKeys: [] }),
      fc.dictionary(shortHostileString, value, { maxKeys: 2 }),
    )
    .map(([known, stray]) => ({ ...stray, ...known }));
}

export function nested(depth: number): string {
  return `${"[".repeat(depth)}${"]".repeat(depth)}`;
}

export function nestedObject(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
}

/** One CSV cell, quoted so that commas, quotes and newlines stay inside it. */
export function csvCell(value: string): string {
  return `"${value.replaceAll('"', '""')}"`;
}
