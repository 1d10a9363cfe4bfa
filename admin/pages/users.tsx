/** Admin UI users (admins only): invite with a role, change roles, remove. */
import type { Context } from "hono";
import { formatTime } from "../../worker/lib/format";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { type Column, DataTable, FormCard, Page, pageFrame } from "../components";
import { text } from "../forms";
import type { User } from "../types";
import { ActionButton, ErrorAlert, Field, Select } from "../ui";

const ROLES = [
  { value: "viewer", label: "viewer — reads reports" },
  { value: "marketer", label: "marketer — manages campaigns" },
  { value: "admin", label: "admin — manages users and keys" },
];

const userColumns = (me: number | undefined): Column<User>[] => [
  {
    header: "E-mail",
    cell: (u) => `${u.email}${u.locked_until && u.locked_until > Date.now() ? " (locked)" : ""}`,
  },
  {
    header: "Role",
    cell: (u) => (
      <form method="post" action={`/admin/users/${u.id}`} class="inline">
        <label class="muted" for={`role-${u.id}`}>
          Role of {u.email}
        </label>{" "}
        <select id={`role-${u.id}`} name="role" disabled={u.id === me}>
          {ROLES.map((r) => (
            <option value={r.value} selected={r.value === u.role}>
              {r.value}
            </option>
          ))}
        </select>{" "}
        <button type="submit" class="secondary" disabled={u.id === me}>
          Change
        </button>
      </form>
    ),
  },
  { header: "Created", nowrap: true, cell: (u) => formatTime(u.created_at) },
  {
    header: "Actions",
    cell: (u) => (
      <ActionButton
        action={`/admin/users/${u.id}/delete`}
        label="Remove"
        danger
        disabled={u.id === me}
        accessibleLabel={`Remove ${u.email}`}
      />
    ),
  },
];

async function render(c: Context<AdminEnv>, error?: string, values: Record<string, string> = {}) {
  const { users } = await c.var.api.get<{ users: User[] }>("/api/v1/users");
  return c.html(
    <Page frame={await pageFrame(c)} title="Users" active="/admin/users">
      <ErrorAlert message={error} />
      <DataTable columns={userColumns(c.var.adminUser?.id)} rows={users} />
      <FormCard action="/admin/users" title="Add a user" submit="Add user">
        <Field label="E-mail" name="email" type="email" value={values.email} required />
        <Field
          label="Initial password"
          name="password"
          type="password"
          required
          hint="At least 10 characters"
          autocomplete="new-password"
        />
        <Select label="Role" name="role" value={values.role ?? "marketer"} options={ROLES} />
      </FormCard>
    </Page>,
    error ? 400 : 200,
  );
}

export function userPages(app: AdminApp) {
  app.get("/admin/users", (c) => render(c));

  app.post("/admin/users", async (c) => {
    const form = await c.req.parseBody();
    const json = { email: text(form, "email"), password: text(form, "password"), role: text(form, "role") };
    const result = await c.var.api.call("POST", "/api/v1/users", { json });
    if (!result.ok) return render(c, result.error.message, { email: json.email, role: json.role });
    return c.redirect("/admin/users?done=created", 303);
  });

  app.post("/admin/users/:id", async (c) => {
    const form = await c.req.parseBody();
    const result = await c.var.api.call("PATCH", `/api/v1/users/${Number(c.req.param("id"))}`, {
      json: { role: text(form, "role") },
    });
    if (!result.ok) return render(c, result.error.message);
    return c.redirect("/admin/users?done=saved", 303);
  });

  app.post("/admin/users/:id/delete", async (c) => {
    const result = await c.var.api.call("DELETE", `/api/v1/users/${Number(c.req.param("id"))}`);
    if (!result.ok) return render(c, result.error.message);
    return c.redirect("/admin/users?done=deleted", 303);
  });
}
