/**
 * The admin UI's stylesheet and its two small client scripts, served as files from
 * /admin/assets/ so that the content security policy can forbid inline script and style.
 * Kept as strings here: three small files do not warrant a second build step (the tag has one).
 * The scripts only add live feedback; every form works without them.
 */

export const ADMIN_CSS = `
:root { --ink: #1d2330; --muted: #5b6475; --line: #d9dde5; --bg: #f6f7f9; --accent: #2a5bd7; --bad: #b3261e; --good: #1b7f3b; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg); }
a { color: var(--accent); }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding: .6rem 1rem; background: #fff; border-bottom: 1px solid var(--line); }
header.top .brand { font-weight: 700; text-decoration: none; color: var(--ink); }
header.top .who { margin-left: auto; color: var(--muted); font-size: .9rem; display: flex; gap: .5rem; align-items: center; }
nav.main ul { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem; margin: 0; padding: 0; }
nav.main a { display: block; padding: .35rem .6rem; border-radius: 6px; text-decoration: none; color: var(--ink); }
nav.main a[aria-current="page"] { background: var(--accent); color: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
section.card, form.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1rem; margin: 0 0 1rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: .75rem 1rem; }
.field { display: flex; flex-direction: column; gap: .25rem; }
.field label, fieldset legend { font-weight: 600; font-size: .9rem; }
.field .hint { color: var(--muted); font-size: .85rem; }
.check { display: flex; gap: .5rem; align-items: center; }
input, select, textarea, button { font: inherit; }
input[type=text], input[type=email], input[type=password], input[type=number], input[type=url], input[type=date], input[type=datetime-local], select, textarea {
  width: 100%; padding: .45rem .55rem; border: 1px solid #b9c0cc; border-radius: 6px; background: #fff; }
textarea { min-height: 7rem; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9rem; }
:focus-visible { outline: 3px solid #8fb0ff; outline-offset: 1px; }
button, .button { display: inline-block; padding: .45rem .9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.danger { background: #fff; color: var(--bad); border-color: var(--bad); }
button:disabled { opacity: .5; cursor: not-allowed; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin-top: .75rem; }
.inline { display: inline; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .85rem; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.alert { padding: .6rem .8rem; border-radius: 6px; margin: 0 0 1rem; border: 1px solid; }
.alert.error { color: var(--bad); border-color: var(--bad); background: #fdf1f0; }
.alert.ok { color: var(--good); border-color: var(--good); background: #eef8f1; }
.field-error { color: var(--bad); font-size: .9rem; white-space: pre-wrap; }
.empty { padding: 1.25rem; border: 2px dashed var(--line); border-radius: 8px; color: var(--muted); background: #fff; }
.stat { font-size: 1.6rem; font-weight: 700; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem; border: 1px solid var(--line); }
.badge.on { color: var(--good); border-color: var(--good); }
.badge.off { color: var(--muted); }
code.secret { display: block; padding: .6rem; background: #fffbe6; border: 1px solid #e6d27a; border-radius: 6px; word-break: break-all; }
.preview-box { overflow: auto; border: 1px dashed var(--line); padding: .5rem; background: repeating-conic-gradient(#f0f0f0 0 25%, #fff 0 50%) 0 0/16px 16px; }
.preview-box iframe { border: 0; display: block; background: #fff; }
svg.chart { width: 100%; height: auto; max-width: 720px; }
svg.chart text { font-size: 11px; fill: var(--muted); }
.login { max-width: 380px; margin: 10vh auto; }
@media (max-width: 640px) {
  main { padding: .6rem; }
  header.top .who { margin-left: 0; width: 100%; }
  th, td { padding: .35rem .4rem; font-size: .9rem; }
}
`;

/** Live count for the segment editor: POST /api/v1/segments/preview, debounced. */
export const SEGMENT_EDITOR_JS = `(function () {
  var input = document.getElementById("expression");
  var out = document.getElementById("segment-count");
  var err = document.getElementById("expression-error");
  if (!input || !out || !err) return;
  var timer, seq = 0;
  function show(text, isError) {
    err.textContent = isError ? text : "";
    out.textContent = isError ? "" : text;
    input.setAttribute("aria-invalid", isError ? "true" : "false");
  }
  function marker(message, position) {
    if (typeof position !== "number") return message;
    var line = input.value.replace(/\\n/g, " ");
    return message + "\\n" + line + "\\n" + " ".repeat(Math.max(0, position)) + "^";
  }
  function preview() {
    var expression = input.value.trim();
    if (!expression) { show("Type an expression to see how many visitors match.", false); return; }
    var mine = ++seq;
    out.textContent = "Counting…";
    fetch("/api/v1/segments/preview", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ expression: expression })
    }).then(function (res) {
      return res.json().then(function (body) { return { status: res.status, body: body }; });
    }).then(function (r) {
      if (mine !== seq) return;
      if (r.status === 200) {
        show(r.body.visitors + " visitors and " + r.body.customers + " customers match", false);
      } else {
        var e = r.body && r.body.error ? r.body.error : { message: "HTTP " + r.status };
        show(marker(e.message, e.position), true);
      }
    }).catch(function () { if (mine === seq) show("Could not reach the preview; the count is shown after saving.", true); });
  }
  input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(preview, 350); });
  // The server already rendered the count of a saved segment; count only what it did not.
  if (!out.textContent.trim() && !err.textContent.trim()) preview();
})();`;

/** Live creative preview: copies the editor's fields into the hidden preview form, debounced. */
export const CREATIVE_EDITOR_JS = `(function () {
  var form = document.getElementById("creative-form");
  var target = document.getElementById("preview-form");
  var frame = document.getElementById("preview-frame");
  if (!form || !target || !frame) return;
  var timer;
  var names = ["format", "template", "width", "height", "landing_url"];
  function refresh() {
    names.forEach(function (name) {
      var from = form.elements.namedItem(name);
      var to = target.elements.namedItem(name);
      if (from && to) to.value = from.value;
    });
    var w = parseInt(form.elements.namedItem("width").value, 10);
    var h = parseInt(form.elements.namedItem("height").value, 10);
    if (w > 0 && w <= 4000) frame.width = String(w);
    if (h > 0 && h <= 4000) frame.height = String(h);
    target.submit();
  }
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 400); });
  refresh();
})();`;
