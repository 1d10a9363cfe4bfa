/** The API document (`/api/v1/openapi.json`) and its readable form (`/docs`). */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { OPENAPI_CONFIG } from "./openapi-config";
import { ReferencePage } from "./reference-page";

/** Registered on the assembled app, because the document covers every sub-app's routes. */
export function registerDocs(app: OpenAPIHono<AppEnv>) {
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "A site's API key",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "operatorToken", {
    type: "http",
    scheme: "bearer",
    description: "The deployment's OPERATOR_TOKEN secret",
  });
  app.doc31("/api/v1/openapi.json", OPENAPI_CONFIG);
  app.get("/docs", (c) => {
    const doc = app.getOpenAPI31Document(OPENAPI_CONFIG);
    return c.html(<ReferencePage doc={doc as never} />);
  });
}
