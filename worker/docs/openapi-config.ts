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

/**
 * `base` is the deployment's own address as the document was fetched — with the BASE_PATH prefix
 * when it came in under it — so "try it" and generated clients call this edge where it answers.
 */
export function openApiConfig(base: string) {
  return {
    openapi: "3.1.0",
    info: OPENAPI_INFO,
    servers: [{ url: base, description: "This deployment" }],
  };
}
