import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EXCHANGE_AUDIENCE, GRAPH_AUDIENCE, issueAccessToken } from "../../emulator/access-token";
import type { RunningEmulator } from "../../emulator/server";
import { AUDIT_PREMIUM_PLAN_ID, type EmulatedGroup, type EmulatedUser, type TenantState } from "../../emulator/tenant-state";
import { createEmptyTenant, rawRequest, withEmulator, type RawResponse } from "../support/emulator";

const T0 = "2026-03-01T00:00:00.000Z";

function user(index: number): EmulatedUser {
  return {
    id: `00000000-0000-4000-8000-00000000000${index}`,
    userPrincipalName: `user${index}@contoso.onmicrosoft.com`,
    displayName: `User ${index}`,
    mail: `user${index}@contoso.com`,
    accountEnabled: true,
    assignedPlans: [{ assignedDateTime: T0, capabilityStatus: "Enabled", service: "exchange", servicePlanId: AUDIT_PREMIUM_PLAN_ID }],
    lastModifiedDateTime: T0,
  };
}

function group(id: string, displayName: string, mail: string): EmulatedGroup {
  return {
    ExternalDirectoryObjectId: id,
    Identity: displayName,
    Name: displayName,
    DisplayName: displayName,
    PrimarySmtpAddress: mail,
    RecipientTypeDetails: mail ? "MailUniversalSecurityGroup" : "SecurityGroup",
    securityEnabled: true,
    mailEnabled: mail !== "",
  };
}

function graphTenant(): TenantState {
  const users = [1, 2, 3, 4, 5].map(user);
  const groups = [
    group("g-1", "Capture Readers", "capture-readers@contoso.com"),
    group("g-2", "O'Brien Team", ""),
  ];
  return createEmptyTenant({
    users: new Map(users.map((entry) => [entry.id, entry])),
    groups: new Map(groups.map((entry) => [entry.ExternalDirectoryObjectId, entry])),
    skus: [
      {
        skuId: "sku-1",
        skuPartNumber: "SPE_E5",
        servicePlans: [{ servicePlanId: AUDIT_PREMIUM_PLAN_ID, servicePlanName: "M365_ADVANCED_AUDITING", provisioningStatus: "Success", appliesTo: "User" }],
        prepaidUnits: { enabled: 10, suspended: 0, warning: 0 },
        consumedUnits: 5,
      },
    ],
  });
}

interface GraphErrorBody {
  error: { code: string; message: string; innerError: { "request-id": string; date: string } };
}
interface GraphList {
  value: Record<string, unknown>[];
  "@odata.nextLink"?: string;
  "@odata.deltaLink"?: string;
}

