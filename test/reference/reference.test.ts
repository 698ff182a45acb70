/**
 * The reference fixtures replayed against the three things that claim to speak Exchange's wire (test/reference/README.md):
 * (a) the client (`parseExchangeError`, `isNotFoundError`, `isProxyNotAvailable`, and `RestExchangeTransport` over
 * HTTPS), (b) the emulator over HTTPS, (c) the reconcilers' test fakes where they model the same answer. A fixture
 * one of them disagrees with is a red test: the fixture comes from Exchange, so the disagreement is theirs.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { EXCHANGE_AUDIENCE, issueAccessToken } from "../../emulator/access-token";
import { loadTenantFixture } from "../../emulator/generate";
import { ExchangeError, isNotFoundError } from "../../shared/exchange/errors";
import { outcomeErrorOf } from "../../shared/exchange/outcome-error";
import {
  AUDIT_LOG_ANCHOR_MAILBOX,
  isNoChangeWarning,
  isProxyNotAvailable,
  parseExchangeError,
  RestExchangeTransport,
} from "../../shared/exchange/rest-transport";
import { hashtable, type CmdletRequest } from "../../shared/exchange/transport";
import { needsOrganizationCustomization } from "../../shared/reconcile/verdicts";
import { FakeClock, FakeExchange as AuditFakeExchange } from "../audit/fake-exchange";
import { mailbox } from "../audit/fixtures";
import { FakeExchange as CaptureFakeExchange } from "../capture/fake-exchange";
import { sendJson, startLocalHttpsServer, staticCredential, type LocalHttpsServer } from "../http/local-https-server";
import { assertEvery } from "../support/assertions";
import { rawRequest, withEmulator, type RawResponse } from "../support/emulator";
import {
  detailParts,
  errorEnvelope,
  loadReferenceFixtures,
  type ErrorFixture,
  type PagingFixture,
  type ReplayRequest,
  type RequestFixture,
  type WarningFixture,
} from "./fixtures";

const fixtures = loadReferenceFixtures();
const ofKind = <K extends (typeof fixtures)[number]["kind"]>(kind: K) =>
  fixtures.filter((fixture): fixture is Extract<(typeof fixtures)[number], { kind: K }> => fixture.kind === kind);
const errorFixtures: ErrorFixture[] = ofKind("error");
const warningFixtures: WarningFixture[] = ofKind("warning");
const pagingFixtures: PagingFixture[] = ofKind("paging");
const requestFixtures: RequestFixture[] = ofKind("request");

function fixture<T extends { id: string }>(list: readonly T[], id: string): T {
  const found = list.find((candidate) => candidate.id === id);
  assert.ok(found, `fixture ${id} is missing from test/reference/fixtures`);
  return found;
}

function assertExceptionType(actual: string, expect: ErrorFixture["expect"], where: string): void {
  if (expect.exceptionType !== undefined) assert.equal(actual, expect.exceptionType, where);
  if (expect.exceptionTypeSuffix !== undefined) {
    assert.ok(
      actual === expect.exceptionTypeSuffix || actual.endsWith(`.${expect.exceptionTypeSuffix}`),
      `${where}: ${actual} is not a ${expect.exceptionTypeSuffix}`,
    );
  }
}

/** How the client classifies an Exchange error: each predicate a reconciler branches on. */
function assertClassified(error: ExchangeError, expect: ErrorFixture["expect"], where: string): void {
  assert.equal(isNotFoundError(error), expect.notFound, `${where}: isNotFoundError`);
  assert.equal(isProxyNotAvailable(error), expect.proxyNotAvailable, `${where}: isProxyNotAvailable`);
  if (expect.needsOrganizationCustomization !== undefined) {
    assert.equal(
      needsOrganizationCustomization(outcomeErrorOf(error)),
      expect.needsOrganizationCustomization,
      `${where}: needsOrganizationCustomization`,
    );
  }
  // shared/reconcile/reconcile.ts takes an Enable-OrganizationCustomization failure matching /already enabled/i as done.
  if (expect.alreadyEnabled !== undefined)
    assert.equal(/already enabled/i.test(error.message), expect.alreadyEnabled, `${where}: already enabled`);
}

