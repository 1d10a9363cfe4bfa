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
.action-error { display: block; max-width: 22rem; margin-top: .25rem; }
.empty { padding: 1.25rem; border: 2px dashed var(--line); border-radius: 8px; color: var(--muted); background: #fff; }
.stat { font-size: 1.6rem; font-weight: 700; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem; border: 1px solid var(--line); }
.badge.on { color: var(--good); border-color: var(--good); }
.badge.off { color: var(--muted); }
pre.snippet { overflow-x: auto; padding: .6rem; background: #f6f8fa; border: 1px solid #d8dee4; border-radius: 6px; }
.snippet-wrap { position: relative; }
.snippet-wrap pre.snippet { padding-right: 5rem; }
.snippet-wrap button.copy { position: absolute; top: .35rem; right: .35rem; padding: .15rem .6rem; font-size: .85rem; }
.field-chips { display: flex; flex-wrap: wrap; gap: .25rem; }
button.chip { padding: .05rem .45rem; font: .8rem ui-monospace, SFMono-Regular, Menlo, monospace; }
ul.problems { margin: .25rem 0 0; padding-left: 1.25rem; max-height: 16rem; overflow-y: auto; }
code.secret { display: block; padding: .6rem; background: #fffbe6; border: 1px solid #e6d27a; border-radius: 6px; word-break: break-all; }
.preview-box { overflow: auto; border: 1px dashed var(--line); padding: .5rem; background: repeating-conic-gradient(#f0f0f0 0 25%, #fff 0 50%) 0 0/16px 16px; }
.preview-box iframe { border: 0; display: block; background: #fff; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; color: var(--muted); }
dl.facts dd { margin: 0; }
tr.chosen td { background: #eef8f1; }
.kpis { grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); }
.kpi .stat { font-size: 1.35rem; }
.small { font-size: .8rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 1rem; }
.chart-card { margin: 0; }
.chart { min-height: 220px; }
ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: .5rem 0; padding: 0; font-size: .9rem; }
ul.legend output { font-weight: 600; font-variant-numeric: tabular-nums; }
ul.legend .legend-day { width: 100%; }
.interval-bar { margin-top: .25rem; }
.sparkline { display: inline-block; width: 100px; height: 28px; vertical-align: middle; }
.interval-bar svg { width: 100%; max-width: 200px; height: auto; }
.period { margin: 0 0 1rem; }
.period select { width: auto; }
@media (max-width: 640px) { .charts { grid-template-columns: 1fr; } }
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
    // data-base: the BASE_PATH prefix (worker/lib/base-path.ts) when tagwerk is served under one.
    fetch((document.documentElement.dataset.base || "") + "/api/v1/segments/preview", {
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
  // Field chips: insert the field at the cursor, then count again.
  Array.prototype.forEach.call(document.querySelectorAll("button[data-insert]"), function (chip) {
    chip.addEventListener("click", function () {
      var text = chip.getAttribute("data-insert");
      var start = input.selectionStart || 0, end = input.selectionEnd || 0, before = input.value.slice(0, start);
      var pad = before && !/s$/.test(before) ? " " : "";
      input.value = before + pad + text + input.value.slice(end);
      input.focus();
      input.selectionStart = input.selectionEnd = start + pad.length + text.length;
      clearTimeout(timer); timer = setTimeout(preview, 50);
    });
  });
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
  // The preview's own controls (pool, with/without coupon) sit outside the creative form.
  var extras = ["pool_id", "coupon"];
  function refresh() {
    names.forEach(function (name) {
      var from = form.elements.namedItem(name);
      var to = target.elements.namedItem(name);
      if (from && to) to.value = from.value;
    });
    extras.forEach(function (name) {
      var from = document.getElementById("f-" + name);
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
  extras.forEach(function (name) {
    var control = document.getElementById("f-" + name);
    if (control) control.addEventListener("change", refresh);
  });
  refresh();
})();`;

/**
 * Import forms with progress: sends the chosen file straight to the API import (same origin, the
 * session cookie, our Origin) with XMLHttpRequest — fetch() reports no upload progress — and shows
 * the per-line report. Without script the form posts to the admin page, which forwards the file.
 */
export const IMPORTS_JS = `(function () {
  function typeOf(kind, name) {
    if (/\\.(ndjson|jsonl)$/i.test(name)) return "application/x-ndjson";
    if (kind === "codes" && /\\.txt$/i.test(name)) return "text/plain";
    return "text/csv";
  }
  function el(tag, text) { var e = document.createElement(tag); if (text != null) e.textContent = text; return e; }
  function report(kind, body) {
    var box = el("div"); box.className = "import-report"; box.id = "report-" + kind; box.setAttribute("role", "status");
    var refused = body.rejected_count != null ? body.rejected_count : body.rejected.length;
    var p = el("p", body.accepted + " accepted, " + refused + " refused" +
      (refused > body.rejected.length ? " (the first " + body.rejected.length + " listed)." : "."));
    box.appendChild(p);
    if (body.rejected.length) {
      var table = el("table"), head = el("tr"); head.appendChild(el("th", "Line")); head.appendChild(el("th", "Why it was refused"));
      var thead = el("thead"); thead.appendChild(head); table.appendChild(thead);
      var tbody = el("tbody");
      body.rejected.forEach(function (r) { var tr = el("tr"); var td = el("td", String(r.line)); td.className = "num"; tr.appendChild(td); tr.appendChild(el("td", r.reason)); tbody.appendChild(tr); });
      table.appendChild(tbody);
      var wrap = el("div"); wrap.className = "table-wrap"; wrap.appendChild(table); box.appendChild(wrap);
    }
    return box;
  }
  Array.prototype.forEach.call(document.querySelectorAll("form.import-form"), function (form) {
    form.addEventListener("submit", function (event) {
      var input = form.elements.namedItem("file");
      var file = input && input.files && input.files[0];
      if (!file) return;
      var kind = form.getAttribute("data-kind");
      var api = form.getAttribute("data-api");
      var pool = form.elements.namedItem("pool");
      if (api.indexOf("{pool}") >= 0) { if (!pool || !pool.value) return; api = api.replace("{pool}", encodeURIComponent(pool.value)); }
      event.preventDefault();
      var bar = form.querySelector(".upload-progress"), status = form.querySelector(".upload-status"), out = form.querySelector(".upload-result");
      var button = form.querySelector("button[type=submit]");
      bar.hidden = false; bar.value = 0; status.textContent = "Uploading…"; out.textContent = ""; button.disabled = true;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", api);
      xhr.setRequestHeader("Content-Type", typeOf(kind, file.name));
      xhr.upload.onprogress = function (e) { if (e.lengthComputable) { bar.value = Math.round((e.loaded / e.total) * 100); status.textContent = bar.value + " % sent"; } };
      xhr.upload.onload = function () { bar.value = 100; status.textContent = "Sent; checking every line…"; };
      xhr.onload = function () {
        button.disabled = false; bar.hidden = true;
        var body; try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        if (xhr.status === 200 && body) { status.textContent = "Done."; out.appendChild(report(kind, body)); }
        else { status.textContent = ""; var err = el("span", body && body.error ? body.error.message : "HTTP " + xhr.status); err.className = "field-error"; err.setAttribute("role", "alert"); out.appendChild(err); }
      };
      xhr.onerror = function () { button.disabled = false; bar.hidden = true; status.textContent = "The upload failed; check the connection and try again."; };
      xhr.send(file);
    });
  });
})();`;

/**
 * Asks before a destructive post with the browser's confirm() and marks the post as confirmed, so
 * the server's confirmation page (admin/confirm.tsx, the no-script path) is skipped.
 */
export const CONFIRM_JS = `
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
  var note = form.dataset.note !== undefined ? form.dataset.note : " This cannot be undone.";
  if (!window.confirm(form.dataset.confirm + note)) { event.preventDefault(); return; }
  var input = form.querySelector('input[name="confirmed"]');
  if (!input) { input = document.createElement("input"); input.type = "hidden"; input.name = "confirmed"; form.appendChild(input); }
  input.value = "1";
});
// Copy buttons (ui.tsx CopyButton): copy the text of the element they name, and say so.
document.addEventListener("click", function (event) {
  var button = event.target instanceof Element ? event.target.closest("button[data-copy]") : null;
  if (!button) return;
  var source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  var value = "value" in source && typeof source.value === "string" ? source.value : source.textContent;
  navigator.clipboard.writeText(value.trim()).then(function () {
    var label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  });
});
`;