describe("emulator Graph subset", async () => {
  let clock = new Date("2026-03-02T00:00:00.000Z");
  const emulator: RunningEmulator = await withEmulator(graphTenant(), { now: () => clock });
  const token = issueAccessToken({ resource: GRAPH_AUDIENCE, clientId: "test" }).token;
  const graph = (path: string, options: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<RawResponse> =>
    rawRequest(emulator, {
      method: options.method ?? "GET",
      url: path.startsWith("https://") ? path : `${emulator.graphBaseUrl}${path}`,
      headers: { authorization: `Bearer ${token}`, ...options.headers },
      ...(options.body === undefined ? {} : { body: options.body }),
    });
  const assertGraphError = (response: RawResponse, status: number, code: string): void => {
    assert.equal(response.status, status);
    const body = response.json as GraphErrorBody;
    assert.equal(body.error.code, code);
    assert.ok(body.error.message.length > 0);
    assert.ok(body.error.innerError["request-id"]);
    assert.ok(body.error.innerError.date);
    assert.ok(response.headers["request-id"]);
  };

  it("refuses missing and Exchange-audience tokens with Graph's JSON 401", async () => {
    const missing = await rawRequest(emulator, { method: "GET", url: `${emulator.graphBaseUrl}/v1.0/subscribedSkus` });
    assertGraphError(missing, 401, "InvalidAuthenticationToken");
    const exchangeToken = issueAccessToken({ resource: EXCHANGE_AUDIENCE, clientId: "test" }).token;
    const wrongAudience = await rawRequest(emulator, {
      method: "GET",
      url: `${emulator.graphBaseUrl}/v1.0/subscribedSkus`,
      headers: { authorization: `Bearer ${exchangeToken}` },
    });
    assertGraphError(wrongAudience, 401, "InvalidAuthenticationToken");
  });

  it("pages users/delta, ends with a deltaLink that returns only users changed since, and rejects unknown or expired tokens", async () => {
    const ids: unknown[] = [];
    let next: string | undefined = "/v1.0/users/delta?$select=id,accountEnabled";
    let deltaLink: string | undefined;
    let pages = 0;
    while (next) {
      const response = await graph(next, { headers: { prefer: "odata.maxpagesize=2" } });
      assert.equal(response.status, 200);
      const body = response.json as GraphList;
      pages += 1;
      ids.push(...body.value.map((entry) => entry["id"]));
      for (const entry of body.value) assert.deepEqual(Object.keys(entry).sort(), ["accountEnabled", "id"]);
      next = body["@odata.nextLink"];
      deltaLink = body["@odata.deltaLink"];
      if (next) assert.ok(next.startsWith(`${emulator.graphBaseUrl}/v1.0/users/delta?`));
    }
    assert.equal(pages, 3);
    assert.deepEqual(ids, [...emulator.state.users.keys()]);
    assert.ok(deltaLink?.startsWith(`${emulator.graphBaseUrl}/v1.0/users/delta?$deltatoken=`));

    clock = new Date("2026-03-03T00:00:00.000Z");
    const changedId = "00000000-0000-4000-8000-000000000003";
    assert.equal((await graph(`/v1.0/users/${changedId}`, { method: "PATCH", body: { accountEnabled: false } })).status, 204);
    const delta = await graph(deltaLink ?? "");
    assert.equal(delta.status, 200);
    const deltaBody = delta.json as GraphList;
    assert.deepEqual(deltaBody.value.map((entry) => entry["id"]), [changedId]);
    assert.ok(deltaBody["@odata.deltaLink"]);

    assertGraphError(await graph("/v1.0/users/delta?$deltatoken=unknown"), 400, "syncStateNotFound");
    clock = new Date("2026-03-11T00:00:00.000Z");
    assertGraphError(await graph(deltaBody["@odata.deltaLink"] ?? ""), 400, "syncStateNotFound");
  });

  it("lists subscribedSkus", async () => {
    const response = await graph("/v1.0/subscribedSkus");
    assert.equal(response.status, 200);
    const body = response.json as GraphList;
    assert.deepEqual(body.value.map((sku) => sku["skuPartNumber"]), ["SPE_E5"]);
  });

  it("gets a user by id or UPN, with $select, and 404s an unknown one", async () => {
    const byUpn = await graph("/v1.0/users/USER2@contoso.onmicrosoft.com?$select=id,assignedPlans");
    assert.equal(byUpn.status, 200);
    const body = byUpn.json as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ["assignedPlans", "id"]);
    assert.equal(body["id"], "00000000-0000-4000-8000-000000000002");
    const byId = await graph("/v1.0/users/00000000-0000-4000-8000-000000000001");
    assert.equal((byId.json as Record<string, unknown>)["userPrincipalName"], "user1@contoso.onmicrosoft.com");
    assertGraphError(await graph("/v1.0/users/nobody@contoso.onmicrosoft.com"), 404, "Request_ResourceNotFound");
  });

  it("gets groups by id and filters by mail or displayName with doubled quotes; a malformed filter is 400", async () => {
    const byId = await graph("/v1.0/groups/g-1");
    assert.equal(byId.status, 200);
    assert.equal((byId.json as Record<string, unknown>)["mail"], "capture-readers@contoso.com");
    assert.equal((byId.json as Record<string, unknown>)["securityEnabled"], true);
    assertGraphError(await graph("/v1.0/groups/g-404"), 404, "Request_ResourceNotFound");

    const byMail = await graph(`/v1.0/groups?$filter=${encodeURIComponent("mail eq 'Capture-Readers@contoso.com'")}`);
    assert.deepEqual((byMail.json as GraphList).value.map((entry) => entry["id"]), ["g-1"]);
    const byName = await graph(`/v1.0/groups?$filter=${encodeURIComponent("displayName eq 'O''Brien Team'")}`);
    assert.deepEqual((byName.json as GraphList).value.map((entry) => entry["id"]), ["g-2"]);
    assert.equal((byName.json as GraphList).value[0]?.["mail"], null);
    assertGraphError(await graph(`/v1.0/groups?$filter=${encodeURIComponent("displayName eq 'O'Brien Team'")}`), 400, "BadRequest");
  });

  it("disables an account with PATCH accountEnabled (204) and rejects other properties", async () => {
    const id = "00000000-0000-4000-8000-000000000004";
    const response = await graph(`/v1.0/users/${id}`, { method: "PATCH", body: { accountEnabled: false } });
    assert.equal(response.status, 204);
    assert.equal(emulator.state.users.get(id)?.accountEnabled, false);
    assert.equal((await graph(`/v1.0/users/${id}`, { method: "PATCH", body: { accountEnabled: "no" } })).status, 400);
    assert.equal((await graph(`/v1.0/users/${id}`, { method: "PATCH", body: { displayName: "x" } })).status, 400);
  });

  it("records sendMail (202) in the tenant state and logs Graph calls", async () => {
    emulator.calls.reset();
    const message = { subject: "Audit drift", body: { contentType: "Text", content: "..." }, toRecipients: [] };
    const response = await graph("/v1.0/users/user1@contoso.onmicrosoft.com/sendMail", {
      method: "POST",
      body: { message, saveToSentItems: false },
      headers: { "client-request-id": "mail-1" },
    });
    assert.equal(response.status, 202);
    assert.equal(response.headers["client-request-id"], "mail-1");
    const sent = emulator.state.sentMail.at(-1);
    assert.equal(sent?.from, "user1@contoso.onmicrosoft.com");
    assert.deepEqual(sent?.message, message);
    assert.equal(sent?.saveToSentItems, false);
    assert.equal((await graph("/v1.0/users/user1@contoso.onmicrosoft.com/sendMail", { method: "POST", body: {} })).status, 400);
    assert.deepEqual(emulator.calls.countsByCmdlet(), { "POST /v1.0/users/{id}/sendMail": 2 });
    assert.equal(emulator.calls.records[0]?.api, "graph");
    assert.equal(emulator.calls.records[0]?.clientRequestId, "mail-1");
  });

  it("applies injected faults to Graph routes", async () => {
    emulator.faults.add({ cmdlet: "GET /v1.0/subscribedSkus", status: 429, retryAfterInSeconds: 3, times: 1 });
    const throttled = await graph("/v1.0/subscribedSkus");
    assertGraphError(throttled, 429, "TooManyRequests");
    assert.equal(throttled.headers["retry-after"], "3");
    assert.equal((await graph("/v1.0/subscribedSkus")).status, 200);
  });
});