it("every kind of fixture is present (the tables below cannot run empty)", () => {
  assert.deepEqual(
    fixtures.map((each) => each.id),
    [
      "customization-already-enabled",
      "dehydrated-tenant",
      "generic-hashtable-add",
      "no-change-warning",
      "not-found",
      "paging-next-link",
      "proxy-not-available",
    ],
  );
});

describe("(a) the client reads each fixture as the wire contract says", () => {
  let server: LocalHttpsServer;
  before(async () => {
    server = await startLocalHttpsServer();
  });
  after(() => server.close());
  const transport = () =>
    new RestExchangeTransport({
      tenantId: "contoso.onmicrosoft.com",
      baseUrl: server.baseUrl,
      credential: staticCredential(),
      extraCaPem: server.caPem,
      retryBudget: { baseDelayInMs: 1, maxDelayInMs: 2 },
    });

  for (const errorFixture of errorFixtures) {
    for (const response of errorFixture.responses) {
      const where = `${errorFixture.id} / ${response.label}`;
      it(`${where}: parseExchangeError and the predicates`, () => {
        const parsed = parseExchangeError({
          status: response.status,
          bodyText: JSON.stringify(response.body),
          cmdlet: errorFixture.replay[0]?.cmdlet ?? "",
        });
        assert.equal(parsed.status, response.status);
        assert.match(parsed.text, new RegExp(errorFixture.expect.textPattern), where);
        const parts = detailParts(response.body);
        if (parts) {
          assert.equal(parsed.errorId, parts.errorId, `${where}: the ErrorId is details[0]'s first field`);
          assertExceptionType(parsed.exceptionType, errorFixture.expect, where);
        }
        assertClassified(parsed, errorFixture.expect, where);
      });

      it(`${where}: RestExchangeTransport fails the call with that error`, async () => {
        server.handle((_request, answer) =>
          sendJson(answer, response.status, response.body, { "request-id": "ref-1" }),
        );
        const [replay] = errorFixture.replay;
        assert.ok(replay);
        const error = await transport()
          .invoke({ cmdlet: replay.cmdlet, parameters: replay.parameters })
          .then(
            () => assert.fail("the call succeeded"),
            (caught: unknown) => caught,
          );
        assert.ok(error instanceof ExchangeError);
        const parsed = parseExchangeError({ status: response.status, bodyText: JSON.stringify(response.body) });
        assert.deepEqual(
          [error.status, error.errorId, error.exceptionType, error.text, error.requestId],
          [parsed.status, parsed.errorId, parsed.exceptionType, parsed.text, "ref-1"],
        );
      });
    }
  }

  it("proxy-not-available: either capture, met at the default anchor, sends the cmdlet once more to the audit log mailbox (row 2.3)", async () => {
    const proxy = fixture(errorFixtures, "proxy-not-available");
    assert.equal(proxy.responses.length, 2);
    for (const response of proxy.responses) {
      server.handle((request, answer) => {
        if (String(request.headers["x-anchormailbox"]).includes(AUDIT_LOG_ANCHOR_MAILBOX))
          sendJson(answer, 200, { value: [{ UnifiedAuditLogIngestionEnabled: true }] });
        else sendJson(answer, response.status, response.body);
      });
      const before = server.received.length;
      const result = await transport().invoke({ cmdlet: "Get-AdminAuditLogConfig" });
      assert.deepEqual(result.value, [{ UnifiedAuditLogIngestionEnabled: true }], response.label);
      const anchors = server.received.slice(before).map((request) => String(request.headers["x-anchormailbox"]));
      assert.equal(anchors.length, 2, response.label);
      assert.ok(anchors[1]?.includes(AUDIT_LOG_ANCHOR_MAILBOX), response.label);
    }
  });

  for (const warningFixture of warningFixtures) {
    for (const response of warningFixture.responses) {
      it(`${warningFixture.id} / ${response.label}: a success with the warnings and no value`, async () => {
        server.handle((_request, answer) => sendJson(answer, response.status, response.body));
        const [replay] = warningFixture.replay;
        assert.ok(replay);
        const result = await transport().invoke({ cmdlet: replay.cmdlet, parameters: replay.parameters });
        const warnings = (response.body as { "@adminapi.warnings": string[] })["@adminapi.warnings"];
        assert.deepEqual(result.value, []);
        assert.deepEqual(result.warnings, warnings);
        assertEvery(result.warnings, isNoChangeWarning, "isNoChangeWarning");
        assertEvery(
          warnings,
          (warning) => new RegExp(warningFixture.expect.warningPattern).test(warning),
          "the fixture's own pattern",
        );
      });
    }
  }

  it("paging-next-link: the same body is POSTed to the nextLink as given, and the last page ends the list", async () => {
    const paging = fixture(pagingFixtures, "paging-next-link");
    const [first, second] = paging.exchanges;
    assert.ok(first && second);
    const withBase = (body: Record<string, unknown>) =>
      JSON.parse(JSON.stringify(body).replaceAll("{base}", server.baseUrl)) as Record<string, unknown>;
    server.handle((request, answer) =>
      sendJson(answer, 200, withBase(request.url === second.request.path ? second.response.body : first.response.body)),
    );
    const before = server.received.length;
    const rows: unknown[] = [];
    const firstBody = first.request.body as {
      CmdletInput: { CmdletName: string; Parameters: Record<string, unknown> };
    };
    for await (const page of transport().pages({
      cmdlet: firstBody.CmdletInput.CmdletName,
      parameters: firstBody.CmdletInput.Parameters,
    }))
      rows.push(...page);
    const sent = server.received.slice(before);
    assert.deepEqual(rows, [
      ...(first.response.body["value"] as unknown[]),
      ...(second.response.body["value"] as unknown[]),
    ]);
    assert.deepEqual(
      sent.map((request) => [request.method, request.url]),
      paging.exchanges.map((exchange) => [exchange.request.method, exchange.request.path]),
    );
    assert.deepEqual(JSON.parse(sent[0]?.body ?? ""), first.request.body);
    assert.equal(second.request.sameBodyAsFirst, true);
    assert.equal(sent[1]?.body, sent[0]?.body, "the next page is asked for with the same body");
    for (const [name, value] of Object.entries(first.request.headers ?? {}))
      assert.equal(sent[0]?.headers[name.toLowerCase()], value, name);
  });

  it("generic-hashtable-add: the client's hashtable() is the fixture's parameter (keys compared as PowerShell does)", () => {
    const request = fixture(requestFixtures, "generic-hashtable-add");
    const parameter = request.request.CmdletInput.Parameters[request.expect.property] as Record<string, unknown>;
    const lower = (table: Record<string, unknown>) =>
      new Map(Object.entries(table).map(([key, value]) => [key.toLowerCase(), value]));
    const ours = lower(hashtable({ add: [request.expect.added] }));
    for (const [key, value] of lower(parameter)) assert.deepEqual(ours.get(key), value, key);
    for (const [key, value] of ours)
      if (!lower(parameter).has(key))
        assert.deepEqual(value, [], `${key}: only an empty list beyond the fixture's keys`);
  });
});

