/**
 * The admin UI's stylesheet, served as a file from /admin/assets/ so that the content security
 * policy can forbid inline script and style. The page scripts (charts included) are TypeScript in
 * admin/client/, bundled by admin/build-assets.mjs; they only add live feedback, every form works
 * without them.
 */
export const ADMIN_CSS = `
:root { --ink: #1d2330; --muted: #5b6475; --line: #d9dde5; --bg: #f6f7f9; --accent: #2a5bd7; --bad: #b3261e; --good: #1b7f3b; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg); }
a { color: var(--accent); }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding: .6rem 1rem; background: #fff; border-bottom: 1px solid var(--line); }
header.top .brand { font-weight: 700; text-decoration: none; color: var(--ink); }
header.top .who { margin-left: auto; color: var(--muted); font-size: .9rem; display: flex; gap: .5rem; align-items: center; }
nav.main ul { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem; margin: 0; padding: 0; }
nav.main a { display: block; padding: .35rem .6rem; border-radius: 6px; text-decoration: none; color: var(--ink); }
nav.main a[aria-current="page"] { background: var(--accent); color: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
section.card, form.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1rem; margin: 0 0 1rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: .75rem 1rem; }
.field { display: flex; flex-direction: column; gap: .25rem; }
.field label, fieldset legend { font-weight: 600; font-size: .9rem; }
.field .hint { color: var(--muted); font-size: .85rem; }
.check { display: flex; gap: .5rem; align-items: center; }
input, select, textarea, button { font: inherit; }
input[type=text], input[type=email], input[type=password], input[type=number], input[type=url], input[type=date], input[type=datetime-local], select, textarea {
  width: 100%; padding: .45rem .55rem; border: 1px solid #b9c0cc; border-radius: 6px; background: #fff; }
textarea { min-height: 7rem; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9rem; }
:focus-visible { outline: 3px solid #8fb0ff; outline-offset: 1px; }
button, .button { display: inline-block; padding: .45rem .9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.danger { background: #fff; color: var(--bad); border-color: var(--bad); }
button:disabled { opacity: .5; cursor: not-allowed; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin-top: .75rem; }
.inline { display: inline; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .85rem; color: var(--muted); }
td.nowrap, th.nowrap { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.alert { padding: .6rem .8rem; border-radius: 6px; margin: 0 0 1rem; border: 1px solid; }
.alert.error { color: var(--bad); border-color: var(--bad); background: #fdf1f0; }
.alert.ok { color: var(--good); border-color: var(--good); background: #eef8f1; }
.field-error { color: var(--bad); font-size: .9rem; white-space: pre-wrap; }
.action-error { display: block; max-width: 22rem; margin-top: .25rem; }
.empty { padding: 1.25rem; border: 2px dashed var(--line); border-radius: 8px; color: var(--muted); background: #fff; }
.stat { font-size: 1.6rem; font-weight: 700; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem; border: 1px solid var(--line); }
.badge.on { color: var(--good); border-color: var(--good); }
.badge.off { color: var(--muted); }
pre.snippet { overflow-x: auto; padding: .6rem; background: #f6f8fa; border: 1px solid #d8dee4; border-radius: 6px; }
.snippet-wrap { position: relative; }
.snippet-wrap pre.snippet { padding-right: 5rem; }
.snippet-wrap button.copy { position: absolute; top: .35rem; right: .35rem; padding: .15rem .6rem; font-size: .85rem; }
.field-chips { display: flex; flex-wrap: wrap; gap: .25rem; }
button.chip { padding: .05rem .45rem; font: .8rem ui-monospace, SFMono-Regular, Menlo, monospace; }
ul.problems { margin: .25rem 0 0; padding-left: 1.25rem; max-height: 16rem; overflow-y: auto; }
ul.line-problems { margin: 0; padding-left: 1.1rem; }
pre.marked-expression { margin: .25rem 0 0; padding: .4rem .55rem; white-space: pre-wrap; word-break: break-word; background: #fdf1f0; border: 1px solid #f0c4c0; border-radius: 6px; font-size: .9rem; }
pre.marked-expression mark { background: #ffd54f; outline: 2px solid var(--bad); border-radius: 2px; white-space: pre; }
.autocomplete { position: relative; }
.suggestions { position: absolute; z-index: 2; left: 0; right: 0; top: 100%; margin: 2px 0 0; padding: .2rem 0; list-style: none; background: #fff; border: 1px solid #b9c0cc; border-radius: 6px; box-shadow: 0 4px 12px rgba(0,0,0,.12); max-height: 14rem; overflow-y: auto; }
.suggestions [role="option"] { padding: .25rem .6rem; font: .9rem ui-monospace, SFMono-Regular, Menlo, monospace; cursor: pointer; }
.suggestions [aria-selected="true"] { background: var(--accent); color: #fff; }
#segment-sample caption { text-align: left; padding: .5rem 0 .25rem; }
code.secret { display: block; padding: .6rem; background: #fffbe6; border: 1px solid #e6d27a; border-radius: 6px; word-break: break-all; }
.preview-box { overflow: auto; border: 1px dashed var(--line); padding: .5rem; background: repeating-conic-gradient(#f0f0f0 0 25%, #fff 0 50%) 0 0/16px 16px; }
.preview-box iframe { border: 0; display: block; background: #fff; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; color: var(--muted); }
dl.facts dd { margin: 0; }
tr.chosen td { background: #eef8f1; }
.kpis { grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); }
.kpi .stat { font-size: 1.35rem; }
.small { font-size: .8rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 1rem; }
.chart-card { margin: 0; }
.chart { min-height: 220px; }
ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: .5rem 0; padding: 0; font-size: .9rem; }
ul.legend output { font-weight: 600; font-variant-numeric: tabular-nums; }
ul.legend .legend-day { width: 100%; }
.interval-bar { margin-top: .25rem; }
.sparkline { display: inline-block; width: 100px; height: 28px; vertical-align: middle; }
.interval-bar svg { width: 100%; max-width: 200px; height: auto; }
.period { margin: 0 0 1rem; }
.period select { width: auto; }
@media (max-width: 640px) { .charts { grid-template-columns: 1fr; } }
.login { max-width: 380px; margin: 10vh auto; }
@media (max-width: 640px) {
  main { padding: .6rem; }
  header.top .who { margin-left: 0; width: 100%; }
  th, td { padding: .35rem .4rem; font-size: .9rem; }
}
`;
