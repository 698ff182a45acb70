/**
 * The HTML report in a real browser: playwright-core driving Debian's Chromium (/usr/bin/chromium; `.ci/run`
 * installs it), never a downloaded browser. Opens the report file as a reader would (file://, offline), checks what
 * they see, that hostile tenant data stays text and no script runs, and writes the README's screenshot.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { renderHtmlReport } from "../../shared/report";
import {
  FAILED_REQUEST_ID,
  fixtureReport,
  HOSTILE_ERROR,
  HOSTILE_MISSING_NAME,
  HOSTILE_NAME,
  HOSTILE_OBJECT_ID,
  HOSTILE_QUERY_ID,
  STYLE_BREAKER,
} from "../report/html-fixture";

const CHROMIUM = "/usr/bin/chromium";
const root = resolve(__dirname, "../../..");
const SCREENSHOT = join(root, "docs/images/report.png");

describe("the HTML report in Chromium", () => {
  let directory: string;
  let context: BrowserContext;
  let page: Page;
  const blockedRequests: string[] = [];
  const consoleErrors: string[] = [];

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium; .ci/run does)`,
    );
    directory = await mkdtemp(join(tmpdir(), "report-browser-"));
    const file = join(directory, "report.html");
    await writeFile(file, renderHtmlReport(await fixtureReport()));
    context = await chromium.launchPersistentContext(join(directory, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
      ],
      viewport: { width: 1200, height: 900 },
      offline: true,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("request", (request) => {
      if (request.url() !== pathToFileURL(file).href) blockedRequests.push(request.url());
    });
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    await page.goto(pathToFileURL(file).href);
  });

  after(async () => {
    await context?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it("shows the counts at a glance", async () => {
    const tiles = await page.locator("ul.tiles li").allInnerTexts();
    assert.deepEqual(
      tiles.map((tile) => tile.replace(/\s+/g, " ").trim()),
      ["12 compliant", "1 remediated", "2 drift", "2 failed", "1 exempt", "0 not-applicable"],
    );
  });

  it("shows the failure row with Exchange's error and request id, hostile text as text", async () => {
    const row = page.locator("#failures tbody tr").first();
    const text = await row.innerText();
    assert.ok(text.includes(HOSTILE_NAME), text);
    assert.ok(text.includes(HOSTILE_ERROR), text);
    assert.ok(text.includes(FAILED_REQUEST_ID), text);
    assert.ok(text.includes("InvalidOperationException"), text);
    assert.ok((await page.locator("#drift").innerText()).includes(STYLE_BREAKER));
  });

  it("shows the audit trail evidence: failures first, the missing changes and hostile ids as text", async () => {
    const section = page.locator("#audit-evidence");
    assert.match(await section.locator("h2").innerText(), /Audit trail evidence/);
    assert.match(await section.locator(".activity").innerText(), /Mailbox audit records \(last 24 hours\): 1,234 mailbox audit records/);
    const rows = section.locator("tbody tr");
    assert.equal(await rows.count(), 3);
    const failed = await rows.first().innerText();
    assert.match(failed, /run-3[\s\S]*1 of 3 changes found in the audit log/);
    assert.ok(failed.includes(`Set-Mailbox on mailbox ${HOSTILE_MISSING_NAME} (${HOSTILE_OBJECT_ID})`), failed);
    assert.ok(failed.includes(`query ${HOSTILE_QUERY_ID}`), failed);
    assert.match(await rows.nth(1).innerText(), /run-4[\s\S]*pending AuditTrail/);
    assert.match(await page.locator("#runs tbody tr").first().innerText(), /Exchange 2 calls\s+Graph 9 calls/);
  });

  it("runs no script and loads nothing: the hostile data never executes", async () => {
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned), undefined);
    assert.equal(await page.locator("script, img, iframe, object, embed, svg[onload]").count(), 0);
    assert.deepEqual(blockedRequests, []);
    assert.deepEqual(consoleErrors, [], "no CSP violation: the inline style sheet matches its hash");
  });

  it("applies its own style sheet (the CSP allows it)", async () => {
    const weight = await page
      .locator("ul.tiles .count")
      .first()
      .evaluate((element) => getComputedStyle(element).fontWeight);
    assert.equal(weight, "700");
  });

  it("draws the compliance chart, one bar per run", async () => {
    assert.equal(await page.locator("#trend svg.chart g.run").count(), 5);
    const box = await page.locator("#trend svg.chart").boundingBox();
    assert.ok(box && box.width > 300 && box.height > 80, `chart drawn: ${JSON.stringify(box)}`);
  });

  it("opens the licence-gap disclosure to list the mailboxes", async () => {
    const group = page.locator("#licence-gaps li.gap").first();
    const mailbox = group.locator("details li").first();
    assert.equal(await mailbox.isVisible(), false);
    await group.locator("summary").click();
    assert.equal(await mailbox.isVisible(), true);
    assert.match(await mailbox.innerText(), /user1\d@contoso\.com/);
    await group.locator("summary").click();
  });

  it("writes the README's screenshot", async () => {
    await mkdir(join(root, "docs/images"), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true, clip: { x: 0, y: 0, width: 1200, height: 1500 } });
    assert.ok(existsSync(SCREENSHOT));
  });

  it("prints to PDF with the licence-gap lists expanded", async () => {
    const mailbox = page.locator("#licence-gaps details li").first();
    assert.equal(await mailbox.isVisible(), false);
    await page.emulateMedia({ media: "print" });
    assert.equal(await mailbox.isVisible(), true);
    await page.emulateMedia({ media: "screen" });
    const pdf = await page.pdf({ format: "A4", printBackground: true });
    assert.equal(pdf.subarray(0, 5).toString(), "%PDF-");
  });
});
