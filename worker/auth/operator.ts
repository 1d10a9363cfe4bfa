/** The deployment operator (secret OPERATOR_TOKEN) may create sites; nobody else can. */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { apiError } from "../errors";
import { bearerToken } from "./api-keys";
import { timingSafeEqualText } from "./crypto";

export const requireOperator = createMiddleware<AppEnv>(async function requireOperator(c, next) {
  const expected = c.env.OPERATOR_TOKEN;
  if (!expected) throw apiError(403, "forbidden", "Site creation is disabled: OPERATOR_TOKEN is not set");
  const given = bearerToken(c.req.header("Authorization"));
  if (!given || !(await timingSafeEqualText(given, expected))) {
    throw apiError(401, "unauthorized", "Missing or wrong operator token");
  }
  await next();
});
