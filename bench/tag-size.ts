/**
 * The tag's size next to other trackers' published npm packages, all measured the same way: an
 * entry that loads the tracker and makes the calls a shop makes (page view, custom event), bundled
 * and minified by esbuild with the same options, then raw / gzip (level 9) / brotli (quality 11)
 * bytes from node:zlib. The trackers are installed from npm into bench/.data (gitignored); offline,
 * they are reported as not measured.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { build } from "esbuild";

export type Size =
  | { name: string; version: string; raw: number; gzip: number; brotli: number }
  | { name: string; error: string };

const TRACKERS = [
  {
    name: "plausible-tracker",
    entry: `import Plausible from "plausible-tracker";
const p = Plausible({ domain: "shop.example" });
p.enableAutoPageviews();
p.trackEvent("purchase", { props: { value: "10" } });`,
  },
  {
    name: "@snowplow/browser-tracker",
    entry: `import { newTracker, trackPageView, trackSelfDescribingEvent } from "@snowplow/browser-tracker";
newTracker("sp", "https://collector.example");
trackPageView();
trackSelfDescribingEvent({ event: { schema: "iglu:com.example/purchase/jsonschema/1-0-0", data: { value: 10 } } });`,
  },
];

async function measure(name: string, version: string, entryFile: string, nodePaths: string[]): Promise<Size> {
  const result = await build({
    entryPoints: [entryFile],
    bundle: true,
    minify: true,
    format: "iife",
    target: "es2019",
    platform: "browser",
    legalComments: "none",
    write: false,
    nodePaths,
    logLevel: "silent",
  });
  const code = result.outputFiles[0].text.trim();
  return {
    name,
    version,
    raw: Buffer.byteLength(code),
    gzip: gzipSync(code, { level: 9 }).length,
    brotli: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

/** `install: false` (the tiny smoke run) measures only trackers installed already: no network. */
export async function measureTagSizes(root: string, dir: string, { install = true } = {}): Promise<Size[]> {
  const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version as string;
  const sizes: Size[] = [await measure("tagwerk (tag/src)", version, join(root, "tag/src/index.ts"), [])];
  mkdirSync(dir, { recursive: true });
  const modules = join(dir, "node_modules");
  const missing = TRACKERS.filter((t) => !existsSync(join(modules, t.name, "package.json")));
  let installError = "";
  if (missing.length && !install) installError = "not installed (the tiny run does not install)";
  else if (missing.length) {
    if (!existsSync(join(dir, "package.json"))) writeFileSync(join(dir, "package.json"), '{ "private": true }\n');
    const result = spawnSync(
      "npm",
      ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock", ...missing.map((t) => t.name)],
      { cwd: dir, encoding: "utf8", timeout: 180_000 },
    );
    if (result.status !== 0)
      installError = `npm install failed (offline?): ${(result.stderr ?? "").split("\n").slice(-3).join(" ").slice(0, 200)}`;
  }
  for (const t of TRACKERS) {
    const pkg = join(modules, t.name, "package.json");
    if (!existsSync(pkg)) {
      sizes.push({ name: t.name, error: installError || "not installed" });
      continue;
    }
    const entry = join(dir, `${t.name.replace(/[@/]/g, "_")}.entry.js`);
    writeFileSync(entry, `${t.entry}\n`);
    try {
      sizes.push(await measure(t.name, JSON.parse(readFileSync(pkg, "utf8")).version, entry, [modules]));
    } catch (error) {
      sizes.push({ name: t.name, error: String(error).slice(0, 200) });
    }
  }
  return sizes;
}
