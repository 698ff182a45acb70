/**
 * Compliance over the recorded runs as an inline SVG: one stacked bar per run (oldest left), each status's share
 * of the targets that run recorded. No chart library and no script; every bar has a `<title>` for its numbers.
 */
import type { OutcomeStatus, RunSummary } from "../domain/outcome";
import { html, type SafeHtml } from "./html-escape";

/** Bottom to top: what is in policy first, what needs attention on top. */
export const CHART_STATUSES: readonly OutcomeStatus[] = [
  "compliant",
  "remediated",
  "exempt",
  "not-applicable",
  "drift",
  "failed",
];

const WIDTH = 720;
const HEIGHT = 220;
const LEFT = 40;
const TOP = 10;
const PLOT_HEIGHT = 160;
const MAX_BAR_WIDTH = 48;

const runLabel = (run: RunSummary): string => `${run.startedAt.slice(5, 10)} ${run.startedAt.slice(11, 16)}`;

function bar(run: RunSummary, x: number, width: number): SafeHtml {
  const total = CHART_STATUSES.reduce((sum, status) => sum + run.counts[status], 0);
  let y = TOP + PLOT_HEIGHT;
  const segments = CHART_STATUSES.filter((status) => run.counts[status] > 0).map((status) => {
    const height = (run.counts[status] / total) * PLOT_HEIGHT;
    y -= height;
    return html`<rect class="fill-${status}" x="${x}" y="${y.toFixed(2)}" width="${width}" height="${height.toFixed(2)}"
      ><title>${run.counts[status]} ${status}</title></rect
    >`;
  });
  const summary = `Run ${run.runId} (${run.mode}, ${run.scope}) ${run.startedAt}: ${total} targets`;
  const labelX = (x + width / 2).toFixed(1);
  return html`<g class="run"
    ><title>${summary}</title>${segments}<text x="${labelX}" y="${TOP + PLOT_HEIGHT + 14}" text-anchor="middle"
      >${runLabel(run)}</text
    ><text x="${labelX}" y="${TOP + PLOT_HEIGHT + 28}" text-anchor="middle">${run.mode}</text></g
  >`;
}

function grid(): SafeHtml[] {
  return [0, 50, 100].map((percent) => {
    const y = TOP + PLOT_HEIGHT - (percent / 100) * PLOT_HEIGHT;
    return html`<line class="grid" x1="${LEFT}" x2="${WIDTH}" y1="${y}" y2="${y}" /><text
        x="${LEFT - 6}"
        y="${y + 4}"
        text-anchor="end"
        >${percent}%</text
      >`;
  });
}

/** The chart of `runs` (newest first, as the report lists them). */
export function complianceChart(runs: readonly RunSummary[]): SafeHtml {
  const chronological = [...runs].reverse().filter((run) => CHART_STATUSES.some((status) => run.counts[status] > 0));
  const slot = (WIDTH - LEFT) / Math.max(chronological.length, 1);
  const width = Math.min(MAX_BAR_WIDTH, slot * 0.7);
  const bars = chronological.map((run, index) => bar(run, LEFT + index * slot + (slot - width) / 2, width));
  return html`<svg
    class="chart"
    role="img"
    aria-labelledby="chart-title"
    viewBox="0 0 ${WIDTH} ${HEIGHT}"
    xmlns="http://www.w3.org/2000/svg"
  >
    <title id="chart-title">Share of targets by status in each of the last ${chronological.length} runs</title>
    ${grid()}${bars}
  </svg>`;
}

/** The chart's legend, one swatch per status. */
export function chartLegend(): SafeHtml {
  return html`<ul class="legend">
    ${CHART_STATUSES.map(
      (status) =>
        html`<li>
          <svg viewBox="0 0 10 10" aria-hidden="true"><rect class="fill-${status}" width="10" height="10" /></svg
          >${status}
        </li>`,
    )}
  </ul>`;
}
