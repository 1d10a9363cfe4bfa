/** Role checks for the management API: admin > marketer > viewer. */
import { createMiddleware } from "hono/factory";
import type { AppEnv, Role } from "../env";
import { apiError } from "../errors";

const RANK: Record<Role, number> = { viewer: 0, marketer: 1, admin: 2 };

export function requireRole(minimum: Role) {
  return createMiddleware<AppEnv>(async function checkRole(c, next) {
    const role = c.get("role");
    if (!role || RANK[role] < RANK[minimum]) {
      throw apiError(403, "forbidden", `This needs the ${minimum} role; you are ${role ?? "anonymous"}`);
    }
    await next();
  });
}
