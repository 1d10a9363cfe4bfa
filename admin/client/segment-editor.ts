/**
 * The segment editor (/admin/assets/segment-editor.js): the live count and sample profiles from
 * POST /api/v1/segments/preview while typing (debounced), the error's position marked in the
 * expression, field autocomplete at the cursor (a listbox: arrows, Enter or Tab, Escape) and the
 * field chips. Every sample profile links to explain. Without the script, saving shows the same
 * error with the same mark, and a saved segment's page shows its count and sample.
 */
import { completionsOf, errorPosition, explainHref, markedParts, type SampleProfile } from "./segment-editing";

type Preview = { visitors: number; customers: number; sample: SampleProfile[] };

const input = document.getElementById("expression");
const out = document.getElementById("segment-count");
const err = document.getElementById("expression-error");
const marked = document.getElementById("expression-marked");
const samples = document.getElementById("segment-sample");
const suggestions = document.getElementById("field-suggestions");

if (input instanceof HTMLTextAreaElement && out && err && marked && samples && suggestions) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let seq = 0;

  const showMark = (position: number | null) => {
    marked.textContent = "";
    marked.hidden = position === null;
    if (position === null) return;
    const parts = markedParts(input.value, position);
    const mark = document.createElement("mark");
    // An error at the end marks the place where something is missing.
    mark.textContent = parts.token || " ";
    marked.append(parts.before, mark, parts.after);
  };

  const cell = (row: HTMLTableRowElement, text: string | number | null, num = false) => {
    const td = row.insertCell();
    td.textContent = text === null ? "—" : String(text);
    if (num) td.className = "num";
    return td;
  };

  const showSamples = (sample: SampleProfile[]) => {
    const body = samples.querySelector("tbody");
    if (!body) return;
    body.textContent = "";
    samples.hidden = sample.length === 0;
    for (const profile of sample) {
      const row = body.insertRow();
      cell(row, profile.cookie_id ? `${profile.cookie_id.slice(0, 8)}…` : null);
      cell(row, profile.customer_id);
      cell(row, profile.visits, true);
      cell(row, profile.cart_items, true);
      cell(row, profile.orders, true);
      const link = document.createElement("a");
      link.href = explainHref(profile, samples.dataset.placement);
      link.textContent = "Explain";
      cell(row, null).replaceChildren(link);
    }
  };

  const show = (text: string, isError: boolean, position: number | null = null) => {
    err.textContent = isError ? text : "";
    out.textContent = isError ? "" : text;
    input.setAttribute("aria-invalid", isError ? "true" : "false");
    showMark(isError ? position : null);
  };

  const preview = () => {
    const expression = input.value.trim();
    if (!expression) {
      show("Type an expression to see how many visitors match.", false);
      showSamples([]);
      return;
    }
    const mine = ++seq;
    out.textContent = "Counting…";
    // data-base: the BASE_PATH prefix (worker/lib/base-path.ts) when tagwerk is served under one.
    fetch(`${document.documentElement.dataset.base ?? ""}/api/v1/segments/preview`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ expression: input.value }),
    })
      .then(async (res) => ({ status: res.status, body: await res.json() }))
      .then((r: { status: number; body: Preview & { error?: { message: string } } }) => {
        if (mine !== seq) return;
        if (r.status === 200) {
          show(`${r.body.visitors} visitors and ${r.body.customers} customers match`, false);
          showSamples(r.body.sample);
        } else {
          const message = r.body?.error?.message ?? `HTTP ${r.status}`;
          show(message, true, errorPosition(message));
          showSamples([]);
        }
      })
      .catch(() => {
        if (mine === seq) show("Could not reach the preview; the count is shown after saving.", true);
      });
  };

  const recount = (delay: number) => {
    clearTimeout(timer);
    timer = setTimeout(preview, delay);
  };

  /** Puts `text` in place of [start, end) and the cursor after it, then counts again. */
  const insert = (text: string, start: number, end: number) => {
    input.value = input.value.slice(0, start) + text + input.value.slice(end);
    input.focus();
    input.selectionStart = input.selectionEnd = start + text.length;
    recount(50);
  };

  // Autocomplete: the word before the cursor, completed from the parser's field list.
  let options: string[] = [];
  let active = 0;
  const wordBeforeCursor = () => /[A-Za-z_][\w.]*$/.exec(input.value.slice(0, input.selectionStart ?? 0))?.[0] ?? "";
  const closeSuggestions = () => {
    options = [];
    suggestions.hidden = true;
    suggestions.textContent = "";
    input.removeAttribute("aria-activedescendant");
  };
  const accept = (choice: string) => {
    const end = input.selectionStart ?? 0;
    insert(choice, end - wordBeforeCursor().length, end);
    closeSuggestions();
  };
  const renderSuggestions = () => {
    suggestions.textContent = "";
    options.forEach((option, i) => {
      const item = document.createElement("div");
      item.id = `field-suggestion-${i}`;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", i === active ? "true" : "false");
      item.textContent = option;
      // mousedown, not click: the textarea keeps its focus and cursor.
      item.addEventListener("mousedown", (event) => {
        event.preventDefault();
        accept(option);
      });
      suggestions.appendChild(item);
    });
    suggestions.hidden = options.length === 0;
    if (options.length > 0) input.setAttribute("aria-activedescendant", `field-suggestion-${active}`);
  };
  const suggest = () => {
    options = completionsOf(wordBeforeCursor());
    active = 0;
    renderSuggestions();
  };

  input.addEventListener("input", () => {
    suggest();
    recount(350);
  });
  input.addEventListener("keydown", (event) => {
    if (options.length === 0) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      active = (active + (event.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
      renderSuggestions();
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      accept(options[active]);
    } else if (event.key === "Escape") {
      closeSuggestions();
    }
  });
  input.addEventListener("blur", closeSuggestions);

  // Field chips: insert the field at the cursor, a space before it when needed.
  for (const chip of document.querySelectorAll<HTMLButtonElement>("button[data-insert]")) {
    chip.addEventListener("click", () => {
      const text = chip.dataset.insert ?? "";
      const start = input.selectionStart ?? 0;
      const before = input.value.slice(0, start);
      insert((before && !/\s$/.test(before) ? " " : "") + text, start, input.selectionEnd ?? start);
    });
  }

  // The server already rendered the count of a saved segment; count only what it did not.
  if (!out.textContent?.trim() && !err.textContent?.trim()) preview();
}
