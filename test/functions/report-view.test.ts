/**
 * The signed-in report view (`GET /api/report/view`): the page an alert's link opens after App Service
 * Authentication's sign-in, without a function key. It must fail closed: served only with Entra caller
 * authentication on, as HTML, to a principal holding a reader (or operator) role.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { HttpRequest, InvocationContext, type HttpResponseInit } from "@azure/functions";
import { randomUUID } from "node:crypto";
import { createReportHandler } from "../../functions/report-http";
import { reportUrlOf } from "../../shared/alerts/alert-decision";
import { callerPolicy } from "../../shared/runs/caller-check";
import { MemoryOutcomeStore } from "../../shared/storage/memory-outcome-store";
import { principalWithRoles } from "./client-principal";

const TENANT = "contoso.onmicrosoft.com";
const READER = principalWithRoles("7a2b3c4d-5e6f-4a70-8b9c-1d2e3f4a5b6c", "MailboxAudit.Read");
const NO_ROLE = principalWithRoles("11111111-2222-4333-8444-555555555555");

async function view(settings: { CALLER_AUTH?: string; WEBSITE_AUTH_ENABLED?: string }, query = "", principal?: string): Promise<HttpResponseInit> {
  const store = new MemoryOutcomeStore();
  await store.recordOutcomes(TENANT, "run-1", "2026-01-01T00:00:00.000Z", [{ kind: "organization", targetId: "organization", displayName: "Contoso", status: "compliant", findings: [] }]);
  const handler = createReportHandler(() => Promise.resolve({ store, tenants: [TENANT], callers: callerPolicy([], settings), logLevel: "silent" }), { signedIn: true });
  const headers: Record<string, string> = principal ? { "x-ms-client-principal": principal } : {};
  return handler(new HttpRequest({ method: "GET", url: `https://app.example/api/report/view${query}`, headers }), new InvocationContext({ invocationId: randomUUID(), functionName: "report-view" }));
}

const detail = (response: HttpResponseInit): string => String((response.jsonBody as { detail?: string } | undefined)?.detail);

test("refused without Entra caller authentication, whatever header arrives (no function key protects this route)", async () => {
  for (const principal of [undefined, READER]) {
    const response = await view({}, "", principal);
    assert.equal(response.status, 403);
    assert.match(detail(response), /needs Entra caller authentication/);
  }
});

test("refused when App Service Authentication is off (the principal header could be forged), or the caller lacks a role", async () => {
  const easyAuthOff = await view({ CALLER_AUTH: "entra" }, "", READER);
  assert.equal(easyAuthOff.status, 403);
  assert.match(detail(easyAuthOff), /App Service Authentication is not enabled/);
  assert.equal((await view({ CALLER_AUTH: "entra", WEBSITE_AUTH_ENABLED: "True" })).status, 403, "no principal");
  assert.equal((await view({ CALLER_AUTH: "entra", WEBSITE_AUTH_ENABLED: "True" }, "", NO_ROLE)).status, 403, "no reader role");
});

test("serves the HTML report to a signed-in reader; other formats and unknown parameters are refused", async () => {
  const on = { CALLER_AUTH: "entra", WEBSITE_AUTH_ENABLED: "True" };
  const page = await view(on, `?tenant=${TENANT}`, READER);
  assert.equal(page.status, 200);
  assert.match(String((page.headers as Record<string, string>)["content-type"]), /^text\/html/);
  assert.equal((await view(on, "?format=json", READER)).status, 400);
  assert.equal((await view(on, "?formt=html", READER)).status, 400);
});

test("the alert's link signs the reader in and lands on the view; without Entra callers it is the function-key endpoint", () => {
  assert.equal(
    reportUrlOf("https://app.example/", TENANT, true),
    `https://app.example/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent(`/api/report/view?tenant=${TENANT}`)}`,
  );
  assert.equal(reportUrlOf("https://app.example", TENANT), `https://app.example/api/report?format=html&tenant=${TENANT}`);
});
