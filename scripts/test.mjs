// `npm test`'s last step: the Chromium tests (project `browser`) run in their own vitest process
// beside the others instead of after them. They spend most of their time waiting on Chromium and
// wrangler dev, so on CI's 2-core machine the overlap takes ≈3 minutes off the suite
// (docs/development.md, "How long the suite takes"). The browser run's output is printed as one
// block when both are done; the exit code is non-zero when either failed.
import { spawn } from "node:child_process";

const vitest = (args, output) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, ["node_modules/vitest/vitest.mjs", "run", ...args], {
      stdio: ["ignore", output === "inherit" ? "inherit" : "pipe", output === "inherit" ? "inherit" : "pipe"],
    });
    let text = "";
    child.stdout?.on("data", (chunk) => (text += chunk));
    child.stderr?.on("data", (chunk) => (text += chunk));
    child.on("exit", (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), text }));
  });

const [rest, browser] = await Promise.all([
  vitest(
    ["--project", "workers", "--project", "workers-isolated", "--project", "node", "--project", "bench"],
    "inherit",
  ),
  vitest(["--project", "browser"], "pipe"),
]);
process.stdout.write(`\n──── Chromium tests (project browser) ────\n${browser.text}`);
process.exit(rest.code || browser.code);
