/**
 * Writes a generated file only when its content changes. `wrangler dev` watches the Worker's
 * sources and reloads on any write, even an identical one; the tag build runs at every start of
 * `npm run dev`, `npm test` and each `wrangler dev` (wrangler.toml [build]), so rewriting the same
 * bytes made a running `wrangler dev` reload (and, with two of them starting at once in `npm test`,
 * race for ports while it did).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export function writeIfChanged(path, content) {
  if (existsSync(path) && readFileSync(path, "utf8") === content) return;
  writeFileSync(path, content);
}
