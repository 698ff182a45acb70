/**
 * The emulated Purview Audit Search API (Graph v1.0 `security/auditLog/queries`) over HTTPS through the real server:
 * request validation, permissions, status progression, paging, records of the Exchange writes the emulator served
 * (ingestion delay, lost records), synthetic mailbox activity, faults. Rows 7.x of docs/exchange-wire-contract.md.
 */
import { beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { EXCHANGE_AUDIENCE, GRAPH_AUDIENCE, issueAccessToken } from "../../emulator/access-token";
import { EMULATED_FOREST, type AdminAuditEvent } from "../../emulator/audit-search";
import type { RunningEmulator } from "../../emulator/server";
import type { EmulatedMailbox } from "../../emulator/tenant-state";
import { parseCommand } from "../../cli/args";
import { GraphClient } from "../../shared/graph/client";
import { createEmptyTenant, rawRequest, withEmulator, type RawResponse } from "../support/emulator";

const TENANT_ID = "6f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f";
const ALL_ACTIONS = ["MailItemsAccessed", "Send", "Update", "MoveToDeletedItems", "SoftDelete", "HardDelete"];
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

function mailbox(index: number, overrides: Partial<EmulatedMailbox> = {}): EmulatedMailbox {
  const hex = index.toString(16).padStart(12, "0");
  return {
    Guid: `aaaaaaaa-0000-4000-8000-${hex}`,
    ExternalDirectoryObjectId: `bbbbbbbb-0000-4000-8000-${hex}`,
    Identity: `user${index}`,
    Name: `user${index}`,
    Alias: `user${index}`,
    DisplayName: `User ${index}`,
    PrimarySmtpAddress: `user${index}@contoso.com`,
    UserPrincipalName: `user${index}@contoso.com`,
    RecipientTypeDetails: "UserMailbox",
    AuditEnabled: true,
    AuditLogAgeLimit: "180.00:00:00",
    AuditAdmin: ["Update", "HardDelete"],
    AuditDelegate: ["SendAs"],
    AuditOwner: [...ALL_ACTIONS],
    DefaultAuditSet: ["Admin", "Delegate", "Owner"],
    HiddenFromAddressListsEnabled: false,
    WhenCreatedUTC: "2025-01-01T00:00:00.000Z",
    WhenChangedUTC: "2025-01-01T00:00:00.000Z",
    auditPremiumLicensed: true,
    licensed: true,
    totalItemSizeInBytes: 1000,
    itemCount: 10,
    ...overrides,
  };
}

interface GraphError {
  error: { code: string; message: string; innerError: { "request-id": string; date: string } };
}
interface Query {
  "@odata.context"?: string;
  id: string;
  status: string;
  approximateReturnedRecordCount: number | null;
  [name: string]: unknown;
}
interface AuditRecord {
  id: string;
  createdDateTime: string;
  auditLogRecordType: string;
  operation: string;
  objectId: string | null;
  userPrincipalName: string;
  auditData: Record<string, unknown>;
  [name: string]: unknown;
}
interface RecordPage {
  "@odata.context": string;
  value: AuditRecord[];
  "@odata.nextLink"?: string;
}

describe("emulator: Purview Audit Search API (Graph v1.0 security/auditLog/queries)", async () => {
  let clock = new Date("2026-03-10T12:00:00.000Z");
  const mailboxes = [
    mailbox(1),
    mailbox(2),
    mailbox(3, { AuditEnabled: false }),
    mailbox(4, { AuditOwner: ["Send", "Update"] }),
  ];
  const tenant = createEmptyTenant({
    tenantId: TENANT_ID,
    mailboxes: new Map(mailboxes.map((entry) => [entry.ExternalDirectoryObjectId, entry])),
  });
  const emulator: RunningEmulator = await withEmulator(tenant, {
    now: () => clock,
    auditSearch: { activityPerMailboxPerDay: 0 },
  });
  const graphToken = issueAccessToken({ resource: GRAPH_AUDIENCE, clientId: "audit-test-app" }).token;
  const exchangeToken = issueAccessToken({
    resource: EXCHANGE_AUDIENCE,
    clientId: "audit-test-app",
    objectId: "sp-object-id",
  }).token;

  const graph = (
    path: string,
    options: { method?: string; body?: unknown; headers?: Record<string, string>; token?: string } = {},
  ): Promise<RawResponse> =>
    rawRequest(emulator, {
      method: options.method ?? "GET",
      url: path.startsWith("https://") ? path : `${emulator.graphBaseUrl}${path}`,
      headers: { authorization: `Bearer ${options.token ?? graphToken}`, ...options.headers },
      ...(options.body === undefined ? {} : { body: options.body }),
    });
  const invoke = (cmdlet: string, parameters: Record<string, unknown>): Promise<RawResponse> =>
    rawRequest(emulator, {
      url: `${emulator.exchangeBaseUrl}/adminapi/beta/${TENANT_ID}/InvokeCommand`,
      headers: { authorization: `Bearer ${exchangeToken}` },
      body: { CmdletInput: { CmdletName: cmdlet, Parameters: parameters } },
    });
  const window = (
    startInMs: number,
    endInMs: number,
    extra: Record<string, unknown> = {},
  ): Record<string, unknown> => ({
    "@odata.type": "#microsoft.graph.security.auditLogQuery",
    displayName: "test",
    filterStartDateTime: new Date(startInMs).toISOString(),
    filterEndDateTime: new Date(endInMs).toISOString(),
    ...extra,
  });
  const create = async (body: unknown): Promise<Query> => {
    const response = await graph("/v1.0/security/auditLog/queries", { method: "POST", body });
    assert.equal(response.status, 201, response.text);
    return response.json as Query;
  };
  const poll = async (id: string): Promise<Query> => {
    const response = await graph(`/v1.0/security/auditLog/queries/${id}`);
    assert.equal(response.status, 200, response.text);
    return response.json as Query;
  };
  /** Creates a query, polls it to its end and reads every page (following nextLinks). */
  const search = async (
    body: unknown,
    query = "",
  ): Promise<{ query: Query; records: AuditRecord[]; pages: number }> => {
    const created = await create(body);
    let state = await poll(created.id);
    while (state.status === "running" || state.status === "notStarted") state = await poll(created.id);
    assert.equal(state.status, "succeeded");
    const records: AuditRecord[] = [];
    let url: string | undefined = `/v1.0/security/auditLog/queries/${created.id}/records${query}`;
    let pages = 0;
    while (url !== undefined) {
      const response = await graph(url);
      assert.equal(response.status, 200, response.text);
      const page = response.json as RecordPage;
      records.push(...page.value);
      pages += 1;
      url = page["@odata.nextLink"];
      if (url !== undefined)
        assert.ok(url.startsWith(`${emulator.graphBaseUrl}/v1.0/`), `nextLink on the emulator's host: ${url}`);
    }
    return { query: state, records, pages };
  };
  const assertGraphError = (response: RawResponse, status: number, code: string): void => {
    assert.equal(response.status, status, response.text);
    const body = response.json as GraphError;
    assert.equal(body.error.code, code);
    assert.ok(body.error.message.length > 0);
    assert.ok(body.error.innerError["request-id"]);
  };
  const dayWindow = (extra: Record<string, unknown> = {}): Record<string, unknown> =>
    window(clock.getTime() - DAY, clock.getTime() + 1, extra);

  beforeEach(() => {
    emulator.auditSearch.clear();
    emulator.auditSearch.configure({
      ingestionDelayMs: 0,
      lostShare: 0,
      loseWhen: undefined,
      activityPerMailboxPerDay: 0,
      pollsToComplete: 2,
      queryOutcome: "succeeded",
      versions: ["v1.0", "beta"],
    });
  });

  describe("POST queries: the request body is validated like the service's", () => {
    const start = "2026-03-01T00:00:00Z";
    const end = "2026-03-02T00:00:00Z";
    const refused: [string, unknown][] = [
      ["not an object", [start, end]],
      [
        "an unknown property (the create page's serviceFilter; the type has serviceFilters)",
        { filterStartDateTime: start, filterEndDateTime: end, serviceFilter: "Exchange" },
      ],
      ["another type", { "@odata.type": "#microsoft.graph.user", filterStartDateTime: start, filterEndDateTime: end }],
      ["displayName not a string", { displayName: 7, filterStartDateTime: start, filterEndDateTime: end }],
      [
        "recordTypeFilters not a collection",
        { recordTypeFilters: "exchangeAdmin", filterStartDateTime: start, filterEndDateTime: end },
      ],
      [
        "an unknown record type",
        { recordTypeFilters: ["exchangeAdmin", "mailboxAudit"], filterStartDateTime: start, filterEndDateTime: end },
      ],
      [
        "a record type in the wrong case",
        { recordTypeFilters: ["ExchangeAdmin"], filterStartDateTime: start, filterEndDateTime: end },
      ],
      [
        "operationFilters with a number",
        { operationFilters: ["Set-Mailbox", 3], filterStartDateTime: start, filterEndDateTime: end },
      ],
      ["no filterStartDateTime", { filterEndDateTime: end }],
      ["no filterEndDateTime", { filterStartDateTime: start }],
      ["a date that is not a date", { filterStartDateTime: "yesterday", filterEndDateTime: end }],
      ["a date without a zone", { filterStartDateTime: "2026-03-01T00:00:00", filterEndDateTime: end }],
      ["a date only", { filterStartDateTime: "2026-03-01", filterEndDateTime: end }],
      ["start after end", { filterStartDateTime: end, filterEndDateTime: start }],
      ["an unknown status", { status: "done", filterStartDateTime: start, filterEndDateTime: end }],
    ];
    for (const [title, body] of refused) {
      it(`refuses ${title}: 400 BadRequest, no query created`, async () => {
        const before = emulator.auditSearch.queryCount;
        const response = await graph("/v1.0/security/auditLog/queries", { method: "POST", body });
        assertGraphError(response, 400, "BadRequest");
        assert.equal(emulator.auditSearch.queryCount, before);
      });
    }

    it("answers 201 with the query: its id, the filters echoed (dates in UTC), status notStarted", async () => {
      const response = await graph("/v1.0/security/auditLog/queries", {
        method: "POST",
        body: {
          "@odata.type": "#microsoft.graph.security.auditLogQuery",
          displayName: "evidence",
          filterStartDateTime: "2026-03-01T01:00:00+01:00",
          filterEndDateTime: end,
          recordTypeFilters: ["exchangeAdmin"],
          operationFilters: ["Set-Mailbox"],
          serviceFilters: ["Exchange"],
        },
      });
      assert.equal(response.status, 201, response.text);
      const query = response.json as Query;
      assert.equal(
        query["@odata.context"],
        `${emulator.graphBaseUrl}/v1.0/$metadata#security/auditLog/queries/$entity`,
      );
      assert.match(query.id, /^[0-9a-f-]{36}$/);
      assert.equal(query.status, "notStarted");
      assert.equal(query["displayName"], "evidence");
      assert.equal(query["filterStartDateTime"], "2026-03-01T00:00:00Z");
      assert.equal(query["filterEndDateTime"], end);
      assert.deepEqual(query["recordTypeFilters"], ["exchangeAdmin"]);
      assert.deepEqual(query["operationFilters"], ["Set-Mailbox"]);
      assert.deepEqual(query["objectIdFilters"], []);
      assert.equal(query["keywordFilter"], null);
      assert.equal(query.approximateReturnedRecordCount, null);
      assert.equal(emulator.auditSearch.queryCount, 1);
    });
  });

  describe("the shapes of Microsoft's documented examples (List auditLogRecords, the auditLogQuery resource)", () => {
    // The property names of the JSON examples on the v1.0 reference pages (docs/exchange-wire-contract.md 7.5, 7.12).
    const DOCUMENTED_QUERY = [
      "@odata.type",
      "id",
      "displayName",
      "filterStartDateTime",
      "filterEndDateTime",
      "recordTypeFilters",
      "keywordFilter",
      "serviceFilters",
      "operationFilters",
      "userPrincipalNameFilters",
      "ipAddressFilters",
      "objectIdFilters",
      "administrativeUnitIdFilters",
      "status",
      "approximateReturnedRecordCount",
      "isRecordCountLimitExceeded",
      "recordCountLimit",
    ];
    const DOCUMENTED_RECORD = [
      "@odata.type",
      "id",
      "createdDateTime",
      "auditLogRecordType",
      "operation",
      "organizationId",
      "userType",
      "userId",
      "service",
      "objectId",
      "userPrincipalName",
      "clientIp",
      "administrativeUnits",
      "auditData",
    ];

    it("a query and a record carry every documented property, and no other top-level one", async () => {
      emulator.auditSearch.configure({ activityPerMailboxPerDay: 4 });
      await invoke("Set-Mailbox", { Identity: mailboxes[0]?.Guid, AuditEnabled: true });
      const { query, records } = await search(dayWindow());
      assert.deepEqual(
        Object.keys(query)
          .filter((key) => key !== "@odata.context")
          .sort(),
        [...DOCUMENTED_QUERY].sort(),
      );
      const admin = records.find((record) => record.auditLogRecordType === "exchangeAdmin");
      const item = records.find((record) => record.auditLogRecordType !== "exchangeAdmin");
      for (const record of [admin, item]) {
        assert.ok(record);
        assert.deepEqual(Object.keys(record).sort(), [...DOCUMENTED_RECORD].sort());
        assert.equal(record["@odata.type"], "#microsoft.graph.security.auditLogRecord");
        assert.equal(record.auditData["@odata.type"], "#microsoft.graph.security.defaultAuditData");
      }
    });
  });

  describe("GET queries/{id}: status advances per poll", () => {
    it("notStarted -> running -> succeeded after the configured polls (2 here)", async () => {
      const query = await create(dayWindow());
      assert.equal((await poll(query.id)).status, "running");
      const done = await poll(query.id);
      assert.equal(done.status, "succeeded");
      assert.equal(done.approximateReturnedRecordCount, 0);
      assert.equal((await poll(query.id)).status, "succeeded", "terminal");
    });

    it("pollsToComplete 3: running twice; queryOutcome failed: failed, and its records are refused", async () => {
      emulator.auditSearch.configure({ pollsToComplete: 3 });
      const slow = await create(dayWindow());
      assert.deepEqual(
        [(await poll(slow.id)).status, (await poll(slow.id)).status, (await poll(slow.id)).status],
        ["running", "running", "succeeded"],
      );
      emulator.auditSearch.configure({ pollsToComplete: 1, queryOutcome: "failed" });
      const failing = await create(dayWindow());
      assert.equal((await poll(failing.id)).status, "failed");
      assertGraphError(await graph(`/v1.0/security/auditLog/queries/${failing.id}/records`), 400, "BadRequest");
    });

    it("records before the query succeeded: 400 (assumed), then 200 once it has", async () => {
      const query = await create(dayWindow());
      assertGraphError(await graph(`/v1.0/security/auditLog/queries/${query.id}/records`), 400, "BadRequest");
      await poll(query.id);
      assertGraphError(await graph(`/v1.0/security/auditLog/queries/${query.id}/records`), 400, "BadRequest");
      await poll(query.id);
      assert.equal((await graph(`/v1.0/security/auditLog/queries/${query.id}/records`)).status, 200);
    });

    it("an unknown id: 404 for the query and for its records", async () => {
      assertGraphError(
        await graph("/v1.0/security/auditLog/queries/00000000-0000-0000-0000-000000000000"),
        404,
        "NotFound",
      );
      assertGraphError(
        await graph("/v1.0/security/auditLog/queries/00000000-0000-0000-0000-000000000000/records"),
        404,
        "NotFound",
      );
    });
  });

  describe("permissions", () => {
    it("without any AuditLogsQuery permission: 403 Authorization_RequestDenied, no query created", async () => {
      const token = issueAccessToken({
        resource: GRAPH_AUDIENCE,
        clientId: "no-audit",
        roles: ["User.Read.All"],
      }).token;
      assertGraphError(
        await graph("/v1.0/security/auditLog/queries", { method: "POST", body: dayWindow(), token }),
        403,
        "Authorization_RequestDenied",
      );
      assert.equal(emulator.auditSearch.queryCount, 0);
    });

    it("with another service's permission only: the query runs, Exchange's records are refused (403)", async () => {
      const token = issueAccessToken({
        resource: GRAPH_AUDIENCE,
        clientId: "entra-only",
        roles: ["AuditLogsQuery-Entra.Read.All"],
      }).token;
      const created = await graph("/v1.0/security/auditLog/queries", { method: "POST", body: dayWindow(), token });
      assert.equal(created.status, 201);
      const { id } = created.json as Query;
      await graph(`/v1.0/security/auditLog/queries/${id}`, { token });
      assert.equal(
        ((await graph(`/v1.0/security/auditLog/queries/${id}`, { token })).json as Query).status,
        "succeeded",
      );
      assertGraphError(
        await graph(`/v1.0/security/auditLog/queries/${id}/records`, { token }),
        403,
        "Authorization_RequestDenied",
      );
      const all = issueAccessToken({
        resource: GRAPH_AUDIENCE,
        clientId: "all-logs",
        roles: ["AuditLogsQuery.Read.All"],
      }).token;
      assert.equal((await graph(`/v1.0/security/auditLog/queries/${id}/records`, { token: all })).status, 200);
    });
  });

  describe("records of the Exchange writes the emulator served", () => {
    it("one exchangeAdmin record per successful write (not reads, not failures), the object as Exchange names it", async () => {
      const target = mailboxes[0];
      assert.ok(target);
      const written = await invoke("Set-Mailbox", {
        Identity: target.Guid,
        AuditEnabled: true,
        AuditAdmin: { "@odata.type": "#Exchange.GenericHashTable", Add: ["Send"] },
      });
      assert.equal(written.status, 200, written.text);
      assert.equal((await invoke("Get-Mailbox", { Identity: target.Guid })).status, 200);
      assert.notEqual((await invoke("Set-Mailbox", { Identity: "nobody-here", AuditEnabled: true })).status, 200);
      const { records } = await search(dayWindow({ recordTypeFilters: ["exchangeAdmin"] }));
      assert.equal(records.length, 1, JSON.stringify(records.map((record) => record.operation)));
      const [record] = records;
      assert.ok(record);
      assert.equal(record.operation, "Set-Mailbox");
      assert.equal(record.auditLogRecordType, "exchangeAdmin");
      assert.equal(record.createdDateTime, clock.toISOString());
      assert.equal(record["organizationId"], TENANT_ID);
      assert.equal(record["service"], "Exchange");
      assert.equal(
        record.objectId,
        `${EMULATED_FOREST}/Microsoft Exchange Hosted Organizations/contoso.onmicrosoft.com/user1`,
      );
      assert.notEqual(record.objectId, target.Guid, "not the string the client sent");
      const data = record.auditData;
      assert.equal(data["Operation"], "Set-Mailbox");
      assert.equal(data["ObjectId"], record.objectId);
      assert.equal(data["Workload"], "Exchange");
      assert.equal(data["RecordType"], 1);
      assert.equal(data["ResultStatus"], "True");
      assert.equal(data["OrganizationId"], TENANT_ID);
      assert.equal(data["AppId"], "audit-test-app");
      assert.equal(data["UserId"], "sp-object-id");
      assert.equal(
        data["CreationTime"],
        clock.toISOString().slice(0, 19),
        "UTC without a zone, as the unified audit log writes it",
      );
      assert.deepEqual(data["Parameters"], [
        { Name: "Identity", Value: target.Guid },
        { Name: "AuditEnabled", Value: "True" },
        { Name: "AuditAdmin", Value: "Add=Send" },
      ]);
    });

    it("batch sub-requests count; filters on operation and object id are case-insensitive", async () => {
      const response = await rawRequest(emulator, {
        url: `${emulator.exchangeBaseUrl}/adminapi/beta/${TENANT_ID}/$batch`,
        headers: { authorization: `Bearer ${exchangeToken}` },
        body: {
          requests: [mailboxes[0], mailboxes[1]].map((entry, index) => ({
            id: String(index),
            method: "POST",
            url: `${emulator.exchangeBaseUrl}/adminapi/beta/${TENANT_ID}/InvokeCommand`,
            headers: { "Content-Type": "application/json" },
            body: {
              CmdletInput: {
                CmdletName: "Set-Mailbox",
                Parameters: { Identity: entry?.Guid, AuditLogAgeLimit: "180.00:00:00" },
              },
            },
          })),
        },
      });
      assert.equal(response.status, 200, response.text);
      assert.ok(emulator.auditSearch.adminEvents.every((event) => event.viaBatch));
      const objectId =
        `${EMULATED_FOREST}/Microsoft Exchange Hosted Organizations/contoso.onmicrosoft.com/user2`.toUpperCase();
      const { records } = await search(dayWindow({ operationFilters: ["set-mailbox"], objectIdFilters: [objectId] }));
      assert.deepEqual(
        records.map((record) => record.objectId?.toUpperCase()),
        [objectId],
      );
      const none = await search(dayWindow({ operationFilters: ["Set-OrganizationConfig"] }));
      assert.equal(none.records.length, 0);
    });

    it("a record is not searchable until ingestionDelayMs after its event", async () => {
      emulator.auditSearch.configure({ ingestionDelayMs: HOUR });
      const writtenAt = clock.getTime();
      await invoke("Set-Mailbox", { Identity: mailboxes[1]?.Guid, AuditEnabled: true });
      const body = window(writtenAt - HOUR, writtenAt + 3 * HOUR, { recordTypeFilters: ["exchangeAdmin"] });
      try {
        clock = new Date(writtenAt + HOUR - 1);
        assert.equal((await search(body)).records.length, 0, "one millisecond short of the delay");
        clock = new Date(writtenAt + HOUR);
        assert.equal((await search(body)).records.length, 1, "searchable once the delay has passed");
      } finally {
        clock = new Date(writtenAt);
      }
    });

    it("lost records: lostShare 1 loses all, loseWhen loses the chosen object, lostShare 0.5 a stable half", async () => {
      for (let index = 0; index < 40; index++)
        await invoke("Set-Mailbox", {
          Identity: mailboxes[index % 2]?.Guid,
          AuditLogAgeLimit: `${100 + index}.00:00:00`,
        });
      const body = dayWindow({ recordTypeFilters: ["exchangeAdmin"] });
      assert.equal((await search(body)).records.length, 40);

      emulator.auditSearch.configure({ lostShare: 1 });
      assert.equal((await search(body)).records.length, 0);

      emulator.auditSearch.configure({
        lostShare: 0,
        loseWhen: (event: AdminAuditEvent) => event.objectId.endsWith("/user1"),
      });
      const kept = (await search(body)).records;
      assert.equal(kept.length, 20);
      assert.ok(kept.every((record) => record.objectId?.endsWith("/user2")));

      emulator.auditSearch.configure({ lostShare: 0.5, loseWhen: undefined });
      const half = (await search(body)).records.map((record) => record.id).sort();
      const expected = emulator.auditSearch.adminEvents
        .filter((event) => emulator.auditSearch.isKept(event))
        .map((event) => event.id)
        .sort();
      assert.deepEqual(half, expected);
      assert.ok(half.length > 0 && half.length < 40, `a share, not all or nothing (${half.length})`);
      assert.deepEqual(
        (await search(body)).records.map((record) => record.id).sort(),
        half,
        "the same records every time",
      );
    });
  });

  describe("synthetic mailbox activity", () => {
    it("per audited mailbox, activityPerMailboxPerDay records spread over the window; 0 = none", async () => {
      emulator.auditSearch.configure({ activityPerMailboxPerDay: 4 });
      const start = Date.parse("2026-03-08T00:00:00Z");
      const { query, records } = await search(window(start, start + 2 * DAY));
      // user1, user2: every action audited, 8 each; user3: auditing off; user4: Send and Update only (a third of them).
      const byUser = new Map<string, number>();
      for (const record of records)
        byUser.set(record.userPrincipalName, (byUser.get(record.userPrincipalName) ?? 0) + 1);
      assert.equal(byUser.get("user1@contoso.com"), 8);
      assert.equal(byUser.get("user2@contoso.com"), 8);
      assert.equal(byUser.get("user3@contoso.com"), undefined);
      const user4 = byUser.get("user4@contoso.com") ?? 0;
      assert.ok(user4 >= 2 && user4 <= 4, `user4 audits 2 of 6 actions: ${user4}`);
      assert.equal(query.approximateReturnedRecordCount, records.length);
      assert.equal(new Set(records.map((record) => record.id)).size, records.length, "unique ids");
      for (const record of records) {
        const at = Date.parse(record.createdDateTime);
        assert.ok(at >= start && at < start + 2 * DAY, record.createdDateTime);
        assert.ok(["exchangeItem", "exchangeItemGroup", "exchangeItemAggregated"].includes(record.auditLogRecordType));
        assert.equal(record.auditData["MailboxOwnerUPN"], record.userPrincipalName);
      }
      const again = await search(window(start, start + 2 * DAY));
      assert.deepEqual(again.records, records, "deterministic");

      emulator.auditSearch.configure({ activityPerMailboxPerDay: 0 });
      assert.equal((await search(window(start, start + 2 * DAY))).records.length, 0, "no activity at all");
    });

    it("operation, record type and user filters; a window in the future has nothing", async () => {
      emulator.auditSearch.configure({ activityPerMailboxPerDay: 1 });
      const start = Date.parse("2026-03-01T00:00:00Z");
      const sixDays = window(start, start + 6 * DAY, { operationFilters: ["mailitemsaccessed"] });
      // One event a day cycles through the six actions: six days hold exactly one MailItemsAccessed per mailbox.
      const accessed = (await search(sixDays)).records;
      assert.deepEqual(accessed.map((record) => record.userPrincipalName).sort(), [
        "user1@contoso.com",
        "user2@contoso.com",
      ]);
      assert.ok(
        accessed.every(
          (record) =>
            record.operation === "MailItemsAccessed" && record.auditLogRecordType === "exchangeItemAggregated",
        ),
      );
      const groups = (
        await search(
          window(start, start + 6 * DAY, {
            recordTypeFilters: ["exchangeItemGroup"],
            userPrincipalNameFilters: ["USER1@contoso.com"],
          }),
        )
      ).records;
      assert.equal(groups.length, 3);
      assert.deepEqual(
        new Set(groups.map((record) => record.operation)),
        new Set(["MoveToDeletedItems", "SoftDelete", "HardDelete"]),
      );
      assert.equal((await search(window(clock.getTime() + HOUR, clock.getTime() + DAY))).records.length, 0);
    });
  });

  describe("paging", () => {
    it("$top pages with @odata.nextLink on the emulator's host; the pages add up to the result set", async () => {
      emulator.auditSearch.configure({ activityPerMailboxPerDay: 4 });
      const start = Date.parse("2026-03-08T00:00:00Z");
      const body = window(start, start + DAY, {
        recordTypeFilters: ["exchangeItem", "exchangeItemGroup", "exchangeItemAggregated"],
      });
      const whole = await search(body, "?$top=1000");
      assert.equal(whole.pages, 1);
      const paged = await search(body, "?$top=3");
      assert.equal(paged.pages, Math.ceil(whole.records.length / 3));
      assert.deepEqual(paged.records, whole.records);
      const preferred = await create(body);
      await poll(preferred.id);
      await poll(preferred.id);
      const first = await graph(`/v1.0/security/auditLog/queries/${preferred.id}/records`, {
        headers: { Prefer: "odata.maxpagesize=2" },
      });
      const page = first.json as RecordPage;
      assert.equal(page.value.length, 2);
      assert.ok(
        page["@odata.nextLink"]?.startsWith(
          `${emulator.graphBaseUrl}/v1.0/security/auditLog/queries/${preferred.id}/records?`,
        ),
      );
      assert.equal(
        page["@odata.context"],
        `${emulator.graphBaseUrl}/v1.0/$metadata#security/auditLog/queries('${preferred.id}')/records`,
      );
    });

    it("a bad $top or a skip token of another query: 400", async () => {
      const one = await search(dayWindow());
      assertGraphError(
        await graph(`/v1.0/security/auditLog/queries/${one.query.id}/records?$top=-1`),
        400,
        "BadRequest",
      );
      assertGraphError(
        await graph(`/v1.0/security/auditLog/queries/${one.query.id}/records?$skiptoken=bogus`),
        400,
        "BadRequest",
      );
    });

    it("100,000 audited mailboxes: the activity is counted and paged without being materialised", async () => {
      const big = new Map<string, EmulatedMailbox>();
      for (let index = 0; index < 100_000; index++) {
        const entry = mailbox(1000 + index);
        big.set(entry.ExternalDirectoryObjectId, entry);
      }
      const original = tenant.mailboxes;
      tenant.mailboxes = big;
      try {
        emulator.auditSearch.configure({ activityPerMailboxPerDay: 4 });
        const start = Date.parse("2026-03-08T00:00:00Z");
        const query = await create(window(start, start + DAY));
        await poll(query.id);
        const done = await poll(query.id);
        assert.equal(done.approximateReturnedRecordCount, 400_000);
        const page = (await graph(`/v1.0/security/auditLog/queries/${query.id}/records?$top=1000`)).json as RecordPage;
        assert.equal(page.value.length, 1000);
        assert.ok(page["@odata.nextLink"]);
      } finally {
        tenant.mailboxes = original;
      }
    });
  });

  describe("faults", () => {
    it("a 429 with Retry-After on create, then the retry is served; a 503 on records", async () => {
      emulator.faults.add({
        cmdlet: "POST /v1.0/security/auditLog/queries",
        status: 429,
        retryAfterInSeconds: 7,
        times: 1,
      });
      const throttled = await graph("/v1.0/security/auditLog/queries", { method: "POST", body: dayWindow() });
      assertGraphError(throttled, 429, "TooManyRequests");
      assert.equal(throttled.headers["retry-after"], "7");
      assert.equal(emulator.auditSearch.queryCount, 0, "a throttled create creates nothing");
      const query = await create(dayWindow());
      await poll(query.id);
      await poll(query.id);
      emulator.faults.add({ cmdlet: "GET /v1.0/security/auditLog/queries/{id}/records", status: 503, times: 1 });
      assertGraphError(await graph(`/v1.0/security/auditLog/queries/${query.id}/records`), 503, "serviceNotAvailable");
      assert.equal((await graph(`/v1.0/security/auditLog/queries/${query.id}/records`)).status, 200);
    });
  });

  describe("Graph version (wire contract 7.21)", () => {
    const graphClient = () =>
      new GraphClient({
        tenantId: TENANT_ID,
        baseUrl: emulator.graphBaseUrl,
        credential: { getToken: () => Promise.resolve({ token: graphToken, expiresOnTimestamp: Date.now() + HOUR }) },
        extraCaPem: emulator.caCertificatePem,
      });
    const lastDay = () => ({ displayName: "t", filterStartDateTime: new Date(clock.getTime() - DAY).toISOString(), filterEndDateTime: clock.toISOString(), recordTypeFilters: ["exchangeItem"] });
    it("served on beta only: v1.0 is an unknown segment; the Graph client moves to beta once and stays there", async () => {
      emulator.auditSearch.configure({ versions: ["beta"] });
      const refused = await graph("/v1.0/security/auditLog/queries", { method: "POST", body: dayWindow() });
      assert.equal(refused.status, 400);
      assert.match((refused.json as GraphError).error.message, /Resource not found for the segment/);
      assert.equal(emulator.auditSearch.queryCount, 0);

      const client = graphClient();
      emulator.calls.reset();
      const created = await client.createAuditLogQuery(lastDay());
      assert.equal(created.status, "notStarted");
      while ((await client.getAuditLogQuery(created.id)).status !== "succeeded");
      for await (const page of client.listAuditLogRecordPages(created.id)) assert.deepEqual(page, []);
      const routes = emulator.calls.records.filter((call) => call.api === "graph").map((call) => `${call.status} ${call.cmdlet}`);
      assert.deepEqual(routes, [
        "400 POST /v1.0/security/auditLog/queries",
        "201 POST /beta/security/auditLog/queries",
        "200 GET /beta/security/auditLog/queries/{id}",
        "200 GET /beta/security/auditLog/queries/{id}",
        "200 GET /beta/security/auditLog/queries/{id}/records",
      ]);
      const second = await client.createAuditLogQuery(lastDay());
      assert.ok(second.id);
      assert.equal(emulator.calls.records.at(-1)?.cmdlet, "POST /beta/security/auditLog/queries", "stays on beta");
    });

    it("served on v1.0: the client never asks beta", async () => {
      const client = graphClient();
      emulator.calls.reset();
      await client.createAuditLogQuery(lastDay());
      assert.deepEqual(emulator.calls.records.filter((call) => call.api === "graph").map((call) => call.cmdlet), ["POST /v1.0/security/auditLog/queries"]);
    });
  });

  describe("mailbox-audit emulator flags", () => {
    it("--audit-ingestion-delay, --audit-lost-share, --audit-activity reach the audit search settings", () => {
      const command = parseCommand([
        "emulator",
        "--audit-ingestion-delay",
        "5400000",
        "--audit-lost-share",
        "0.25",
        "--audit-activity",
        "0",
      ]);
      assert.equal(command.name, "emulator");
      assert.deepEqual(command.name === "emulator" ? command.auditSearch : undefined, {
        ingestionDelayMs: 5_400_000,
        lostShare: 0.25,
        activityPerMailboxPerDay: 0,
      });
      const plain = parseCommand(["emulator"]);
      assert.deepEqual(plain.name === "emulator" ? plain.auditSearch : undefined, {});
      assert.throws(() => parseCommand(["emulator", "--audit-lost-share", "2"]), /audit-lost-share/);
      assert.throws(() => parseCommand(["emulator", "--audit-activity", "-1"]), /audit-activity/);
    });
  });
});
