/**
 * Comments cite documents a reader can open: docs/architecture.md, docs/development.md, README.md
 * and SECURITY.md, by section (`docs/architecture.md, "Decision path"`, `README.md ("Segments")` or
 * `docs/architecture.md#decision-path`). This walks the project's sources and fails on a citation
 * of the design brief that is not part of the repository, and on a cited section that no heading
 * of the cited document has — a renamed heading must take its citations with it.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const SELF = relative(ROOT, import.meta.filename);
const FOLDERS = ["worker", "admin", "tag", "scripts", "demo", "bench", "test", "docs", "migrations"];
const ROOT_FILES = [
  "README.md",
  "SECURITY.md",
  "wrangler.toml",
  "vitest.config.ts",
  "drizzle.config.ts",
  "package.json",
];
const SOURCE = /\.(ts|tsx|mjs|js|md|toml|sql|json)$/;
/** Build output, generated modules and recorded data: not written by hand. */
const SKIP = /(^|\/)(node_modules|dist|\.wrangler)(\/|$)|\.generated\.ts$|^bench\/data\//;
const DOCUMENTS = ["docs/architecture.md", "docs/development.md", "docs/admin.md", "README.md", "SECURITY.md"];
/** Spelled in two parts so that this file does not cite it. */
const OUTSIDE_DOCUMENT = ["DESIGN", "md"].join(".");

function walk(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (SKIP.test(path)) return [];
    return statSync(join(ROOT, path)).isDirectory() ? walk(path) : SOURCE.test(name) ? [path] : [];
  });
}

const files = [...FOLDERS.flatMap(walk), ...ROOT_FILES].filter((path) => path !== SELF);

/** A file's text with line breaks and comment leaders (` * `, `// `, `# `) folded into spaces. */
function flatten(text: string): string {
  return text.replace(/[ \t]*\r?\n[ \t]*(?:\*(?!\/)|\/\/|#(?!#))?[ \t]*/g, " ");
}

/** GitHub's anchor for a heading: lower-case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");
}

function headingsOf(document: string): string[] {
  return [...readFileSync(join(ROOT, document), "utf8").matchAll(/^#{1,6} +(.+?) *$/gm)].map((m) => m[1]);
}

/** A cited name matches a heading as written, or the heading without its closing parenthesis. */
function names(heading: string): string[] {
  return [heading, heading.replace(/ *\([^()]*\)$/, "")];
}

type Citation = { file: string; document: string; section: string; anchor: boolean };

const CITATION = new RegExp(
  `(${DOCUMENTS.map((d) => d.replace(/[./]/g, "\\$&")).join("|")})(?:#([\\w-]+)|,? *\\(?((?:"[^"]+"(?: (?:and|or) )?)+))`,
  "g",
);

function citationsIn(file: string): Citation[] {
  const text = flatten(readFileSync(join(ROOT, file), "utf8"));
  return [...text.matchAll(CITATION)].flatMap((m): Citation[] => {
    const document = m[1];
    if (m[2]) return [{ file, document, section: m[2], anchor: true }];
    return [...m[3].matchAll(/"([^"]+)"/g)].map((q) => ({ file, document, section: q[1], anchor: false }));
  });
}

describe("citations in comments and documents", () => {
  it("never cite the design brief, which is not part of the repository", () => {
    const citing = files.filter((file) => readFileSync(join(ROOT, file), "utf8").includes(OUTSIDE_DOCUMENT));
    expect(citing).toEqual([]);
  });

  it("name sections that exist in the cited document", () => {
    const headings = new Map(DOCUMENTS.map((d) => [d, headingsOf(d)]));
    const citations = files.flatMap(citationsIn);
    // The scan itself must work: the code cites the architecture document dozens of times.
    expect(citations.filter((c) => c.document === "docs/architecture.md").length).toBeGreaterThan(30);
    const broken = citations.filter(({ document, section, anchor }) => {
      const known = headings.get(document) ?? [];
      return anchor ? !known.some((h) => slug(h) === section) : !known.some((h) => names(h).includes(section));
    });
    expect(broken).toEqual([]);
  });

  it("reads a citation across comment lines and recognises a missing section", () => {
    const text = flatten('/**\n * see (docs/architecture.md,\n * "Decision path"), (README.md, "No such part")\n */');
    const found = [...text.matchAll(CITATION)].map((m) => m[3]);
    expect(found).toEqual(['"Decision path"', '"No such part"']);
    expect(headingsOf("docs/architecture.md").some((h) => names(h).includes("Decision path"))).toBe(true);
    expect(headingsOf("README.md").some((h) => names(h).includes("No such part"))).toBe(false);
    expect(slug("Segments: one language, two back ends")).toBe("segments-one-language-two-back-ends");
  });
});
