/**
 * On every admin page (/admin/assets/confirm.js). Asks before a destructive post with the
 * browser's confirm() and marks the post as confirmed, so the server's confirmation page
 * (admin/confirm.tsx, the no-script path) is skipped; and runs the copy buttons (ui.tsx CopyButton).
 */
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
  const note = form.dataset.note !== undefined ? form.dataset.note : " This cannot be undone.";
  if (!window.confirm(form.dataset.confirm + note)) {
    event.preventDefault();
    return;
  }
  let input = form.querySelector<HTMLInputElement>('input[name="confirmed"]');
  if (!input) {
    input = document.createElement("input");
    input.type = "hidden";
    input.name = "confirmed";
    form.appendChild(input);
  }
  input.value = "1";
});

// Copy buttons: copy the text of the element they name, and say so.
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest<HTMLButtonElement>("button[data-copy]") : null;
  if (!button?.dataset.copy) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  const value =
    source instanceof HTMLInputElement || source instanceof HTMLTextAreaElement ? source.value : source.textContent;
  navigator.clipboard.writeText((value ?? "").trim()).then(() => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => {
      button.textContent = label;
    }, 1500);
  });
});
