/** The API document's header: title, description and this deployment as its server. */
const OPENAPI_INFO = {
  title: "tagwerk API",
  version: "1.0.0",
  description:
    "Server-to-server and management API of tagwerk. Authenticate with a site's API key " +
    '(`Authorization: Bearer KEY`). Errors are always `{"error": {"code", "message"}}`.',
  // No open-source licence: an SPDX LicenseRef names that honestly (OpenAPI 3.1 `identifier`).
  license: { name: "Proprietary", identifier: "LicenseRef-Proprietary" },
} as const;

/** `origin` is the deployment's own address, so "try it" and generated clients call this edge. */
export function openApiConfig(origin: string) {
  return {
    openapi: "3.1.0",
    info: OPENAPI_INFO,
    servers: [{ url: origin, description: "This deployment" }],
  };
}
