/**
 * Generated coupon codes: made at the edge on claim, read aloud and typed in by people.
 *
 * Alphabet: upper-case letters and digits minus every look-alike group — 0/O/Q, 1/I/L, 2/Z, 5/S
 * and 8/B are dropped whole, not reduced to one member, so a reader never has to choose; V goes
 * too (U stays). That leaves 23 symbols, "34679ACDEFGHJKMNPRTUWXY"; 23 is prime, which is what
 * makes the check character below catch every single-character substitution and every swap of
 * two neighbours.
 *
 * Shape: pool prefix + BODY_LENGTH random symbols + 1 check symbol. The check symbol makes the
 * weighted sum Σ (i+1)·value(c_i) over body and check ≡ 0 (mod 23). A substitution at position i
 * changes the sum by (i+1)·Δ with 0 < i+1 < 23 and 0 < |Δ| < 23, never a multiple of the prime 23,
 * so a mistyped code is told apart from an unknown one without a database look-up. Hand-written:
 * it is a dozen lines, and the usual libraries implement Luhn over decimal digits only.
 *
 * Entropy: 23^9 ≈ 1.8·10^12 (40.7 bits) per code — guessing an assigned code is hopeless, and a
 * code collision (retried on insert) is rare until a site holds billions of codes.
 */

/** @internal Exported for tests; the Worker itself does not import it. */
export const CODE_ALPHABET = "34679ACDEFGHJKMNPRTUWXY";
/** @internal Exported for tests; the Worker itself does not import it. */
export const BODY_LENGTH = 9;
/**
 * Body plus the check symbol: the part of a generated code after the pool's prefix.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export const SUFFIX_LENGTH = BODY_LENGTH + 1;

const MODULUS = CODE_ALPHABET.length;
const VALUE = new Map<string, number>([...CODE_ALPHABET].map((ch, i) => [ch, i]));

/**
 * The check symbol that makes the weighted sum of `body` plus itself ≡ 0 mod 23.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export function checkCharacter(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    const value = VALUE.get(body[i]);
    if (value === undefined) throw new Error(`"${body[i]}" is not in the coupon alphabet`);
    sum += (i + 1) * value;
  }
  const weight = body.length + 1;
  // Solve weight·x ≡ -sum (mod 23); 23 is small, so try every symbol.
  for (let x = 0; x < MODULUS; x++) {
    if ((sum + weight * x) % MODULUS === 0) return CODE_ALPHABET[x];
  }
  throw new Error("unreachable: 23 is prime");
}

/**
 * True when `suffix` (body + check, no prefix) uses only the alphabet and its check symbol holds.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export function hasValidCheck(suffix: string): boolean {
  if (suffix.length < 2) return false;
  let sum = 0;
  for (let i = 0; i < suffix.length; i++) {
    const value = VALUE.get(suffix[i]);
    if (value === undefined) return false;
    sum += (i + 1) * value;
  }
  return sum % MODULUS === 0;
}

/** A uniformly random body: rejection sampling keeps every symbol equally likely (253 = 11·23). */
function randomBody(length = BODY_LENGTH): string {
  const limit = 256 - (256 % MODULUS);
  let out = "";
  while (out.length < length) {
    const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
    for (const byte of bytes) {
      if (byte < limit && out.length < length) out += CODE_ALPHABET[byte % MODULUS];
    }
  }
  return out;
}

/** A fresh code for a generated pool: prefix + random body + check symbol. */
export function generateCode(prefix: string): string {
  const body = randomBody();
  return `${prefix}${body}${checkCharacter(body)}`;
}

/**
 * Why a code that is not in the database was not found: "mistyped" when it has the shape of a
 * generated code of one of the site's generated pools (that prefix, then SUFFIX_LENGTH symbols)
 * but its check symbol fails (or it uses a symbol outside the alphabet, or lower case), otherwise
 * "unknown".
 */
export function classifyMissingCode(code: string, generatedPrefixes: string[]): "mistyped" | "unknown" {
  const upper = code.toUpperCase();
  for (const prefix of generatedPrefixes) {
    const p = prefix.toUpperCase();
    if (upper.length !== p.length + SUFFIX_LENGTH || !upper.startsWith(p)) continue;
    const suffix = upper.slice(p.length);
    // Right shape: a failing check, a foreign symbol or the wrong case means a typing slip.
    if (!hasValidCheck(suffix) || upper !== code) return "mistyped";
  }
  return "unknown";
}
