/**
 * Every sub-app is mounted at "/" with absolute paths (worker/index.ts), so the order of the mounts
 * is the order in which Hono tries their routes: a route such as `GET /api/v1/segments/:id`
 * mounted before `GET /api/v1/segments/sizes` would answer the latter's requests, silently. This
 * walks the assembled app's routes as Hono holds them (`app.routes`, in the order they are tried)
 * and fails when an earlier route of the same method matches a later route's path.
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/index";

type RouteEntry = { method: string; path: string };

/** Hono's path syntax as a regular expression: `:name`, `:name{regex}`, `:name?` and `*`. */
function patternOf(path: string): RegExp {
  let source = "";
  for (const segment of path.split("/").slice(1)) {
    const param = /^:(\w+)(\{(.+)\})?(\?)?$/.exec(segment);
    if (param) {
      const part = `/(${param[3] ?? "[^/]+"})`;
      source += param[4] ? `(?:${part})?` : part;
    } else if (segment === "*") source += "(?:/.*)?";
    else source += `/${segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace("\\*", ".*")}`;
  }
  return new RegExp(`^${source || "/"}/?$`);
}

/** A request path the route answers: each parameter filled with a value it accepts. */
function samplePathOf(path: string): string {
  return path
    .split("/")
    .map((segment) => (segment.startsWith(":") ? "1" : segment === "*" ? "x" : segment))
    .join("/");
}

/** Pairs [earlier, later] where the earlier route of the same method takes the later one's requests. */
function shadowedRoutes(routes: readonly RouteEntry[]): string[] {
  // Middleware (`use`) is registered as method ALL and passes requests on: only handlers shadow.
  const handlers = routes.filter((route) => route.method !== "ALL");
  const found: string[] = [];
  handlers.forEach((later, index) => {
    const sample = samplePathOf(later.path);
    const earlier = handlers
      .slice(0, index)
      .find(
        (route) => route.method === later.method && route.path !== later.path && patternOf(route.path).test(sample),
      );
    if (earlier) found.push(`${later.method} ${later.path} is answered by ${earlier.path}, mounted before it`);
  });
  return [...new Set(found)];
}

describe("route order", () => {
  it("the check finds a parameter route mounted before a literal one", () => {
    const shadowing = new Hono();
    shadowing.get("/api/v1/segments/:id", (c) => c.text("one"));
    shadowing.get("/api/v1/segments/sizes", (c) => c.text("sizes"));
    shadowing.post("/api/v1/segments/preview", (c) => c.text("preview"));
    expect(shadowedRoutes(shadowing.routes)).toEqual([
      "GET /api/v1/segments/sizes is answered by /api/v1/segments/:id, mounted before it",
    ]);
  });

  it("no route of the Worker is answered by another mounted before it", () => {
    expect(app.routes.length).toBeGreaterThan(100);
    expect(shadowedRoutes(app.routes)).toEqual([]);
  });
});
