/**
 * Routes declare who may call them once, where they are declared: `security` names the scheme and
 * this wrapper of zod-openapi's createRoute puts the matching authentication middleware in front
 * of the route's own (roles, validation). `security` is required by the type, so a route cannot be
 * added without saying who may call it — `security: []` for a public one — and the document
 * (`/api/v1/openapi.json`) and the behaviour cannot disagree: test/auth/unauthenticated-walk.test.ts
 * walks every operation without credentials. A route that accepts several schemes (either one
 * suffices), or a scheme only its own capability uses (the Segment write key), brings the
 * middleware that checks it itself. `{ apiKey: ["ingest"] }` (a role, as OpenAPI 3.1 allows) says
 * that an ingest-only key may call the route too (worker/auth/api-keys.ts); every other `apiKey`
 * route refuses such a key with 403.
 */
import { createRoute as createOpenApiRoute, type RouteConfig } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { requireApiKey, requireEventsKey } from "../auth/api-keys";
import { requireOperator } from "../auth/operator";

type SecuredRouteConfig = RouteConfig & { security: NonNullable<RouteConfig["security"]> };

const SHARED_SCHEMES: Record<string, MiddlewareHandler> = {
  apiKey: requireApiKey as MiddlewareHandler,
  operatorToken: requireOperator as MiddlewareHandler,
};

export function createRoute<const R extends SecuredRouteConfig>(config: R) {
  const schemes = [...new Set(config.security.flatMap((requirement) => Object.keys(requirement)))];
  const own = config.middleware === undefined ? [] : [config.middleware].flat();
  if (schemes.length > 1 || (schemes.length === 1 && !(schemes[0] in SHARED_SCHEMES))) {
    if (own.length === 0) {
      throw new Error(
        `${config.method} ${config.path}: the scheme(s) ${schemes.join(", ")} need the route's own middleware`,
      );
    }
    return createOpenApiRoute(config);
  }
  if (schemes.length === 0) return createOpenApiRoute(config);
  const acceptsIngestKeys = config.security.some((requirement) => requirement.apiKey?.includes("ingest"));
  const authenticate = acceptsIngestKeys ? (requireEventsKey as MiddlewareHandler) : SHARED_SCHEMES[schemes[0]];
  const middleware = [authenticate, ...own.filter((m) => m !== authenticate && m !== SHARED_SCHEMES.apiKey)];
  return createOpenApiRoute({ ...config, middleware: middleware as R["middleware"] });
}
