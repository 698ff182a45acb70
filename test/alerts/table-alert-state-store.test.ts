import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TableClient } from "@azure/data-tables";
import type { AlertTargetState } from "../../shared/alerts/alert-decision";
import { deliverRunAlerts } from "../../shared/alerts/deliver-run-alerts";
import { TableAlertStateStore } from "../../shared/alerts/table-alert-state-store";
import { webhookChannel } from "../../shared/alerts/webhook-channel";
import { uniqueTableName, useAzurite } from "../support/azurite";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver";
import { daysAgo, failed, failingState, NOW, summary, TENANT } from "./fixtures";

async function listAll(store: TableAlertStateStore, tenantId: string): Promise<AlertTargetState[]> {
  const states: AlertTargetState[] = [];
  for await (const state of store.list(tenantId)) states.push(state);
  return states.sort((a, b) => a.key.localeCompare(b.key));
}

describe("TableAlertStateStore (Azurite)", () => {
  const azurite = useAzurite({ services: ["table"] });
  const storeFor = (tableName: string): TableAlertStateStore =>
    new TableAlertStateStore({ connection: { connectionString: azurite().connectionString }, tableName });

  it("round-trips states whose keys hold characters Table keys forbid", async () => {
    const store = storeFor(uniqueTableName("alerts"));
    const awkward = ["a/b", "c\\d", "e#f", "g?h", "tab\there", "nl\nx", "\u0001ctl", "plain-id"];
    const states: AlertTargetState[] = [
      ...awkward.map((id, index) =>
        failingState(id, index % 2 ? { webhook: NOW } : { webhook: NOW, email: daysAgo(1) }),
      ),
      { key: "run", kind: "run", targetId: TENANT, displayName: "Run", notifiedAt: { email: NOW } },
    ];
    await store.update(TENANT, { put: states, remove: [] });
    assert.deepEqual(
      await listAll(store, TENANT),
      [...states].sort((a, b) => a.key.localeCompare(b.key)),
    );
  });

  it("round-trips a state of every target kind (the audit log's evidence too), so a failing one is not alerted anew each night", async () => {
    const store = storeFor(uniqueTableName("alerts"));
    const kinds = ["organization", "mailbox", "bypass-association", "capture-mailbox", "transport-rule", "journal-rule", "audit-trail", "audit-activity"] as const;
    const states: AlertTargetState[] = kinds.map((kind) => ({ ...failingState(`${kind}-target`, { webhook: NOW }), key: `${kind}|${kind}-target`, kind }));
    await store.update(TENANT, { put: states, remove: [] });
    assert.deepEqual(await listAll(store, TENANT), [...states].sort((x, y) => x.key.localeCompare(y.key)));
  });

  it("keys are encoded: no forbidden characters reach PartitionKey or RowKey", async () => {
    const tableName = uniqueTableName("alerts");
    const store = storeFor(tableName);
    await store.update("tenant/with#odd?chars", { put: [failingState("x/y", { webhook: NOW })], remove: [] });
    const client = TableClient.fromConnectionString(azurite().connectionString, tableName, {
      allowInsecureConnection: true,
    });
    const entities = [];
    for await (const entity of client.listEntities()) entities.push(entity);
    assert.equal(entities.length, 1);
    for (const key of [entities[0]!.partitionKey, entities[0]!.rowKey]) {
      // eslint-disable-next-line no-control-regex -- control characters are what Table keys forbid
      assert.doesNotMatch(String(key), /[/\\#?\u0000-\u001f\u007f-\u009f]/);
    }
    assert.equal(entities[0]!["key"], "mailbox|x/y");
    assert.equal((await listAll(store, "tenant/with#odd?chars"))[0]?.targetId, "x/y");
  });

  it("replaces, removes (a missing row is fine) and keeps tenants apart", async () => {
    const store = storeFor(uniqueTableName("alerts"));
    await store.update(TENANT, {
      put: [failingState("a", { webhook: daysAgo(2) }), failingState("b", {})],
      remove: [],
    });
    await store.update("other-tenant", { put: [failingState("a", {})], remove: [] });
    await store.update(TENANT, {
      put: [failingState("a", { webhook: NOW }, undefined)],
      remove: ["mailbox|b", "mailbox|never"],
    });
    assert.deepEqual(await listAll(store, TENANT), [failingState("a", { webhook: NOW }, undefined)]);
    assert.equal((await listAll(store, "other-tenant")).length, 1);
  });

  it("writes more rows than one transaction holds", async () => {
    const store = storeFor(uniqueTableName("alerts"));
    const states = Array.from({ length: 230 }, (_, index) => failingState(`m${index}`, { webhook: NOW }));
    await store.update(TENANT, { put: states, remove: [] });
    assert.equal((await listAll(store, TENANT)).length, 230);
  });

  it("skips rows it cannot parse", async () => {
    const tableName = uniqueTableName("alerts");
    const store = storeFor(tableName);
    await store.update(TENANT, { put: [failingState("good", {})], remove: [] });
    const client = TableClient.fromConnectionString(azurite().connectionString, tableName, {
      allowInsecureConnection: true,
    });
    await client.createEntity({ partitionKey: TENANT, rowKey: "junk", key: "mailbox|junk", notifiedAt: "not json" });
    assert.deepEqual(
      (await listAll(store, TENANT)).map((state) => state.targetId),
      ["good"],
    );
  });

  describe("with deliverRunAlerts", () => {
    let receiver: WebhookReceiver;
    before(async () => {
      receiver = await startWebhookReceiver();
    });
    after(() => receiver.close());

    it("a failed delivery is retried by the next run; an identical run after that sends nothing", async () => {
      const store = storeFor(uniqueTableName("alerts"));
      const channel = webhookChannel({
        secrets: { getSecret: () => Promise.resolve(receiver.url) },
        secretName: "alert-webhook-url",
        format: "slack",
        maxRetries: 0,
      });
      const logger = { info: () => {}, warn: () => {}, error: () => {} };
      const run = (runId: string) =>
        deliverRunAlerts(
          { store, channels: [channel], logger },
          { summary: summary({ runId }), outcomes: [failed("a/1")], now: NOW },
        );

      receiver.failNext(1, 502);
      assert.equal((await run("r1")).alertingFailed, true);
      assert.equal((await run("r2")).alertingFailed, false);
      assert.deepEqual((await run("r3")).deliveries, []);
      assert.deepEqual(
        receiver.posts.map((post) => post.status),
        [502, 200],
      );
      assert.deepEqual((await listAll(store, TENANT))[0]?.notifiedAt, { webhook: NOW });
    });
  });
});
