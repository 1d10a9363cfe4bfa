/** An import file's content type by its name, the same in the page's forwarding and in imports.js. */
export type ImportKind = "customers" | "links" | "products" | "codes";

/** NDJSON for .ndjson/.jsonl, plain lines for codes in .txt, else CSV. */
export function contentTypeOf(kind: ImportKind, name: string): string {
  if (/\.(ndjson|jsonl)$/i.test(name)) return "application/x-ndjson";
  if (kind === "codes" && /\.txt$/i.test(name)) return "text/plain";
  return "text/csv";
}
