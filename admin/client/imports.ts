/**
 * Import forms with progress (/admin/assets/imports.js): sends the chosen file straight to the API
 * import (same origin, the session cookie, our Origin) with XMLHttpRequest — fetch() reports no
 * upload progress — and shows the per-line report, every problem of a refused line. Without
 * script the form posts to the admin page, which forwards the file (admin/pages/imports.tsx).
 */
import { contentTypeOf, type ImportKind } from "./file-type";

type Rejection = { line: number; reason: string; problems?: string[] };
type Report = { accepted: number; rejected: Rejection[]; rejected_count?: number };

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function reportView(kind: string, body: Report): HTMLElement {
  const box = el("div", undefined, "import-report");
  box.id = `report-${kind}`;
  box.setAttribute("role", "status");
  const refused = body.rejected_count ?? body.rejected.length;
  const listed = refused > body.rejected.length ? ` (the first ${body.rejected.length} listed).` : ".";
  box.appendChild(el("p", `${body.accepted} accepted, ${refused} refused${listed}`));
  if (body.rejected.length === 0) return box;
  const table = el("table");
  const head = el("tr");
  head.append(el("th", "Line", "num"), el("th", "Why it was refused"));
  table.appendChild(el("thead")).appendChild(head);
  const rows = table.appendChild(el("tbody"));
  for (const r of body.rejected) {
    const tr = rows.appendChild(el("tr"));
    tr.appendChild(el("td", String(r.line), "num"));
    const list = tr.appendChild(el("td")).appendChild(el("ul", undefined, "line-problems"));
    for (const problem of r.problems ?? [r.reason]) list.appendChild(el("li", problem));
  }
  box.appendChild(el("div", undefined, "table-wrap")).appendChild(table);
  return box;
}

for (const form of document.querySelectorAll<HTMLFormElement>("form.import-form")) {
  form.addEventListener("submit", (event) => {
    const input = form.elements.namedItem("file") as HTMLInputElement | null;
    const file = input?.files?.[0];
    if (!file) return;
    const kind = (form.dataset.kind ?? "customers") as ImportKind;
    let api = form.dataset.api ?? "";
    const pool = form.elements.namedItem("pool") as HTMLSelectElement | null;
    if (api.includes("{pool}")) {
      if (!pool?.value) return;
      api = api.replace("{pool}", encodeURIComponent(pool.value));
    }
    event.preventDefault();
    const bar = form.querySelector<HTMLProgressElement>(".upload-progress");
    const status = form.querySelector<HTMLElement>(".upload-status");
    const out = form.querySelector<HTMLElement>(".upload-result");
    const button = form.querySelector<HTMLButtonElement>("button[type=submit]");
    if (!bar || !status || !out || !button) return;
    bar.hidden = false;
    bar.value = 0;
    status.textContent = "Uploading…";
    out.textContent = "";
    button.disabled = true;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", api);
    xhr.setRequestHeader("Content-Type", contentTypeOf(kind, file.name));
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      bar.value = Math.round((e.loaded / e.total) * 100);
      status.textContent = `${bar.value} % sent`;
    };
    xhr.upload.onload = () => {
      bar.value = 100;
      status.textContent = "Sent; checking every line…";
    };
    xhr.onload = () => {
      button.disabled = false;
      bar.hidden = true;
      let body: (Report & { error?: { message: string } }) | null = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status === 200 && body) {
        status.textContent = "Done.";
        out.appendChild(reportView(kind, body));
        return;
      }
      status.textContent = "";
      const error = el("span", body?.error ? body.error.message : `HTTP ${xhr.status}`, "field-error");
      error.setAttribute("role", "alert");
      out.appendChild(error);
    };
    xhr.onerror = () => {
      button.disabled = false;
      bar.hidden = true;
      status.textContent = "The upload failed; check the connection and try again.";
    };
    xhr.send(file);
  });
}
