/**
 * What an identifier that tagwerk exports may hold. Customer IDs and partner user IDs leave in
 * audience exports, delta files and `ttd` files that partners read line by line
 * (worker/audiences/id-spaces.ts): a CR or LF inside one would make a reader see injected rows, so
 * every path that takes such an ID refuses control characters (C0, DEL, C1, and the Unicode line
 * and paragraph separators) rather than storing them (SECURITY.md).
 */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export const NO_CONTROL_CHARACTERS = "must not contain control characters (CR, LF, tab…)";

export function hasControlCharacters(value: string): boolean {
  return CONTROL_CHARACTERS.test(value);
}
