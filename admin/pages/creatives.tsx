/**
 * Creatives: a template editor with a live preview in a sandboxed iframe at the creative's real
 * size, rendered with sample values by POST /api/v1/creatives/preview (the decision path's own
 * renderer). The iframe is filled by posting the form to the preview frame route, which serves the
 * creative as its own document under its own CSP: an inline `srcdoc` would inherit the admin
 * page's policy and lose the creative's inline styles.
 */
import type { Context } from "hono";
import { TEMPLATE_VARIABLES } from "../../worker/creatives/template";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { type Column, DataTable, Page, pageFrame } from "../components";
import { type FormData, failedHere, numberOrNull, text } from "../forms";
import { creativeFrame, frameMessage, PREVIEW_FRAME_PATH } from "../frame";
import type { Creative, Pool } from "../types";
import { ActionButton, type ActionFailure, can, ErrorAlert, Field, Select } from "../ui";

const EXAMPLE_TEMPLATE = `<a href="{{click_url}}" style="display:block;width:300px;height:250px;background:#fbeff2;color:#3a1020;font-family:sans-serif;text-decoration:none;padding:24px;box-sizing:border-box">
  <strong style="font-size:22px">We miss you!</strong>
  {{#coupon}}<p>{{discount}} off with your code <b>{{coupon}}</b>, until {{expires}}</p>{{/coupon}}
  {{^coupon}}<p>See what is new in rings.</p>{{/coupon}}
</a>`;

type Values = { name: string; format: string; template: string; width: string; height: string; landing_url: string };

function valuesOf(creative?: Creative): Values {
  if (!creative) {
    return { name: "", format: "html", template: EXAMPLE_TEMPLATE, width: "300", height: "250", landing_url: "" };
  }
  return {
    name: creative.name,
    format: creative.format,
    template: typeof creative.template === "string" ? creative.template : JSON.stringify(creative.template, null, 2),
    width: String(creative.width),
    height: String(creative.height),
    landing_url: creative.landing_url,
  };
}

function bodyOf(form: FormData): { values: Values; json?: Record<string, unknown>; error?: string } {
  const values: Values = {
    name: text(form, "name"),
    format: text(form, "format"),
    template: text(form, "template"),
    width: text(form, "width"),
    height: text(form, "height"),
    landing_url: text(form, "landing_url"),
  };
  let template: unknown = values.template;
  if (values.format === "json") {
    try {
      template = JSON.parse(values.template);
    } catch {
      return { values, error: "template: a json creative's template is a JSON object of fields" };
    }
  }
  const json = {
    name: values.name,
    format: values.format,
    template,
    width: numberOrNull(form, "width"),
    height: numberOrNull(form, "height"),
    landing_url: values.landing_url,
  };
  return { values, json };
}

const creativeColumns = (writable: boolean, failed?: ActionFailure): Column<Creative>[] => [
  { header: "Name", cell: (cr) => <a href={`/admin/creatives/${cr.id}`}>{cr.name}</a> },
  { header: "Format", cell: (cr) => cr.format },
  { header: "Size", nowrap: true, cell: (cr) => `${cr.width}×${cr.height}` },
  {
    header: "Actions",
    cell: (cr) =>
      writable && (
        <ActionButton
          action={`/admin/creatives/${cr.id}/delete`}
          label="Delete"
          danger
          accessibleLabel={`Delete creative ${cr.name}`}
          failed={failed}
        />
      ),
  },
];

