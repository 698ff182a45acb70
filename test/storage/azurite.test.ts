import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TableClient } from "@azure/data-tables";
import { QueueClient } from "@azure/storage-queue";
import { startAzurite } from "../../emulator/azurite";

describe("startAzurite", () => {
  it("serves tables and queues (current SDK API versions) on loopback, then stops", async () => {
    const azurite = await startAzurite();
    try {
      assert.match(azurite.tableEndpoint ?? "", /^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
      assert.match(azurite.queueEndpoint ?? "", /^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
      assert.equal(azurite.blobEndpoint, undefined);

      const table = TableClient.fromConnectionString(azurite.connectionString, "harness", {
        allowInsecureConnection: true,
      });
      await table.createTable();
      await table.upsertEntity({ partitionKey: "p", rowKey: "r", value: 42 });
      assert.equal((await table.getEntity<{ value: number }>("p", "r")).value, 42);

      const queue = new QueueClient(azurite.connectionString, "harness");
      await queue.create();
      await queue.sendMessage(Buffer.from(JSON.stringify({ hello: "world" })).toString("base64"));
      const [message] = (await queue.receiveMessages()).receivedMessageItems;
      assert.deepEqual(JSON.parse(Buffer.from(message?.messageText ?? "", "base64").toString()), { hello: "world" });
    } finally {
      await azurite.stop();
    }
    await azurite.stop();
    const afterStop = TableClient.fromConnectionString(azurite.connectionString, "harness", {
      allowInsecureConnection: true,
      retryOptions: { maxRetries: 0 },
    });
    await assert.rejects(afterStop.getEntity("p", "r"));
  });

  it("gives each instance its own ports and data", async () => {
    const [one, two] = await Promise.all([
      startAzurite({ services: ["table"] }),
      startAzurite({ services: ["table"] }),
    ]);
    try {
      assert.notEqual(one.tableEndpoint, two.tableEndpoint);
      assert.equal(one.queueEndpoint, undefined);
      const client = (connectionString: string) =>
        TableClient.fromConnectionString(connectionString, "isolated", { allowInsecureConnection: true });
      await client(one.connectionString).createTable();
      await client(one.connectionString).upsertEntity({ partitionKey: "p", rowKey: "r" });
      await client(two.connectionString).createTable();
      await assert.rejects(client(two.connectionString).getEntity("p", "r"), { statusCode: 404 });
    } finally {
      await Promise.all([one.stop(), two.stop()]);
    }
  });
});
