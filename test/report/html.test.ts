import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { escapeHtml, html, SafeHtml } from "../../shared/report/html-escape";
import { REPORT_CSP_HEADER, renderHtmlHistory, renderHtmlReport, renderTextReport } from "../../shared/report";
import { FAILED_REQUEST_ID, fixtureReport, HOSTILE_ERROR, HOSTILE_NAME, STYLE_BREAKER, TENANT } from "./html-fixture";

describe("html template tag", () => {
  const cases: [string, string][] = [
    ["<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"],
    [`"><img src=x onerror=alert(1)>`, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"],
    ["' onmouseover='x", "&#39; onmouseover=&#39;x"],
    ["</style>", "&lt;/style&gt;"],
    ["a & b", "a &amp; b"],
    ["plain", "plain"],
  ];
  for (const [value, expected] of cases) {
    it(`escapes ${JSON.stringify(value)} in content and attributes`, () => {
      assert.equal(escapeHtml(value), expected);
      assert.equal(html`<p title="${value}">${value}</p>`.markup, `<p title="${expected}">${expected}</p>`);
    });
  }

  it("passes markup only as SafeHtml, joins lists and drops undefined and false", () => {
    const inner = html`<b>${"<i>"}</b>`;
    assert.ok(inner instanceof SafeHtml);
    assert.equal(html`${[inner, "<u>", 3]}${undefined}${false}`.markup, "<b>&lt;i&gt;</b>&lt;u&gt;3");
  });
});

describe("renderHtmlReport", async () => {
  const report = await fixtureReport();
  const page = renderHtmlReport(report);

  it("renders hostile display names and error texts as text, never as markup", () => {
    assert.ok(!page.includes(HOSTILE_NAME));
    assert.ok(!page.includes(HOSTILE_ERROR));
    assert.ok(!page.includes(STYLE_BREAKER));
    assert.ok(page.includes(escapeHtml(HOSTILE_NAME)));
    assert.ok(page.includes(escapeHtml(HOSTILE_ERROR)));
    assert.ok(page.includes(escapeHtml(STYLE_BREAKER)));
    assert.doesNotMatch(page, /<script/i);
    assert.doesNotMatch(page, /<img/i);
    assert.equal(page.match(/<\/style>/g)?.length, 1, "only the report's own style element closes");
  });

  it("is self-contained: no script, no external resource, a CSP that allows exactly its style sheet", () => {
    assert.doesNotMatch(page, /<[^>]*\s(src|href|action)=/i);
    assert.doesNotMatch(page, /url\(|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i);
    const style = /<style>([\s\S]*)<\/style>/.exec(page)?.[1] ?? "";
    const hash = createHash("sha256").update(style).digest("base64");
    const csp = (/http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(page)?.[1] ?? "").replaceAll(
      "&#39;",
      "'",
    );
    assert.equal(csp, `default-src 'none'; style-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'`);
    assert.ok(REPORT_CSP_HEADER.startsWith(csp) && REPORT_CSP_HEADER.includes("frame-ancestors 'none'"));
  });

  it("puts the counts first, then failures (with Exchange's error and request id) before exemptions", () => {
    const order = [
      'id="glance"',
      'id="failures"',
      'id="exemptions"',
      'id="licence-gaps"',
      'id="audit-evidence"',
      'id="trend"',
      'id="controls"',
      'id="capture"',
      'id="runs"',
    ];
    const positions = order.map((marker) => page.indexOf(marker));
    assert.ok(
      positions.every((position) => position > 0),
      `every section present: ${positions.join(",")}`,
    );
    assert.deepEqual(
      [...positions].sort((a, b) => a - b),
      positions,
    );
    assert.match(page, /<li class="failed"><span class="count">2<\/span>failed<\/li>/);
    assert.match(page, /<li class="compliant"><span class="count">12<\/span>compliant<\/li>/);
    const failures = page.slice(page.indexOf('id="failures"'), page.indexOf('id="exemptions"'));
    assert.ok(failures.includes(FAILED_REQUEST_ID));
    assert.ok(failures.includes("InvalidOperationException"));
    assert.match(failures, /2024-05-03T02:00:00\.000Z \(3 runs\)/);
    assert.match(failures, /<div class="id">last verified \d{4}-\d{2}-\d{2}T[\d:.]+Z<\/div>/);
    assert.match(page.slice(page.indexOf('id="exemptions"')), /backup service account \(change CHG-1234\)/);
  });

  it("groups licence gaps: one line per kind with its count, the mailboxes behind a disclosure", () => {
    const gaps = page.slice(page.indexOf('id="licence-gaps"'), page.indexOf('id="trend"'));
    assert.equal(gaps.match(/<li class="gap">/g)?.length, 2);
    assert.match(gaps, /<strong>AuditOwner<\/strong>: MailItemsAccessed, Send — <strong>6<\/strong> mailboxes/);
    assert.match(gaps, /<strong>AuditAdmin<\/strong>: Send — <strong>2<\/strong> mailboxes/);
    assert.ok(gaps.indexOf("AuditOwner") < gaps.indexOf("AuditAdmin"), "largest group first");
    assert.equal(gaps.match(/<details>/g)?.length, 2);
  });

  it("names who triggered each run (escaped), and says so where it was not recorded", () => {
    const runs = /<section id="runs">[\s\S]*?<\/section>/.exec(page)?.[0] ?? "";
    assert.match(runs, /<th>Triggered by<\/th>/);
    assert.match(runs, /<td>nightly timer<\/td>/);
    assert.match(runs, /<td>on demand \(&lt;img src=x onerror=alert\(2\)&gt;\)<\/td>/);
    assert.match(runs, /<td>command line \(admin\)<\/td>/);
    assert.match(runs, /<td>not recorded<\/td>/);
    assert.ok(!runs.includes("<img"));
  });

  it("draws one bar per run in an inline SVG, oldest first", () => {
    const svg = /<svg\s+class="chart"[\s\S]*?<\/svg>/.exec(page)?.[0] ?? "";
    assert.equal(svg.match(/<g class="run"/g)?.length, 5);
    assert.ok(svg.indexOf("run-1") < svg.indexOf("run-5"));
    assert.match(svg, /<rect class="fill-failed"/);
  });

  it("maps findings to controls: the control table and the failure row name them", () => {
    const controls = page.slice(page.indexOf('id="controls"'), page.indexOf('id="capture"'));
    assert.match(controls, /<code>6\.1\.2<\/code>[\s\S]*?verdict not-met/);
    assert.match(controls, /<code>6\.1\.1<\/code>[\s\S]*?verdict met/);
    assert.match(controls, /<code>MS\.EXO\.13\.1v1<\/code>/);
    assert.match(controls, /exchange_mailbox_audit_bypass_disabled/);
    const failures = page.slice(page.indexOf('id="failures"'), page.indexOf('id="exemptions"'));
    assert.match(failures, /CIS Microsoft 365 Foundations 6\.1\.2/);
    assert.doesNotMatch(failures, /6\.1\.3/, "a failed mailbox says nothing about bypass associations");
  });

  it("shows the capture state: access and capacity", () => {
    const capture = page.slice(page.indexOf('id="capture"'), page.indexOf('id="runs"'));
    assert.match(capture, /Access: SOC Analysts/);
    assert.match(capture, /12\.0 GiB of 50 GiB\s+\(24\.0%\)/);
    assert.match(capture, /mailbox-audit-enforcer: capture all mail/);
  });

  it("renders a mailbox history page with the same escaping", () => {
    const history = renderHtmlHistory({ tenant: TENANT, mailbox: HOSTILE_NAME, entries: [] });
    assert.ok(!history.includes(HOSTILE_NAME));
    assert.match(history, /No recorded mailbox matches &lt;script&gt;/);
  });
});

describe("renderTextReport agrees with the HTML report", async () => {
  const text = renderTextReport(await fixtureReport());

  it("groups licence gaps one line per kind", () => {
    assert.match(
      text,
      /^Licence gaps \(6 mailboxes\):\n {2}AuditOwner: MailItemsAccessed, Send \(6 mailboxes\)\n {2}AuditAdmin: Send \(2 mailboxes\)$/m,
    );
  });

  it("lists every control with its verdict and evidence", () => {
    assert.match(text, /^ {2}not-met {6}CIS Microsoft 365 Foundations 6\.1\.2 \(9 meeting, 1 failed\)$/m);
    assert.match(text, /^ {2}met {10}CIS Microsoft 365 Foundations 6\.1\.3 \(0 meeting, 1 exempt\)$/m);
  });
});
