/** The API document (`/api/v1/openapi.json`) and its readable form (`/docs`). */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../env";
import { publicBase } from "../lib/base-path";
import { SEGMENT_MEMBERSHIP_WEBHOOK } from "../webhooks/routes";
import { DOCS_CSS, DOCS_JS } from "./assets";
import { openApiConfig } from "./openapi-config";
import { ReferencePage } from "./reference-page";

/** Registered on the assembled app, because the document covers every sub-app's routes. */
export function registerDocs(app: OpenAPIHono<AppEnv>) {
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "A site's API key",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "segmentWriteKey", {
    type: "http",
    scheme: "basic",
    description: "Segment's write-key scheme: HTTP Basic with a site's API key as the user name, empty password",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "operatorToken", {
    type: "http",
    scheme: "bearer",
    description: "The deployment's OPERATOR_TOKEN secret",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "signedExportUrl", {
    type: "apiKey",
    in: "query",
    name: "sig",
    description: "An audience export link from POST /api/v1/audiences/{id}/export-url (with its `exp`)",
  });
  // What a webhook receiver gets (OpenAPI 3.1 `webhooks`): the Standard Webhooks headers and payload.
  app.openAPIRegistry.registerWebhook(SEGMENT_MEMBERSHIP_WEBHOOK);
  // publicBase: under BASE_PATH the document names the prefixed address, where generated clients must call.
  app.doc31("/api/v1/openapi.json", (c) => openApiConfig(publicBase(c)));
  // Scripts, styles and try-it requests from this origin only: the page runs no third-party code.
  const docsHeaders = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
  });
  app.use("/docs", docsHeaders);
  app.get("/docs/assets/docs.css", (c) =>
    c.body(DOCS_CSS, 200, { "Content-Type": "text/css; charset=utf-8", "Cache-Control": "public, max-age=300" }),
  );
  app.get("/docs/assets/docs.js", (c) =>
    c.body(DOCS_JS, 200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "public, max-age=300" }),
  );
  app.get("/docs", (c) => {
    const doc = app.getOpenAPI31Document(openApiConfig(publicBase(c)));
    return c.html(<ReferencePage doc={doc as never} />);
  });
}
