/**
 * The body of every `PATCH` in the API, made from the resource's create schema (README.md, "API reference":
 * merge semantics — only the fields sent change; `null` clears a field that may be empty; null for a
 * field that may not be empty is a 400).
 *
 * Why not `schema.partial()`: in zod 4 a `.default()` still fires inside `.optional()`, so a
 * partial of a create schema with defaults fills every unsent field with its default, and the
 * update then writes them — `{"name": …}` reset a rule's segment to null (shown to everyone),
 * its priority to 100 and its pool, holdout, cap and schedule to null. Here each field loses its
 * default and becomes optional; nullability stays exactly as the create schema says.
 */
import { z } from "@hono/zod-openapi";

type WithoutDefault<T> = T extends z.ZodDefault<infer Inner> ? Inner : T;
type PatchShape<S extends z.ZodRawShape> = { [K in keyof S]: z.ZodOptional<WithoutDefault<S[K]>> };

function withoutDefault(field: z.ZodType): z.ZodType {
  return field instanceof z.ZodDefault ? withoutDefault(field.unwrap() as z.ZodType) : field;
}

export function patchSchemaOf<S extends z.ZodRawShape>(schema: z.ZodObject<S>): z.ZodObject<PatchShape<S>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, field] of Object.entries(schema.shape)) {
    const inner = withoutDefault(field as z.ZodType);
    // Keep the field's description for the API document, which sat on the default's wrapper.
    const meta = (field as z.ZodType).meta();
    shape[name] = (meta ? inner.meta(meta) : inner).optional();
  }
  return z.object(shape).strict() as unknown as z.ZodObject<PatchShape<S>>;
}
