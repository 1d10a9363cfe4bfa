/** The rule form: reading a posted rule, and the new-rule / edit card (admin/pages/rules.tsx). */
import { FormCard } from "../components";
import { checked, type FormData, numberOrNull, shareFromPercent, text, toLocalInput, utcIso } from "../forms";
import type { Creative, Pool, Rule, Segment } from "../types";
import { Check, Field, PercentField, Select } from "../ui";

export function ruleFromForm(form: FormData) {
  const optionalId = (name: string) => (text(form, name) ? Number(text(form, name)) : null);
  return {
    name: text(form, "name"),
    placement: text(form, "placement"),
    segment_id: optionalId("segment_id"),
    creative_id: Number(text(form, "creative_id")),
    pool_id: optionalId("pool_id"),
    priority: numberOrNull(form, "priority") ?? 100,
    starts_at: utcIso(form, "starts_at"),
    ends_at: utcIso(form, "ends_at"),
    cap_per_day: numberOrNull(form, "cap_per_day"),
    holdout: shareFromPercent(form, "holdout"),
    stop_after_conversion: checked(form, "stop_after_conversion"),
    enabled: checked(form, "enabled"),
  };
}

export type RuleValues = ReturnType<typeof ruleFromForm>;

/** The new-rule or edit form; its values are the refused post's, the rule's, or the defaults. */
export function RuleForm({
  rule,
  v,
  creatives,
  segments,
  pools,
}: {
  rule?: Rule;
  v: Partial<RuleValues>;
  creatives: Creative[];
  segments: Segment[];
  pools: Pool[];
}) {
  return (
    <FormCard
      action={rule ? `/admin/rules/${rule.id}` : "/admin/rules"}
      id="rule-form"
      title={rule ? `Edit “${rule.name}”` : "New rule"}
      submit={rule ? "Save rule" : "Create rule"}
      submitDisabled={creatives.length === 0}
      extra={
        <div class="actions">
          <Check label="Stop after conversion" name="stop_after_conversion" checked={v.stop_after_conversion} />
          <Check label="Enabled" name="enabled" checked={v.enabled} />
        </div>
      }
    >
      <Field label="Name" name="name" value={v.name} required />
      <Field label="Placement" name="placement" value={v.placement} required hint="The slot name, e.g. home-hero" />
      <Select
        label="Segment"
        name="segment_id"
        value={v.segment_id ?? ""}
        options={[{ value: "", label: "everyone" }, ...segments.map((s) => ({ value: s.id, label: s.name }))]}
      />
      <Select
        label="Creative"
        name="creative_id"
        value={v.creative_id}
        required
        options={creatives.map((cr) => ({ value: cr.id, label: `${cr.name} (${cr.width}×${cr.height})` }))}
      />
      <Select
        label="Coupon pool"
        name="pool_id"
        value={v.pool_id ?? ""}
        options={[{ value: "", label: "no coupon" }, ...pools.map((p) => ({ value: p.id, label: p.name }))]}
      />
      <Field label="Priority" name="priority" type="number" min="0" value={v.priority} hint="Lower is tried first" />
      <Field
        label="Starts (UTC)"
        name="starts_at"
        type="datetime-local"
        value={toLocalInput(v.starts_at)}
        hint="Empty: now"
      />
      <Field
        label="Ends (UTC)"
        name="ends_at"
        type="datetime-local"
        value={toLocalInput(v.ends_at)}
        hint="Empty: open-ended"
      />
      <Field
        label="Cap per visitor and day"
        name="cap_per_day"
        type="number"
        min="1"
        value={v.cap_per_day}
        hint="Empty: no cap"
      />
      <PercentField
        label="Holdout (%)"
        name="holdout"
        share={v.holdout}
        hint="Share of visitors kept as a control group, e.g. 10; empty: the site's default"
      />
    </FormCard>
  );
}
