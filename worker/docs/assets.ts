/**
 * `/docs`' stylesheet and script, served from the Worker (no CDN) so that the page's content
 * security policy allows scripts and styles from this origin only. The script adds the search
 * filter and the "try it" forms; the reference reads the same without it.
 */
export const DOCS_CSS = `body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:0 auto;padding:1rem;color:#222}
code{background:#f3f3f3;padding:0 .2em}h2{border-bottom:1px solid #ddd;margin-top:2rem}
.op{border:1px solid #e3e3e3;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.m{display:inline-block;min-width:4.5em;font-weight:700;text-transform:uppercase}
.get{color:#0a6}.post{color:#06c}.patch,.put{color:#a60}.delete{color:#c22}
table{border-collapse:collapse;width:100%}td{border-top:1px solid #eee;padding:.2rem .5rem;vertical-align:top}
.muted{color:#777}nav a{margin-right:.8rem}[hidden]{display:none!important}
.tools{position:sticky;top:0;background:#fff;padding:.5rem 0;border-bottom:1px solid #ddd;display:flex;gap:1rem;flex-wrap:wrap}
.tools label{display:flex;flex-direction:column;font-size:.85rem;font-weight:600}
.tools input{font:inherit;padding:.3rem .4rem;min-width:18rem}
.try label{display:block;margin:.3rem 0;font-size:.9rem}.try input,.try textarea{font:inherit;width:100%;padding:.25rem .4rem}
.try textarea{font-family:ui-monospace,monospace;min-height:6rem}
.try pre{background:#f7f7f7;padding:.5rem;overflow:auto;max-height:24rem;white-space:pre-wrap}
`;

export const DOCS_JS = `
(function () {
  var search = document.getElementById("docs-search");
  var count = document.getElementById("docs-count");
  function filter() {
    var words = search.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var shown = 0;
    document.querySelectorAll(".op").forEach(function (op) {
      var text = op.getAttribute("data-search");
      var match = words.every(function (w) { return text.indexOf(w) !== -1; });
      op.hidden = !match;
      if (match) shown++;
    });
    document.querySelectorAll("section.tag").forEach(function (section) {
      section.hidden = !section.querySelector(".op:not([hidden])");
    });
    count.textContent = shown + " operations";
  }
  search.addEventListener("input", filter);
  filter();

  document.querySelectorAll("form.try").forEach(function (form) {
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var path = form.getAttribute("data-path");
      var query = new URLSearchParams();
      form.querySelectorAll("[data-in]").forEach(function (input) {
        if (input.value === "") return;
        var where = input.getAttribute("data-in");
        if (where === "path") path = path.replace("{" + input.name + "}", encodeURIComponent(input.value));
        else if (where === "query") query.append(input.name, input.value);
      });
      var headers = {};
      var key = document.getElementById("docs-key").value.trim();
      if (key) headers.Authorization = "Bearer " + key;
      var body = form.querySelector("textarea[name=body]");
      var init = { method: form.getAttribute("data-method").toUpperCase(), headers: headers };
      if (body && body.value.trim()) { init.body = body.value; headers["Content-Type"] = form.getAttribute("data-type"); }
      var out = form.querySelector("output");
      out.textContent = "…";
      var qs = query.toString();
      fetch(path + (qs ? "?" + qs : ""), init).then(function (res) {
        return res.text().then(function (text) {
          var shown = text;
          try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) {}
          out.textContent = res.status + " " + res.statusText + "\\n\\n" + shown;
        });
      }, function (error) { out.textContent = "Request failed: " + error; });
    });
  });
})();
`;