async function render(
  c: Context<AdminEnv>,
  view: { creative?: Creative; values?: Values; error?: string; failed?: ActionFailure } = {},
) {
  const [list, pools] = await Promise.all([
    c.var.api.get<{ creatives: Creative[] }>("/api/v1/creatives"),
    c.var.api.call<{ pools: Pool[] }>("GET", "/api/v1/pools"),
  ]);
  const poolOptions = [
    { value: "", label: "a sample code: 10 % for 30 days" },
    ...(pools.ok ? pools.data.pools : []).map((p) => ({
      value: p.id,
      label: `${p.name}: ${p.discount || "no discount text"} for ${p.valid_days} days`,
    })),
  ];
  const writable = can(c.var.role, "marketer");
  const v = view.values ?? valuesOf(view.creative);
  const action = view.creative ? `/admin/creatives/${view.creative.id}` : "/admin/creatives";
  return c.html(
    <Page
      frame={await pageFrame(c)}
      title="Creatives"
      active="/admin/creatives"
      needs="marketer"
      scripts={["creative-editor.js"]}
    >
      <DataTable
        columns={creativeColumns(writable, view.failed)}
        rows={list.creatives}
        empty="No creatives yet. Start from the example below: edit the template and watch the preview."
      />
      <ErrorAlert message={view.error} />
      <form method="post" action={action} class="card" id="creative-form">
        <h2>{view.creative ? `Edit “${view.creative.name}”` : "New creative"}</h2>
        <div class="grid">
          <Field label="Name" name="name" value={v.name} required disabled={!writable} />
          <Select
            label="Format"
            name="format"
            value={v.format}
            disabled={!writable}
            options={[
              { value: "html", label: "HTML" },
              { value: "svg", label: "SVG" },
              { value: "json", label: "JSON fields" },
            ]}
          />
          <Field
            label="Width (px)"
            name="width"
            type="number"
            min="1"
            max="4000"
            value={v.width}
            required
            disabled={!writable}
          />
          <Field
            label="Height (px)"
            name="height"
            type="number"
            min="1"
            max="4000"
            value={v.height}
            required
            disabled={!writable}
          />
          <Field
            label="Landing URL"
            name="landing_url"
            type="url"
            value={v.landing_url}
            required
            placeholder="https://shop.example/rings"
            disabled={!writable}
          />
        </div>
        <div class="field">
          <label for="f-template">Template</label>
          <textarea
            id="f-template"
            name="template"
            rows={10}
            required
            disabled={!writable}
            spellcheck={false}
            aria-describedby="template-hint"
          >
            {v.template}
          </textarea>
          <span class="hint" id="template-hint">
            {`Variables: ${TEMPLATE_VARIABLES.map((name) => `{{${name}}}`).join(" ")}. Sections: {{#coupon}}…{{/coupon}} and {{^coupon}}…{{/coupon}}.`}{" "}
            Values are escaped for you.
          </span>
        </div>
        <div class="actions">
          {writable && <button type="submit">{view.creative ? "Save creative" : "Create creative"}</button>}
          <button type="submit" class="secondary" formaction={PREVIEW_FRAME_PATH} formtarget="preview" formnovalidate>
            Preview
          </button>
        </div>
      </form>
      <section class="card" aria-labelledby="preview-title">
        <h2 id="preview-title">Preview with sample values</h2>
        <div class="grid">
          <Select label="Coupon from" name="pool_id" options={poolOptions} hint="Its real discount and validity" />
          <Select
            label="Variant"
            name="coupon"
            options={[
              { value: "1", label: "with a coupon" },
              { value: "0", label: "without a coupon ({{^coupon}})" },
            ]}
          />
        </div>
        <div class="preview-box">
          <iframe
            id="preview-frame"
            name="preview"
            title="Creative preview"
            sandbox=""
            width={v.width || "300"}
            height={v.height || "250"}
            src="about:blank"
          />
        </div>
      </section>
      <form id="preview-form" method="post" action={PREVIEW_FRAME_PATH} target="preview" hidden>
        {["format", "template", "width", "height", "landing_url"].map((name) => (
          <input type="hidden" name={name} value={v[name as keyof Values]} />
        ))}
        <input type="hidden" name="pool_id" value="" />
        <input type="hidden" name="coupon" value="1" />
      </form>
    </Page>,
    view.error ? 400 : 200,
  );
}

export function creativePages(app: AdminApp) {
  app.get("/admin/creatives", (c) => render(c));

  app.get("/admin/creatives/:id{[0-9]+}", async (c) => {
    const creative = await c.var.api.get<Creative>(`/api/v1/creatives/${c.req.param("id")}`);
    return render(c, { creative });
  });

  app.post("/admin/creatives", async (c) => {
    const { values, json, error } = bodyOf(await c.req.parseBody());
    if (!json) return render(c, { values, error });
    const result = await c.var.api.call<Creative>("POST", "/api/v1/creatives", { json });
    if (!result.ok) return render(c, { values, error: result.error.message });
    return c.redirect(`/admin/creatives/${result.data.id}?done=created`, 303);
  });

  app.post("/admin/creatives/:id{[0-9]+}", async (c) => {
    const id = c.req.param("id");
    const { values, json, error } = bodyOf(await c.req.parseBody());
    const creative = await c.var.api.get<Creative>(`/api/v1/creatives/${id}`);
    if (!json) return render(c, { creative, values, error });
    const result = await c.var.api.call<Creative>("PATCH", `/api/v1/creatives/${id}`, { json });
    if (!result.ok) return render(c, { creative, values, error: result.error.message });
    return c.redirect(`/admin/creatives/${id}?done=saved`, 303);
  });

  app.post("/admin/creatives/:id{[0-9]+}/delete", async (c) => {
    const result = await c.var.api.call("DELETE", `/api/v1/creatives/${c.req.param("id")}`);
    if (!result.ok) return render(c, { failed: failedHere(c, result.error.message) });
    return c.redirect("/admin/creatives?done=deleted", 303);
  });

  app.post(PREVIEW_FRAME_PATH, async (c) => {
    const form = await c.req.parseBody();
    const { json, error } = bodyOf(form);
    const result = json
      ? await c.var.api.call<{ format: string; body: string | Record<string, unknown> }>(
          "POST",
          "/api/v1/creatives/preview",
          {
            json: {
              format: json.format,
              template: json.template,
              width: json.width,
              height: json.height,
              landing_url: json.landing_url || undefined,
              pool_id: /^\d+$/.test(text(form, "pool_id")) ? Number(text(form, "pool_id")) : undefined,
              coupon: text(form, "coupon") !== "0",
            },
          },
        )
      : null;
    if (!result?.ok) return frameMessage(c, error ?? (result ? result.error.message : "Invalid creative"));
    return creativeFrame(c, result.data.format, result.data.body);
  });
}
