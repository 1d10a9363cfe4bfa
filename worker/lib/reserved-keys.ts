/**
 * Names that must never become object keys from untrusted input. `__proto__` assigned as a key
 * replaces an object's prototype instead of adding a property (zod's record drops it without a
 * word, so an event prop named so simply vanished), and `constructor` / `prototype` read back an
 * inherited value where none was stored. Input naming one is refused with a reason instead.
 */
const RESERVED_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

export function isReservedKey(name: string): boolean {
  return RESERVED_KEYS.has(name);
}

/** The dotted path of the first reserved key in a JSON value (own keys, depth-limited), or null. */
export function reservedKeyPath(value: unknown, path: string[] = [], depth = 0): string | null {
  if (depth > 8 || value === null || typeof value !== "object") return null;
  for (const key of Object.keys(value)) {
    const here = [...path, key];
    if (isReservedKey(key)) return here.join(".");
    const inner = reservedKeyPath((value as Record<string, unknown>)[key], here, depth + 1);
    if (inner) return inner;
  }
  return null;
}
