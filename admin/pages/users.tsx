/** Admin UI users (admins only): invite with a role, change roles, remove. */
import type { Context } from "hono";
import { formatTime } from "../../worker/lib/format";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { FLASH, text } from "../forms";
import type { User } from "../types";
import { ActionButton, ErrorAlert, Field, Layout, Notice, Select } from "../ui";

const ROLES = [
  { value: "viewer", label: "viewer — reads reports" },
  { value: "marketer", label: "marketer — manages campaigns" },
  { value: "admin", label: "admin — manages users and keys" },
];

async function render(c: Context<AdminEnv>, error?: string, values: Record<string, string> = {}) {
  const { users } = await c.var.api.get<{ users: User[] }>("/api/v1/users");
  const me = c.var.adminUser?.id;
  return c.html(
    <Layout title="Users" user={c.var.user} active="/admin/users">
      <h1>Users</h1>
      <Notice message={FLASH[c.req.query("done") ?? ""]} />
      <ErrorAlert message={error} />
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th>E-mail</th>
              <th>Role</th>
              <th>Created</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr>
                <td>
                  {u.email}
                  {u.locked_until && u.locked_until > Date.now() ? " (locked)" : ""}
                </td>
                <td>
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
                </td>
                <td>{formatTime(u.created_at)}</td>
                <td>
                  <ActionButton
                    action={`/admin/users/${u.id}/delete`}
                    label="Remove"
                    danger
                    disabled={u.id === me}
                    accessibleLabel={`Remove ${u.email}`}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form method="post" action="/admin/users" class="card">
        <h2>Add a user</h2>
        <div class="grid">
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
        </div>
        <div class="actions">
          <button type="submit">Add user</button>
        </div>
      </form>
    </Layout>,
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
