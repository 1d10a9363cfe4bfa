/** Creatives of a site: validated (template, landing URL) on every write; each write bumps the rules version. */
import { z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import { creatives, placementFallbacks, rules } from "../db/schema";
import type { Db } from "../env";
import { apiError } from "../errors";
import { bumpRulesVersion } from "../sites/store";
import { compileTemplate, type JsonFields, templateFromStored } from "./compile";
import { checkCreativeMarkup } from "./markup-policy";
import { safeUrl, TEMPLATE_VARIABLES, TemplateError } from "./template";

const httpUrl = z
  .string()
  .max(2000)
  .refine((value) => safeUrl(value) !== null, "must be an absolute http(s) URL");

const JsonFieldsSchema = z.record(z.string(), z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]));

export const CreativeInputSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    format: z.enum(["html", "svg", "json"]),
    template: z.union([z.string().min(1).max(100_000), JsonFieldsSchema]).openapi({
      description: `HTML or SVG markup, or for \`json\` an object of fields. Variables: ${TEMPLATE_VARIABLES.map((v) => `{{${v}}}`).join(", ")}; sections {{#coupon}}…{{/coupon}} (shown when a code was assigned) and {{^coupon}}…{{/coupon}} (the no-coupon variant). Values are escaped for where they stand; a variable in script, style, event-handler attributes or unquoted attributes is refused. Markup is checked against an allow-list of elements and attributes: no script, event handlers, foreignObject, iframes, forms or meta refresh; URLs (href, src, xlink:href, poster…) must be absolute http(s) URLs or #fragments.`,
      example: '<a href="{{click_url}}">Your code: {{coupon}}</a>',
    }),
    width: z.number().int().min(1).max(4000),
    height: z.number().int().min(1).max(4000),
    landing_url: httpUrl.openapi({ example: "https://shop.example/earrings" }),
  })
  .strict();

export const CreativeSchema = CreativeInputSchema.extend({
  id: z.number(),
  created_at: z.number(),
  updated_at: z.number(),
}).openapi("Creative");

type CreativeInput = z.infer<typeof CreativeInputSchema>;
type CreativeRow = typeof creatives.$inferSelect;

export function creativeToJson(row: CreativeRow): z.infer<typeof CreativeSchema> {
  return {
    id: row.id,
    name: row.name,
    format: row.format,
    template: templateFromStored(row.format, row.template),
    width: row.width,
    height: row.height,
    landing_url: row.landingUrl,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

/**
 * Validates a template (variables, their positions, and for markup the allow-list of
 * markup-policy.ts) and returns what is stored; a refusal is a 400 naming the problem.
 */
export async function checkedTemplate(
  format: CreativeInput["format"],
  template: string | JsonFields,
  markupPolicy: MarkupPolicy = checkCreativeMarkup,
): Promise<string> {
  try {
    compileTemplate(format, template);
    if (format !== "json") await markupPolicy(format, template as string);
  } catch (err) {
    if (err instanceof TemplateError) throw apiError(400, "invalid_template", `template: ${err.message}`);
    throw err;
  }
  return format === "json" ? JSON.stringify(template) : (template as string);
}

export async function listCreatives(db: Db, siteId: number) {
  return db.select().from(creatives).where(eq(creatives.siteId, siteId)).orderBy(creatives.id);
}

export async function getCreative(db: Db, siteId: number, id: number) {
  const [row] = await db
    .select()
    .from(creatives)
    .where(and(eq(creatives.siteId, siteId), eq(creatives.id, id)));
  if (!row) throw apiError(404, "not_found", `No creative ${id} in this site`);
  return row;
}

/**
 * The markup allow-list runs on HTMLRewriter, which only the Workers runtime has. The one caller
 * outside it is the demo seed in Node (scripts/seed/campaigns.ts), whose templates are the
 * project's own constants; test/decide/scenarios.test.ts seeds the same ones through the real
 * policy in workerd.
 */
type MarkupPolicy = (format: "html" | "svg", template: string) => Promise<void>;

export async function createCreative(
  db: Db,
  siteId: number,
  input: CreativeInput,
  now = Date.now(),
  markupPolicy: MarkupPolicy = checkCreativeMarkup,
) {
  const [row] = await db
    .insert(creatives)
    .values({
      siteId,
      name: input.name,
      format: input.format,
      template: await checkedTemplate(input.format, input.template, markupPolicy),
      width: input.width,
      height: input.height,
      landingUrl: input.landing_url,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  await bumpRulesVersion(db, siteId);
  return row;
}

export async function updateCreative(
  db: Db,
  siteId: number,
  id: number,
  patch: Partial<CreativeInput>,
  now = Date.now(),
) {
  const existing = await getCreative(db, siteId, id);
  const format = patch.format ?? existing.format;
  const template =
    patch.template ?? (patch.format ? undefined : templateFromStored(existing.format, existing.template));
  if (template === undefined) throw apiError(400, "validation_failed", "template: required when the format changes");
  const [row] = await db
    .update(creatives)
    .set({
      name: patch.name,
      format,
      template: await checkedTemplate(format, template),
      width: patch.width,
      height: patch.height,
      landingUrl: patch.landing_url,
      updatedAt: now,
    })
    .where(and(eq(creatives.siteId, siteId), eq(creatives.id, id)))
    .returning();
  await bumpRulesVersion(db, siteId);
  return row;
}

export async function deleteCreative(db: Db, siteId: number, id: number) {
  await getCreative(db, siteId, id);
  const [use] = await db
    .select({ count: sql<number>`count(*)` })
    .from(rules)
    .where(and(eq(rules.siteId, siteId), eq(rules.creativeId, id)));
  const [fallback] = await db
    .select({ count: sql<number>`count(*)` })
    .from(placementFallbacks)
    .where(and(eq(placementFallbacks.siteId, siteId), eq(placementFallbacks.creativeId, id)));
  if ((use?.count ?? 0) + (fallback?.count ?? 0) > 0) {
    throw apiError(409, "in_use", `Creative ${id} is used by a rule or a placement fallback`);
  }
  await db.delete(creatives).where(and(eq(creatives.siteId, siteId), eq(creatives.id, id)));
  await bumpRulesVersion(db, siteId);
}
