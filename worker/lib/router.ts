/** Every sub-app is an OpenAPIHono with the shared validation hook: its routes feed the API document. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { validationHook } from "../errors";

export function createRouter() {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}
