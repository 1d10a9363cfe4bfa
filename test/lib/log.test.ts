import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { logError } from "../../worker/lib/log";
import { call } from "../fixtures/api";
import { FaultyD1 } from "../fixtures/faulty-d1";

afterEach(() => {
  vi.restoreAllMocks();
});

function loggedLines(spy: { mock: { calls: unknown[][] } }) {
  return spy.mock.calls.map((args) => {
    expect(args).toHaveLength(1);
    return JSON.parse(args[0] as string) as Record<string, unknown>;
  });
}

describe("structured logs", () => {
  it("a line holds level, event, site and the error as text, one JSON object per call", () => {
    const lines = vi.spyOn(console, "error").mockImplementation(() => undefined);
    logError("test.failed", { site: 7, error: new Error("boom"), key: "a/b" });
    expect(loggedLines(lines)).toEqual([
      { level: "error", event: "test.failed", site: 7, key: "a/b", error: "Error: boom" },
    ]);
  });

  it("a request's failure is logged with the request ID its answer carries", async () => {
    const lines = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const faulty = new FaultyD1(env.DB).set("fail");
    const res = await call("/healthz", { env: { ...env, DB: faulty.db }, settle: true });
    expect(res.status).toBe(503);
    const [line] = loggedLines(lines);
    expect(line).toMatchObject({ level: "error", event: "health.database_unreachable" });
    expect(line.requestId).toBe(res.headers.get("X-Request-Id"));
    expect(typeof line.error).toBe("string");
  });
});
