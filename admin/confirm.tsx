/**
 * Destructive actions ask first. Every danger button (ui.tsx ActionButton) posts to a path ending in
 * `/delete` or `/revoke`, a coupon's roll-back form to `/rollback`; until the post carries `confirmed=1`, this middleware answers with a
 * confirmation page instead of running the action — so the step works without any script. With
 * confirm.js, the browser's own `confirm()` asks in place and adds `confirmed=1` itself.
 */
import { createMiddleware } from "hono/factory";
import type { AdminEnv } from "./api";
import { text } from "./forms";
import { Layout } from "./ui";

const DESTRUCTIVE = /^\/admin\/(.+)\/[^/]+\/(delete|revoke|rollback)$/;

/** The confirming button and what the person is told will follow, per action. */
const CONSEQUENCE: Record<string, { button: string; note: string }> = {
  delete: { button: "Yes, delete", note: "This cannot be undone." },
  revoke: { button: "Yes, revoke", note: "This cannot be undone: whatever still uses it gets 401." },
  rollback: {
    button: "Yes, roll back",
    note: "The code becomes usable again and this redemption no longer counts in the reports.",
  },
};

/** Where "Cancel" goes: the list the action was started from (a fixed mapping, never a posted URL). */
function listOf(section: string): string {
  if (section === "webhooks") return "/admin/partners";
  if (section.startsWith("settings")) return "/admin/settings";
  return `/admin/${section.split("/")[0]}`;
}

export const confirmDestructive = createMiddleware<AdminEnv>(async function confirmDestructive(c, next) {
  const match = c.req.method === "POST" ? DESTRUCTIVE.exec(c.req.path) : null;
  if (!match) return next();
  const form = await c.req.parseBody();
  if (text(form, "confirmed") === "1") return next();
  const question = text(form, "confirm").slice(0, 200) || "Delete this?";
  const consequence = CONSEQUENCE[match[2]] ?? CONSEQUENCE.delete;
  const fields = Object.entries(form).filter(
    (entry): entry is [string, string] => typeof entry[1] === "string" && entry[0] !== "confirm",
  );
  return c.html(
    <Layout title="Are you sure?" user={c.var.user}>
      <h1>Are you sure?</h1>
      <form method="post" action={c.req.path} class="card" id="confirm-form">
        <p>
          {question} {consequence.note}
        </p>
        {fields.map(([name, value]) => (
          <input type="hidden" name={name} value={value} />
        ))}
        <input type="hidden" name="confirmed" value="1" />
        <div class="actions">
          <button type="submit" class="danger">
            {consequence.button}
          </button>
          <a class="button secondary" href={listOf(match[1])}>
            Cancel
          </a>
        </div>
      </form>
    </Layout>,
  );
});
