/** The admin UI's layout and the few building blocks every page shares (labelled fields, alerts, empty states). */
import { raw } from "hono/html";
import type { Child, FC } from "hono/jsx";
import { hasRole } from "../worker/auth/roles";
import type { Role } from "../worker/env";
import type { Flash } from "./flash";
import { percentInput } from "./forms";

/** The UI hides what a role cannot do with the same check the API enforces. */
export const can = hasRole;

export type PageUser = { email: string; role: Role; siteName: string };

const NAV: { href: string; label: string; admin?: boolean }[] = [
  { href: "/admin", label: "Dashboard" },
  { href: "/admin/imports", label: "Imports" },
  { href: "/admin/segments", label: "Segments" },
  { href: "/admin/creatives", label: "Creatives" },
  { href: "/admin/rules", label: "Rules" },
  { href: "/admin/placements", label: "Placements" },
  { href: "/admin/pools", label: "Coupon pools" },
  { href: "/admin/coupons", label: "Codes" },
  { href: "/admin/audiences", label: "Audiences" },
  { href: "/admin/partners", label: "Partners & webhooks" },
  { href: "/admin/reports", label: "Reports" },
  { href: "/admin/explain", label: "Explain" },
  { href: "/admin/install", label: "Install" },
  { href: "/admin/settings", label: "Site & API keys", admin: true },
  { href: "/admin/users", label: "Users", admin: true },
];

