/** Role checks for the management API: admin > marketer > viewer. */
import { createMiddleware } from "hono/factory";
import type { AppEnv, Role } from "../env";
import { apiError } from "../errors";

const RANK: Record<Role, number> = { viewer: 0, marketer: 1, admin: 2 };

/** Whether `role` may do what needs `minimum`; the admin UI asks the same question to hide buttons. */
export function hasRole(role: Role | undefined, minimum: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[minimum];
}

export function requireRole(minimum: Role) {
  return createMiddleware<AppEnv>(async function checkRole(c, next) {
    const role = c.get("role");
    if (!hasRole(role, minimum)) {
      throw apiError(403, "forbidden", `This needs the ${minimum} role; you are ${role ?? "anonymous"}`);
    }
    await next();
  });
}