const tenantFixture: unknown = JSON.parse(
  readFileSync(resolve(__dirname, "../../../emulator/fixtures/example-tenant.json"), "utf8"),
);
const DEFAULT_ANCHOR = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}";

describe("(b) the emulator answers each fixture's request with the fixture's shape", async () => {
  const tenant = loadTenantFixture(tenantFixture);
  tenant.organizationConfig.isDehydrated = false;
  tenant.organizationConfig.AuditDisabled = false;
  tenant.adminAuditLogConfig.UnifiedAuditLogIngestionEnabled = true;
  const emulator = await withEmulator(tenant);
  const base = `${emulator.exchangeBaseUrl}/adminapi/beta/${tenant.initialDomain}`;
  const token = issueAccessToken({ resource: EXCHANGE_AUDIENCE, clientId: "reference" }).token;

  function invoke(replay: ReplayRequest, url = `${base}/InvokeCommand`, body?: unknown): Promise<RawResponse> {
    const mailbox = replay.anchor === "audit-log" ? AUDIT_LOG_ANCHOR_MAILBOX : DEFAULT_ANCHOR;
    return rawRequest(emulator, {
      url,
      headers: {
        authorization: `Bearer ${token}`,
        "x-anchormailbox": `APP:${mailbox}@${tenant.initialDomain}`,
        "x-cmdletname": replay.cmdlet,
        prefer: `odata.maxpagesize=${replay.pageSize ?? 1000}`,
      },
      body: body ?? { CmdletInput: { CmdletName: replay.cmdlet, Parameters: replay.parameters } },
    });
  }

  async function withTenantState<T>(replay: ReplayRequest, action: () => Promise<T>): Promise<T> {
    const dehydrated = tenant.organizationConfig.isDehydrated;
    if (replay.tenant?.dehydrated !== undefined) tenant.organizationConfig.isDehydrated = replay.tenant.dehydrated;
    try {
      return await action();
    } finally {
      tenant.organizationConfig.isDehydrated = dehydrated;
    }
  }

  for (const errorFixture of errorFixtures) {
    for (const replay of errorFixture.replay) {
      const where = `${errorFixture.id}: ${replay.cmdlet} ${JSON.stringify(replay.parameters)}`;
      it(where, async () => {
        const response = await withTenantState(replay, () => invoke(replay));
        const { expect } = errorFixture;
        assert.equal(response.status, errorFixture.responses[0]?.status, `${where}: status`);
        const envelope = errorEnvelope(response.json);
        if (expect.code !== undefined) assert.equal(envelope.code, expect.code, `${where}: error.code`);
        if (expect.message !== undefined) assert.equal(envelope.message, expect.message, `${where}: error.message`);
        if (expect.messagePattern !== undefined)
          assert.match(String(envelope.message), new RegExp(expect.messagePattern), `${where}: error.message`);
        const parts = detailParts(response.json);
        assert.ok(parts, `${where}: details[0].message is <ErrorId>|<ExceptionType>|<text>`);
        if (expect.errorId !== undefined) assert.equal(parts.errorId, expect.errorId, `${where}: ErrorId`);
        assertExceptionType(parts.exceptionType, expect, where);
        assert.match(parts.text, new RegExp(expect.textPattern), `${where}: text`);
        // And the client, reading the emulator's answer, decides as it does on the fixture.
        assertClassified(
          parseExchangeError({ status: response.status, bodyText: response.text, cmdlet: replay.cmdlet }),
          expect,
          where,
        );
      });
    }
  }

  for (const warningFixture of warningFixtures) {
    for (const replay of warningFixture.replay) {
      it(`${warningFixture.id}: ${replay.cmdlet} ${JSON.stringify(replay.parameters)} (nothing to change)`, async () => {
        const response = await invoke(replay);
        assert.equal(response.status, 200);
        const body = response.json as Record<string, unknown>;
        assert.equal(body["value"], undefined, "no value, as CIPP's reader expects");
        assertEvery(
          body["@adminapi.warnings"] as string[],
          (warning) => new RegExp(warningFixture.expect.warningPattern).test(warning),
          "@adminapi.warnings",
        );
      });
    }
  }

  it("paging-next-link: an absolute nextLink on the same host, followed with the same body, to the last page", async () => {
    const paging = fixture(pagingFixtures, "paging-next-link");
    const [replay] = paging.replay;
    assert.ok(replay);
    const all = (await invoke({ ...replay, pageSize: 1000 })).json as { value: unknown[] };
    const body = { CmdletInput: { CmdletName: replay.cmdlet, Parameters: replay.parameters } };
    const rows: unknown[] = [];
    let url: string | undefined = `${base}/InvokeCommand`;
    let pages = 0;
    while (url !== undefined) {
      const response = await invoke(replay, url, body);
      assert.equal(response.status, 200, `page ${pages + 1}`);
      const page = response.json as { value: unknown[]; "@odata.nextLink"?: string };
      rows.push(...page.value);
      pages += 1;
      url = page["@odata.nextLink"];
      if (url !== undefined) assert.ok(url.startsWith(`${base}/InvokeCommand?`), url);
    }
    assert.ok(pages >= 2, `the tenant must need more than one page at page size ${replay.pageSize ?? 0}`);
    assert.deepEqual(rows, all.value);
  });

  it("generic-hashtable-add: the lower-case Add form adds the action and keeps the others", async () => {
    const request = fixture(requestFixtures, "generic-hashtable-add");
    const { property, added } = request.expect;
    const target = [...tenant.mailboxes.values()].find(
      (candidate) => candidate.RecipientTypeDetails === "UserMailbox" && !candidate.AuditOwner.includes(added),
    );
    assert.ok(target, "the example tenant has a user mailbox without the action");
    const before = [...target.AuditOwner];
    const body = JSON.parse(JSON.stringify(request.request).replaceAll("{mailboxGuid}", target.Guid)) as unknown;
    const replay = { cmdlet: request.request.CmdletInput.CmdletName, parameters: {} };
    assert.equal((await invoke(replay, undefined, body)).status, 200);
    const read = (await invoke({ cmdlet: "Get-Mailbox", parameters: { Identity: target.Guid } })).json as {
      value: Record<string, string[]>[];
    };
    assert.deepEqual(new Set(read.value[0]?.[property]), new Set([...before, added]));
  });
});

