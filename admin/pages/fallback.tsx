/**
 * The placement's fallback form on the Rules page. It shows the fallback that is set now and
 * preselects it, so "Set fallback" without a change keeps it; with no fallback yet nothing is
 * preselected and the form cannot be sent until a creative is chosen (a first creative silently
 * preselected would overwrite what every non-matching and holdout visitor sees).
 */
import type { Context } from "hono";
import type { FC } from "hono/jsx";
import type { AdminEnv } from "../api";
import type { Creative } from "../types";

export type Fallbacks = Map<string, number | null>;

/** The current fallback creative of each placement (null: none set; the API answers 404). */
export async function loadFallbacks(c: Context<AdminEnv>, placements: string[]): Promise<Fallbacks> {
  const entries = await Promise.all(
    placements.map(async (placement) => {
      const result = await c.var.api.call<{ creative_id: number }>(
        "GET",
        `/api/v1/placements/${encodeURIComponent(placement)}/fallback`,
      );
      return [placement, result.ok ? result.data.creative_id : null] as const;
    }),
  );
  return new Map(entries);
}

/** `from`: the page the form is on, where the post returns to (a fixed choice, never a posted URL). */
export const FallbackForm: FC<{
  placement: string;
  current: number | null;
  creatives: Creative[];
  from?: "rules" | "placement";
}> = ({ placement, current, creatives, from = "rules" }) => {
  const id = `fallback-${placement}`;
  const currentName = creatives.find((cr) => cr.id === current)?.name;
  return (
    <form method="post" action={`/admin/placements/${encodeURIComponent(placement)}/fallback`} class="actions">
      <input type="hidden" name="from" value={from} />
      <label for={id}>Fallback creative (no match, holdout, faults)</label>
      <select id={id} name="creative_id" required aria-describedby={`${id}-now`}>
        {current == null && (
          <option value="" selected>
            — choose a creative —
          </option>
        )}
        {creatives.map((cr) => (
          <option value={String(cr.id)} selected={cr.id === current}>
            {cr.name}
          </option>
        ))}
      </select>
      <button type="submit" class="secondary">
        Set fallback
      </button>
      <span class="muted" id={`${id}-now`}>
        {current == null
          ? "None set: visitors without a matching rule get an empty 1×1 creative."
          : `Now: ${currentName ?? `creative #${current}`}`}
      </span>
    </form>
  );
};
