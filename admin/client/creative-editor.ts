/**
 * The creative editor's live preview (/admin/assets/creative-editor.js): copies the editor's
 * fields into the hidden preview form, which posts into the sandboxed preview frame, debounced.
 */
const form = document.getElementById("creative-form");
const target = document.getElementById("preview-form");
const frame = document.getElementById("preview-frame");

if (form instanceof HTMLFormElement && target instanceof HTMLFormElement && frame instanceof HTMLIFrameElement) {
  const names = ["format", "template", "width", "height", "landing_url"];
  // The preview's own controls (pool, with/without coupon) sit outside the creative form.
  const extras = ["pool_id", "coupon"];
  type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  const control = (owner: HTMLFormElement, name: string) => owner.elements.namedItem(name) as Control | null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const refresh = () => {
    for (const name of names) {
      const from = control(form, name);
      const to = control(target, name);
      if (from && to) to.value = from.value;
    }
    for (const name of extras) {
      const from = document.getElementById(`f-${name}`) as Control | null;
      const to = control(target, name);
      if (from && to) to.value = from.value;
    }
    const w = Number.parseInt(control(form, "width")?.value ?? "", 10);
    const h = Number.parseInt(control(form, "height")?.value ?? "", 10);
    if (w > 0 && w <= 4000) frame.width = String(w);
    if (h > 0 && h <= 4000) frame.height = String(h);
    target.submit();
  };
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
  for (const name of extras) document.getElementById(`f-${name}`)?.addEventListener("change", refresh);
  refresh();
}
