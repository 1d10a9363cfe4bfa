/** The API document's header and security schemes. */
export const OPENAPI_CONFIG = {
  openapi: "3.1.0",
  info: {
    title: "tagwerk API",
    version: "1.0.0",
    description:
      "Server-to-server and management API of tagwerk. Authenticate with a site's API key " +
      '(`Authorization: Bearer KEY`). Errors are always `{"error": {"code", "message"}}`.',
  },
} as const;
