/**
 * The HTML report's only style sheet, inline, and the Content-Security-Policy that allows exactly it: no script,
 * no external style, font, image or frame, no form target. The same policy is in the file (a `<meta>`, so it holds
 * when the file is opened from a mail attachment) and in the HTTP response header.
 */
import { createHash } from "node:crypto";

export const REPORT_CSS = `
:root { --ink: #1b1f24; --muted: #5b6470; --line: #d6dbe1; --panel: #f5f7f9;
  --compliant: #2e7d32; --remediated: #1565c0; --exempt: #6a1b9a; --drift: #ef6c00; --failed: #c62828; --na: #90a4ae; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1100px; padding: 24px; color: var(--ink); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 14px; margin: 16px 0 6px; }
p.meta, .muted { color: var(--muted); }
code, .id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; overflow-wrap: anywhere; }
ul.tiles { display: flex; flex-wrap: wrap; gap: 10px; list-style: none; padding: 0; margin: 12px 0; }
ul.tiles li { flex: 1 1 120px; border: 1px solid var(--line); border-left-width: 6px; border-radius: 6px; padding: 8px 12px; background: var(--panel); }
ul.tiles .count { display: block; font-size: 26px; font-weight: 700; }
ul.tiles li.compliant { border-left-color: var(--compliant); } ul.tiles li.remediated { border-left-color: var(--remediated); }
ul.tiles li.drift { border-left-color: var(--drift); } ul.tiles li.failed { border-left-color: var(--failed); }
ul.tiles li.exempt { border-left-color: var(--exempt); } ul.tiles li.not-applicable { border-left-color: var(--na); }
table { width: 100%; border-collapse: collapse; margin: 6px 0 12px; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
th { background: var(--panel); font-weight: 600; white-space: nowrap; }
table.counts th:not(:first-child) { text-align: right; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.status { font-weight: 600; text-transform: uppercase; font-size: 12px; white-space: nowrap; }
.status.failed, .verdict.not-met { color: var(--failed); } .status.drift { color: var(--drift); }
.status.compliant, .verdict.met { color: var(--compliant); } .status.remediated { color: var(--remediated); }
.status.exempt { color: var(--exempt); } .verdict.no-evidence { color: var(--muted); }
.verdict { font-weight: 600; }
ul.gaps { list-style: none; padding: 0; }
ul.gaps > li { border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; margin: 6px 0; }
details summary { cursor: pointer; color: var(--remediated); }
details ul { columns: 2; margin: 6px 0; }
svg.chart { width: 100%; max-width: 720px; height: auto; display: block; }
svg.chart text { font-size: 11px; fill: var(--muted); }
svg.chart .grid { stroke: var(--line); }
.fill-compliant { fill: var(--compliant); } .fill-remediated { fill: var(--remediated); } .fill-exempt { fill: var(--exempt); }
.fill-drift { fill: var(--drift); } .fill-failed { fill: var(--failed); } .fill-not-applicable { fill: var(--na); }
.legend { display: flex; gap: 14px; flex-wrap: wrap; list-style: none; padding: 0; font-size: 12px; }
.legend svg { width: 10px; height: 10px; vertical-align: -1px; margin-right: 4px; }
.empty { color: var(--muted); font-style: italic; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  h2 { break-after: avoid; }
  tr, ul.tiles li, ul.gaps > li, svg.chart { break-inside: avoid; }
  thead { display: table-header-group; }
  details summary { color: var(--ink); }
  details::details-content { content-visibility: visible; display: block; }
}
`;

const STYLE_HASH = `sha256-${createHash("sha256").update(REPORT_CSS).digest("base64")}`;

/** The policy in the file itself (`frame-ancestors` is not honoured in a `<meta>`, the header adds it). */
export const REPORT_CSP_META = `default-src 'none'; style-src '${STYLE_HASH}'; base-uri 'none'; form-action 'none'`;

/** The Content-Security-Policy header of `GET /api/report?format=html`. */
export const REPORT_CSP_HEADER = `${REPORT_CSP_META}; frame-ancestors 'none'`;
