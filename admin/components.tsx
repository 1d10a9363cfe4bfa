/**
 * The admin's shared page parts, so that a page declares what it lists and asks instead of
 * writing out its markup: the page frame every list page opens with (title, the post's result,
 * the read-only note), a table from column declarations, a form card, facts, and paging. The
 * small controls (fields, buttons, snippets) live in ui.tsx.
 */

import type { Context } from "hono";
import type { Child } from "hono/jsx";
import type { Role } from "../worker/env";
import type { AdminEnv } from "./api";
import { type Flash, takeFlash } from "./flash";
import { FLASH } from "./forms";
import { Empty, ErrorAlert, FlashView, Layout, Notice, type PageUser, ReadOnlyNote } from "./ui";

/** One column: its header, how a row fills its cell, numbers right-aligned, short values kept on one line. */
export type Column<T> = { header: string; num?: boolean; nowrap?: boolean; cell: (row: T) => Child };

const cellClass = (column: { num?: boolean; nowrap?: boolean }) =>
  [column.num && "num", column.nowrap && "nowrap"].filter(Boolean).join(" ") || undefined;

/** A table of `rows` in the declared columns; `empty` is shown instead when there are none. */
export function DataTable<T>({
  columns,
  rows,
  empty,
  id,
  caption,
  rowClass,
}: {
  columns: Column<T>[];
  rows: T[];
  empty?: Child;
  id?: string;
  caption?: string;
  rowClass?: (row: T) => string | undefined;
}) {
  if (rows.length === 0) return empty ? <Empty>{empty}</Empty> : null;
  return (
    <div class="table-wrap">
      <table id={id}>
        {caption && <caption class="muted">{caption}</caption>}
        <thead>
          <tr>
            {columns.map((column) => (
              <th class={cellClass(column)} scope="col">
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr class={rowClass?.(row)}>
              {columns.map((column) => (
                <td class={cellClass(column)}>{column.cell(row)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A form in a card: its heading, its error, its fields in the grid, one submit button. */
export function FormCard({
  action,
  id,
  title,
  error,
  submit,
  children,
  extra,
  submitDisabled,
  subsection,
}: {
  action: string;
  id?: string;
  title: string;
  error?: string | null;
  submit: string;
  submitDisabled?: boolean;
  /** A form inside a page section: its title is a level-3 heading. */
  subsection?: boolean;
  children?: Child;
  /** Controls below the grid (a textarea, a fieldset) that need the whole width. */
  extra?: Child;
}) {
  return (
    <form method="post" action={action} class="card" id={id}>
      {subsection ? <h3>{title}</h3> : <h2>{title}</h2>}
      <ErrorAlert message={error} />
      <div class="grid">{children}</div>
      {extra}
      <div class="actions">
        <button type="submit" disabled={submitDisabled}>
          {submit}
        </button>
      </div>
    </form>
  );
}

/** A definition list of facts about one thing (a pool, a rule). */
export function Facts({ facts }: { facts: [string, Child][] }) {
  return (
    <dl class="facts">
      {facts.map(([term, value]) => (
        <>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </>
      ))}
    </dl>
  );
}

/** "Older" for keyset paging (a `next` cursor), and back to the first page once paged. */
export function Pager({ base, next, paged }: { base: string; next: number | null; paged: boolean }) {
  if (next === null && !paged) return null;
  return (
    <nav class="actions" aria-label="Pages">
      {paged && (
        <a class="button secondary" href={base}>
          Newest
        </a>
      )}
      {next !== null && (
        <a class="button secondary" href={`${base}?before=${next}`} rel="next">
          Older
        </a>
      )}
    </nav>
  );
}

/** What every admin page opens with, read once from the request: the user, the post's result. */
export type PageFrame = {
  user: PageUser;
  role: Role;
  flash: Flash | null;
  notice: string | undefined;
};

export async function pageFrame(c: Context<AdminEnv>): Promise<PageFrame> {
  return { user: c.var.user, role: c.var.role, flash: await takeFlash(c), notice: FLASH[c.req.query("done") ?? ""] };
}

/**
 * A page in the admin layout with its heading, the result of the post that led here (once), and
 * the note that a viewer cannot change anything when the page writes with `needs`.
 */
export function Page({
  frame,
  title,
  heading = title,
  active,
  needs,
  scripts,
  charts,
  children,
}: {
  frame: PageFrame;
  title: string;
  /** The page's h1 when it says more than the tab's title. */
  heading?: string;
  active: string;
  needs?: Role;
  scripts?: string[];
  /** The page draws charts (admin/chart.tsx). */
  charts?: boolean;
  children?: Child;
}) {
  return (
    <Layout title={title} user={frame.user} active={active} scripts={scripts} charts={charts}>
      <h1>{heading}</h1>
      <Notice message={frame.notice} />
      <FlashView flash={frame.flash} />
      {needs && <ReadOnlyNote role={frame.role} needs={needs} />}
      {children}
    </Layout>
  );
}
