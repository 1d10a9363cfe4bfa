/**
 * `POST /api/v1/creatives/preview`: renders an unsaved template with sample values through the
 * same compiler and renderer the decision path uses, so the editor shows what visitors will see.
 */
import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { compileTemplate } from "../creatives/compile";
import { CreativeInputSchema, checkedTemplate } from "../creatives/store";
import { TemplateError, type TemplateValues } from "../creatives/template";
import { couponPools } from "../db/schema";
import type { Db } from "../env";
import { apiError } from "../errors";
import { errorResponses, jsonBody, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { MS_PER_DAY, utcDayKey } from "../lib/time";

/** The coupon the preview shows: a pool's own discount and validity, a sample, or none (the no-coupon variant). */
type PreviewCoupon = { discount: string; validDays: number } | null;
const SAMPLE_COUPON: PreviewCoupon = { discount: "10 %", validDays: 30 };

/** Stand-ins for what a real decision fills in; obviously fake so nobody mistakes them for data. */
function sampleValues(landingUrl: string, coupon: PreviewCoupon, now = Date.now()): TemplateValues {
  return {
    coupon: coupon ? "SAMPLE-7K2Q" : "",
    discount: coupon?.discount ?? "",
    expires: coupon ? utcDayKey(now + coupon.validDays * MS_PER_DAY) : "",
    click_url: landingUrl,
    product_name: "Solitaire ring, white gold",
    product_price: "249.00",
    product_sku: "RING-001",
    product_category: "rings",
    product_url: landingUrl,
    product_image: "https://picsum.photos/seed/tagwerk/300/200",
    cluster: "rings",
  };
}

async function renderPreview(input: z.infer<typeof PreviewInput>, coupon: PreviewCoupon, now = Date.now()) {
  // The same checks as saving: the editor shows a refused template's reason before it is saved.
  await checkedTemplate(input.format, input.template);
  try {
    const render = compileTemplate(input.format, input.template);
    return render(sampleValues(input.landing_url ?? "https://shop.example/", coupon, now));
  } catch (err) {
    if (err instanceof TemplateError) throw apiError(400, "invalid_template", `template: ${err.message}`);
    throw err;
  }
}

const PreviewInput = CreativeInputSchema.pick({ format: true, template: true, width: true, height: true })
  .extend({
    landing_url: CreativeInputSchema.shape.landing_url.optional(),
    pool_id: z
      .number()
      .int()
      .positive()
      .optional()
      .openapi({ description: "Show this pool's discount and validity instead of the sample 10 % for 30 days" }),
    coupon: z.boolean().default(true).openapi({ description: "false: the no-coupon variant ({{^coupon}})" }),
  })
  .strict();

/** The pool's discount and validity; 400 naming the field for a pool of another site or none. */
async function poolCoupon(db: Db, siteId: number, poolId: number): Promise<PreviewCoupon> {
  const [pool] = await db
    .select({ discount: couponPools.discount, validDays: couponPools.validDays })
    .from(couponPools)
    .where(and(eq(couponPools.siteId, siteId), eq(couponPools.id, poolId)));
  if (!pool) throw apiError(400, "invalid_reference", `pool_id: no pool ${poolId} in this site`);
  return pool;
}

export const creativePreviewRoutes = createRouter();

creativePreviewRoutes.openapi(
  createRoute({
    operationId: "previewCreative",
    method: "post",
    path: "/api/v1/creatives/preview",
    tags: ["Creatives"],
    summary: "Render an (unsaved) template with sample values",
    security: [{ apiKey: [] }],
    request: { body: jsonBody(PreviewInput) },
    responses: {
      200: jsonContent(
        z.object({
          format: z.enum(["html", "svg", "json"]),
          width: z.number(),
          height: z.number(),
          body: z.union([z.string(), z.record(z.string(), z.unknown())]),
        }),
        "The rendered body at the creative's size",
      ),
      ...errorResponses(400, 401),
    },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const coupon = !input.coupon
      ? null
      : input.pool_id
        ? await poolCoupon(c.var.db, c.var.site.id, input.pool_id)
        : SAMPLE_COUPON;
    const body = await renderPreview(input, coupon);
    return c.json({ format: input.format, width: input.width, height: input.height, body }, 200);
  },
);
