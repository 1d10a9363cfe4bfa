/** Reading posted admin forms into the JSON the management API validates (the API is the validator). */

export type FormData = Record<string, string | File | (string | File)[]>;

export function text(form: FormData, name: string): string {
  const value = form[name];
  return typeof value === "string" ? value : "";
}

/** A number, or null for an empty field (the API then applies its default or refuses). */
export function numberOrNull(form: FormData, name: string): number | null {
  const raw = text(form, name).trim();
  if (raw === "") return null;
  const n = Number(raw.replace(",", "."));
  return Number.isFinite(n) ? n : Number.NaN;
}

/** A share typed as percent ("20" or "20 %" → 0.2), or null for an empty field: people type 20, not 0.2. */
export function shareFromPercent(form: FormData, name: string): number | null {
  const raw = text(form, name).replace("%", "").trim();
  if (raw === "") return null;
  const n = Number(raw.replace(",", "."));
  return Number.isFinite(n) ? Math.round(n * 100) / 10_000 : Number.NaN;
}

/** A share (0..1) as the percent the field shows. */
export const percentInput = (share: number | null | undefined) =>
  share == null ? null : Math.round(share * 10_000) / 100;

export const checked = (form: FormData, name: string) => text(form, name) === "1";

/** `<input type=datetime-local>` has no zone; the form labels it UTC and so do we. */
export function utcIso(form: FormData, name: string): string | null {
  const raw = text(form, name).trim();
  if (!raw) return null;
  return `${raw.length === 16 ? `${raw}:00` : raw}Z`;
}

export function toLocalInput(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 16) : "";
}

/** The failure of the action posted to this path, for the button that posted it (ui.tsx ActionButton). */
export const failedHere = (c: { req: { path: string } }, message: string) => ({ action: c.req.path, message });

/** Flash messages travel as a fixed key in the query, never as free text (no reflected content). */
export const FLASH: Record<string, string> = {
  created: "Created.",
  saved: "Saved.",
  deleted: "Deleted.",
  uploaded: "Codes uploaded.",
  refreshed: "Refreshed.",
  replayed: "Delivery queued again.",
};