describe("(c) the test fakes, where they model the same answer", () => {
  const notFound = fixture(errorFixtures, "not-found");

  function assertNotFoundLike(error: unknown, where: string): void {
    assert.ok(error instanceof ExchangeError, where);
    assert.equal(error.status, notFound.responses[0]?.status, `${where}: status`);
    assertExceptionType(error.exceptionType, notFound.expect, where);
    assert.match(error.text, new RegExp(notFound.expect.textPattern), where);
    assertClassified(error, notFound.expect, where);
  }

  async function rejection(promise: Promise<unknown>): Promise<unknown> {
    return promise.then(
      () => assert.fail("the call succeeded"),
      (caught: unknown) => caught,
    );
  }

  it("not-found: the audit fake's Set-Mailbox of an unknown mailbox", async () => {
    const fake = new AuditFakeExchange(new FakeClock(new Date("2026-06-01T00:00:00Z")));
    assertNotFoundLike(
      await rejection(
        fake.invoke({
          cmdlet: "Set-Mailbox",
          parameters: { Identity: "00000000-0000-0000-0000-00000000dead", AuditEnabled: true },
        }),
      ),
      "audit fake",
    );
  });

  it("not-found: the capture fake's look-ups of an unknown identity", async () => {
    const fake = new CaptureFakeExchange({
      rules: [],
      mailboxes: [],
      groups: [],
      permissions: [],
      statistics: new Map(),
      journalRules: [],
      transportConfig: {},
      users: new Map(),
    });
    const requests: CmdletRequest[] = [
      { cmdlet: "Get-Mailbox", parameters: { Identity: "nobody@contoso.onmicrosoft.com" } },
      { cmdlet: "Set-TransportRule", parameters: { Identity: "No such rule", Comments: "x" } },
    ];
    for (const request of requests)
      assertNotFoundLike(await rejection(fake.invoke(request)), `capture fake ${request.cmdlet}`);
  });

  it("generic-hashtable-add: the audit fake's Set-Mailbox takes the lower-case Add form", async () => {
    const request = fixture(requestFixtures, "generic-hashtable-add");
    const { property, added } = request.expect;
    const fake = new AuditFakeExchange(new FakeClock(new Date("2026-06-01T00:00:00Z")));
    const target = mailbox();
    fake.add(target);
    const parameters = JSON.parse(
      JSON.stringify(request.request.CmdletInput.Parameters).replaceAll("{mailboxGuid}", target.Guid ?? ""),
    ) as Record<string, unknown>;
    await fake.invoke({ cmdlet: request.request.CmdletInput.CmdletName, parameters });
    assert.deepEqual(
      new Set(fake.mailboxes.get(target.Guid ?? "")?.AuditOwner),
      new Set([...target.AuditOwner, added]),
    );
    assert.equal(property, "AuditOwner");
  });
});
