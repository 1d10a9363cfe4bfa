// The package registry reachable here lacks @biomejs's non-Linux platform binaries, so `npm install`
// leaves them out of package-lock.json and `npm ci` then refuses the lock as out of sync. This adds
// the missing optional entries with their platform constraints (npm ci skips them on Linux).
// Run it after any `npm install` that rewrites the lock: `node scripts/complete-lockfile.mjs`.
import { readFileSync, writeFileSync } from "node:fs";

const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
const biome = lock.packages["node_modules/@biomejs/biome"];
const platforms = {
  "cli-win32-x64": { os: ["win32"], cpu: ["x64"] },
  "cli-win32-arm64": { os: ["win32"], cpu: ["arm64"] },
  "cli-darwin-x64": { os: ["darwin"], cpu: ["x64"] },
  "cli-darwin-arm64": { os: ["darwin"], cpu: ["arm64"] },
  "cli-linux-x64-musl": { os: ["linux"], cpu: ["x64"], libc: ["musl"] },
  "cli-linux-arm64-musl": { os: ["linux"], cpu: ["arm64"], libc: ["musl"] },
  "cli-android-x64": { os: ["android"], cpu: ["x64"] },
  "cli-android-arm64": { os: ["android"], cpu: ["arm64"] },
};
let added = 0;
for (const [name, constraints] of Object.entries(platforms)) {
  const key = `node_modules/@biomejs/${name}`;
  if (!biome?.optionalDependencies?.[`@biomejs/${name}`] || lock.packages[key]) continue;
  lock.packages[key] = {
    version: biome.version,
    ...constraints,
    dev: true,
    license: "MIT OR Apache-2.0",
    optional: true,
    engines: { node: ">=14.21.3" },
  };
  added++;
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))),
);
writeFileSync("package-lock.json", `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} optional platform entries`);