export const Layout: FC<{
  title: string;
  user?: PageUser;
  active?: string;
  scripts?: string[];
  /** The page has charts (admin/chart.tsx): their script and uPlot's stylesheet. */
  charts?: boolean;
  children?: Child;
}> = ({ title, user, active, scripts = [], charts, children }) => (
  <>
    {raw("<!doctype html>")}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · tagwerk admin`}</title>
        {charts && <link rel="stylesheet" href="/admin/assets/uplot.css" />}
        <link rel="stylesheet" href="/admin/assets/admin.css" />
        <script src="/admin/assets/confirm.js" defer />
        {[...scripts, ...(charts ? ["charts.js"] : [])].map((src) => (
          <script src={`/admin/assets/${src}`} defer />
        ))}
      </head>
      <body>
        {user && (
          <header class="top">
            <a class="brand" href="/admin">
              tagwerk · {user.siteName}
            </a>
            <nav class="main" aria-label="Sections">
              <ul>
                {NAV.filter((item) => !item.admin || user.role === "admin").map((item) => (
                  <li>
                    <a href={item.href} aria-current={active === item.href ? "page" : undefined}>
                      {item.label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
            <div class="who">
              <span>
                {user.email} ({user.role})
              </span>
              <form method="post" action="/admin/logout" class="inline">
                <button type="submit" class="secondary">
                  Log out
                </button>
              </form>
            </div>
          </header>
        )}
        <main id="main">{children}</main>
      </body>
    </html>
  </>
);

export const ErrorAlert: FC<{ message?: string | null }> = ({ message }) =>
  message ? (
    <div class="alert error" role="alert">
      {message}
    </div>
  ) : null;

export const Notice: FC<{ message?: string | null }> = ({ message }) =>
  message ? <output class="alert ok">{message}</output> : null;

export const Empty: FC<{ children?: Child }> = ({ children }) => <div class="empty">{children}</div>;

type FieldProps = {
  label: string;
  name: string;
  type?: string;
  value?: string | number | null;
  required?: boolean;
  hint?: string;
  min?: number | string;
  max?: number | string;
  step?: string;
  placeholder?: string;
  disabled?: boolean;
  autocomplete?: string;
};

export const Field: FC<FieldProps> = ({ label, name, type = "text", value, hint, ...rest }) => {
  const id = `f-${name}`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        name={name}
        type={type}
        value={value ?? ""}
        aria-describedby={hint ? `${id}-hint` : undefined}
        {...rest}
      />
      {hint && (
        <span class="hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
    </div>
  );
};

/** A share (0..1) entered as a percentage, 0 to 100 with two decimals (people type 20, not 0.2). */
export const PercentField: FC<
  Omit<FieldProps, "type" | "min" | "max" | "step" | "value"> & { share?: number | null }
> = ({ share, ...rest }) => <Field type="number" step="0.01" min="0" max="100" value={percentInput(share)} {...rest} />;

export const Select: FC<{
  label: string;
  name: string;
  value?: string | number | null;
  options: { value: string | number; label: string }[];
  hint?: string;
  disabled?: boolean;
  required?: boolean;
}> = ({ label, name, value, options, hint, disabled, required }) => {
  const id = `f-${name}`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select
        id={id}
        name={name}
        disabled={disabled}
        required={required}
        aria-describedby={hint ? `${id}-hint` : undefined}
      >
        {options.map((o) => (
          <option value={String(o.value)} selected={String(o.value) === String(value ?? "")}>
            {o.label}
          </option>
        ))}
      </select>
      {hint && (
        <span class="hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
    </div>
  );
};

export const Check: FC<{ label: string; name: string; checked?: boolean; disabled?: boolean }> = ({
  label,
  name,
  checked,
  disabled,
}) => (
  <div class="check">
    <input id={`f-${name}`} type="checkbox" name={name} value="1" checked={checked} disabled={disabled} />
    <label for={`f-${name}`}>{label}</label>
  </div>
);

/** An action's failure, shown beside the button that caused it (not at the top of the page). */
export type ActionFailure = { action: string; message: string };

/**
 * A one-button form (delete, toggle, move): keyboard-usable and CSRF-checked like every other post.
 * A `danger` button asks first (admin/confirm.tsx: a confirmation page, or confirm() with confirm.js);
 * `failed` shows the error of this very action next to it.
 */
export const ActionButton: FC<{
  action: string;
  label: string;
  danger?: boolean;
  disabled?: boolean;
  fields?: Record<string, string>;
  accessibleLabel?: string;
  failed?: ActionFailure | null;
}> = ({ action, label, danger, disabled, fields = {}, accessibleLabel, failed }) => {
  const question = danger ? `${accessibleLabel ?? label}?` : undefined;
  const error = failed?.action === action ? failed.message : null;
  return (
    <form method="post" action={action} class="inline" data-confirm={question}>
      {Object.entries(fields).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      {question && <input type="hidden" name="confirm" value={question} />}
      <button type="submit" class={danger ? "danger" : "secondary"} disabled={disabled} aria-label={accessibleLabel}>
        {label}
      </button>
      {error && (
        <span class="field-error action-error" role="alert">
          {error}
        </span>
      )}
    </form>
  );
};

export const ReadOnlyNote: FC<{ role: Role; needs: Role }> = ({ role, needs }) =>
  can(role, needs) ? null : (
    <p class="muted" role="note">
      You are signed in as {role}: you can look, but changes need the {needs} role.
    </p>
  );

/** Code to paste somewhere else (a tag, a slot, a snippet), with its copy button. */
export const Snippet: FC<{ id: string; children: string }> = ({ id, children }) => (
  <div class="snippet-wrap">
    <pre class="snippet" id={id}>
      <code>{children}</code>
    </pre>
    <CopyButton target={id} />
  </div>
);

/** Copies the text of the element `target` names (confirm.js); a plain button without script. */
const CopyButton: FC<{ target: string; label?: string }> = ({ target, label = "Copy" }) => (
  <button type="button" class="secondary copy" data-copy={target} aria-label={`${label}: copy to the clipboard`}>
    {label}
  </button>
);

/** A post's result after its redirect (admin/flash.ts), shown once: a notice, a secret to copy, its problems. */
export const FlashView: FC<{ flash: Flash | null }> = ({ flash }) => {
  if (!flash) return null;
  return (
    <div class={`alert ${flash.problems?.length && !flash.notice ? "error" : "ok"}`} role="status" id="flash">
      {flash.notice && <p>{flash.notice}</p>}
      {flash.secret && (
        <>
          <p>
            <strong>{flash.secret.label}</strong>
          </p>
          <code class="secret" id="flash-secret">
            {flash.secret.value}
          </code>
          <div class="actions">
            <CopyButton target="flash-secret" />
          </div>
        </>
      )}
      {flash.problems && flash.problems.length > 0 && (
        <ul class="problems">
          {flash.problems.map((p) => (
            <li>{p}</li>
          ))}
        </ul>
      )}
    </div>
  );
};
