/**
 * The catalogue API: `POST /api/v1/products` (CSV or NDJSON, upsert by SKU, Merchant Center feed
 * names accepted), `GET /api/v1/products`, `GET`/`DELETE /api/v1/products/:sku`.
 */

import { z } from "@hono/zod-openapi";
import { requireRole } from "../auth/roles";
import { apiError } from "../errors";
import { formatOf, ImportResultSchema, importBody, streamOf } from "../import/routes";
import { errorResponses, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { refuseWhileHeld } from "../shards/moves";
import { deleteProduct, findProduct, importProducts, listProducts } from "./products";

const ProductSchema = z
  .object({
    sku: z.string(),
    name: z.string().nullable(),
    price: z.number().nullable(),
    currency: z.string().nullable(),
    category: z.string().nullable(),
    url: z.string().nullable(),
    image_url: z.string().nullable(),
    available: z.boolean(),
    updated_at: z.number(),
  })
  .openapi("Product");

const SkuParam = z.object({
  sku: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "sku", in: "path" }, example: "R-100" }),
});

export const catalogueRoutes = createRouter();

/** The catalogue's columns are its own (no CRM export names to map): the import result without them. */
const CatalogueImportResultSchema = ImportResultSchema.pick({
  accepted: true,
  rejected: true,
  rejected_count: true,
}).openapi("CatalogueImportResult");

catalogueRoutes.openapi(
  createRoute({
    operationId: "importProducts",
    method: "post",
    path: "/api/v1/products",
    tags: ["Catalogue"],
    summary: "Upsert catalogue products from CSV or NDJSON (Google Merchant Center feed names accepted)",
    description:
      "Columns: sku (or id), name (or title), price (99.00 or 99.00 EUR), currency, category (or product_type), " +
      "url (or link), image_url (or image_link), available (or availability: in stock, out of stock, preorder, " +
      "backorder). The only way products reach creatives' {{product_*}} fields: events name SKUs and change no product.",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: {
      body: importBody(
        "id,title,price,link,image_link,product_type,availability\nR-100,Solitaire ring,890.00 EUR,https://shop.example/p/R-100,https://shop.example/i/R-100.jpg,rings,in stock",
      ),
    },
    responses: {
      200: jsonContent(CatalogueImportResultSchema, "Import result"),
      ...errorResponses(400, 401, 403, 415, 503),
    },
  }),
  async (c) => {
    // A move holds the site's person writes for a few seconds (README.md, "Shards").
    refuseWhileHeld(c.var.site);
    const format = formatOf(c.req.header("Content-Type"));
    return c.json(await importProducts(c.env, c.var.site, streamOf(c.req.raw), format, Date.now()), 200);
  },
);

catalogueRoutes.openapi(
  createRoute({
    operationId: "listProducts",
    method: "get",
    path: "/api/v1/products",
    tags: ["Catalogue"],
    summary: "The catalogue, in SKU order (pages: pass the answer's `next` as `after`)",
    security: [{ apiKey: [] }],
    request: {
      query: z.object({
        limit: z.coerce.number().int().min(1).max(1000).default(100),
        after: z.string().max(100).optional(),
      }),
    },
    responses: {
      200: jsonContent(z.object({ products: z.array(ProductSchema), next: z.string().nullable() }), "Products"),
      ...errorResponses(400, 401),
    },
  }),
  async (c) => {
    const { limit, after } = c.req.valid("query");
    return c.json(await listProducts(c.var.db, c.var.site.id, limit, after), 200);
  },
);

catalogueRoutes.openapi(
  createRoute({
    operationId: "getProduct",
    method: "get",
    path: "/api/v1/products/{sku}",
    tags: ["Catalogue"],
    summary: "One product",
    security: [{ apiKey: [] }],
    request: { params: SkuParam },
    responses: {
      200: jsonContent(ProductSchema, "The product"),
      ...errorResponses(401, 404),
    },
  }),
  async (c) => {
    const product = await findProduct(c.var.db, c.var.site.id, c.req.valid("param").sku);
    if (!product) throw apiError(404, "not_found", "No such product in this site");
    return c.json(product, 200);
  },
);

catalogueRoutes.openapi(
  createRoute({
    operationId: "deleteProduct",
    method: "delete",
    path: "/api/v1/products/{sku}",
    tags: ["Catalogue"],
    summary: "Remove a product from the catalogue",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: { params: SkuParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    // A move holds the site's person writes for a few seconds (README.md, "Shards").
    refuseWhileHeld(c.var.site);
    if (!(await deleteProduct(c.env, c.var.site, c.req.valid("param").sku))) {
      throw apiError(404, "not_found", "No such product in this site");
    }
    return c.body(null, 204);
  },
);
