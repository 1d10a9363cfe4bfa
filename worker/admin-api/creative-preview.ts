/**
 * `POST /api/v1/creatives/preview`: renders an unsaved template with sample values through the
 * same compiler and renderer the decision path uses, so the editor shows what visitors will see.
 */
import { z } from "@hono/zod-openapi";
import { compileTemplate } from "../creatives/compile";
import { CreativeInputSchema, checkedTemplate } from "../creatives/store";
import { TemplateError, type TemplateValues } from "../creatives/template";
import { apiError } from "../errors";
import { errorResponses } from "../lib/openapi-shared";
import { createRoute } from "../lib/route";
import { createRouter } from "../lib/router";
import { MS_PER_DAY, utcDayKey } from "../lib/time";

/** Stand-ins for what a real decision fills in; obviously fake so nobody mistakes them for data. */
function sampleValues(landingUrl: string, now = Date.now()): TemplateValues {
  return {
    coupon: "SAMPLE-7K2Q",
    discount: "10 %",
    expires: utcDayKey(now + 30 * MS_PER_DAY),
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

async function renderPreview(input: z.infer<typeof PreviewInput>, now = Date.now()) {
  // The same checks as saving: the editor shows a refused template's reason before it is saved.
  await checkedTemplate(input.format, input.template);
  try {
    const render = compileTemplate(input.format, input.template);
    return render(sampleValues(input.landing_url ?? "https://shop.example/", now));
  } catch (err) {
    if (err instanceof TemplateError) throw apiError(400, "invalid_template", `template: ${err.message}`);
    throw err;
  }
}

const PreviewInput = CreativeInputSchema.pick({ format: true, template: true, width: true, height: true })
  .extend({ landing_url: CreativeInputSchema.shape.landing_url.optional() })
  .strict();

export const creativePreviewRoutes = createRouter();

creativePreviewRoutes.openapi(
  createRoute({
    operationId: "previewCreative",
    method: "post",
    path: "/api/v1/creatives/preview",
    tags: ["Creatives"],
    summary: "Render an (unsaved) template with sample values",
    security: [{ apiKey: [] }],
    request: { body: { required: true, content: { "application/json": { schema: PreviewInput } } } },
    responses: {
      200: {
        description: "The rendered body at the creative's size",
        content: {
          "application/json": {
            schema: z.object({
              format: z.enum(["html", "svg", "json"]),
              width: z.number(),
              height: z.number(),
              body: z.union([z.string(), z.record(z.string(), z.unknown())]),
            }),
          },
        },
      },
      ...errorResponses(400, 401),
    },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const body = await renderPreview(input);
    return c.json({ format: input.format, width: input.width, height: input.height, body }, 200);
  },
);
