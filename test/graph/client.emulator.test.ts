/** GraphClient against the local tenant emulator over HTTPS with the real ManagedIdentityCredential. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { ManagedIdentityCredential } from "@azure/identity";
import { generateTenant } from "../../emulator/generate";
import { GraphClient, type UsersDeltaPage } from "../../shared/graph/client";
import { GraphError, GraphSyncStateNotFoundError } from "../../shared/graph/errors";
import { withEmulator } from "../support/emulator";

describe("GraphClient against the emulator", async () => {
  let clock = new Date("2026-03-01T00:00:00Z");
  const tenant = generateTenant({ seed: 7, counts: { user: 23, shared: 2 }, auditPremiumShare: 0.5 });
  const emulator = await withEmulator(tenant, { now: () => clock });
  Object.assign(process.env, emulator.env());
  const client = new GraphClient({
    tenantId: emulator.tenantId,
    baseUrl: emulator.graphBaseUrl,
    credential: new ManagedIdentityCredential(),
    extraCaPem: emulator.caCertificatePem,
    retryBudget: { baseDelayInMs: 10, maxDelayInMs: 50 },
  });

  async function collect(iterable: AsyncIterable<UsersDeltaPage>): Promise<UsersDeltaPage[]> {
    const pages: UsersDeltaPage[] = [];
    for await (const page of iterable) pages.push(page);
    return pages;
  }

  it("lists users/delta page by page, then only the changes since the deltaLink, and reports an expired token", async () => {
    const pages = await collect(
      client.listUsersDelta({ pageSize: 10, select: ["id", "userPrincipalName", "accountEnabled"] }),
    );
    const total = tenant.users.size;
    assert.ok(total > 20);
    assert.deepEqual(
      pages.map((page) => page.users.length),
      [10, 10, total - 20],
    );
    assert.deepEqual(
      pages.map((page) => page.deltaLink !== undefined),
      [false, false, true],
    );
    assert.deepEqual(new Set(pages.flatMap((page) => page.users.map((user) => user.id))), new Set(tenant.users.keys()));
    const deltaLink = pages.at(-1)?.deltaLink ?? "";

    clock = new Date("2026-03-02T00:00:00Z");
    const changed = [...tenant.users.values()][3];
    assert.ok(changed);
    changed.lastModifiedDateTime = clock.toISOString();
    const delta = await collect(client.listUsersDelta({ deltaLink }));
    assert.deepEqual(
      delta.flatMap((page) => page.users.map((user) => user.id)),
      [changed.id],
    );
    assert.ok(delta.at(-1)?.deltaLink);

    clock = new Date("2026-03-20T00:00:00Z");
    await assert.rejects(collect(client.listUsersDelta({ deltaLink })), (error: unknown) => {
      assert.ok(error instanceof GraphSyncStateNotFoundError);
      assert.ok(error instanceof GraphError);
      assert.equal(error.code, "syncStateNotFound");
      return true;
    });
  });

  it("refuses a deltaLink for another host", async () => {
    await assert.rejects(
      collect(client.listUsersDelta({ deltaLink: "https://evil.example.com/v1.0/users/delta?$deltatoken=x" })),
      {
        name: "GraphError",
        code: "ForeignNextLink",
      },
    );
  });

  it("lists subscribed SKUs, retrying a transient 503", async () => {
    emulator.faults.add({ cmdlet: "GET /v1.0/subscribedSkus", status: 503, times: 1 });
    const skus = [];
    for await (const sku of client.listSubscribedSkus()) skus.push(sku);
    assert.deepEqual(skus.map((sku) => sku.skuId).sort(), tenant.skus.map((sku) => sku.skuId).sort());
    assert.ok(skus.every((sku) => sku.servicePlans.length > 0));
    assert.equal(emulator.faults.pending, 0, "the fault fired");
  });

  it("reads a user's assigned plans by id and by UPN", async () => {
    const user = [...tenant.users.values()].find((candidate) => candidate.assignedPlans.length > 0);
    assert.ok(user);
    assert.deepEqual(
      (await client.getUserAssignedPlans(user.id)).map((plan) => plan.servicePlanId),
      user.assignedPlans.map((plan) => plan.servicePlanId),
    );
    assert.equal((await client.getUserAssignedPlans(user.userPrincipalName)).length, user.assignedPlans.length);
    await assert.rejects(client.getUserAssignedPlans("x' or 1 eq 1"), TypeError);
  });

  it("reads a user with $select, and a missing user is a 404 GraphError", async () => {
    const user = [...tenant.users.values()][0];
    assert.ok(user);
    const read = await client.getUser(user.id, { select: ["id", "accountEnabled"] });
    assert.equal(read.id, user.id);
    assert.equal(read.accountEnabled, user.accountEnabled);
    assert.equal(read.displayName, undefined, "only the selected properties come back");
    await assert.rejects(client.getUser(randomUUID()), (error: unknown) => (error as { status?: number }).status === 404);
  });

  it("finds groups by id, mail and display name with quotes escaped", async () => {
    const tricky = {
      ExternalDirectoryObjectId: randomUUID(),
      Identity: "O'Brien's readers",
      Name: "O'Brien's readers",
      DisplayName: "O'Brien's readers",
      PrimarySmtpAddress: `obrien@${tenant.initialDomain}`,
      RecipientTypeDetails: "MailUniversalSecurityGroup",
      securityEnabled: true,
      mailEnabled: true,
    } as const;
    tenant.groups.set(tricky.ExternalDirectoryObjectId, { ...tricky });
    assert.equal((await client.findGroup({ displayName: "O'Brien's readers" }))?.id, tricky.ExternalDirectoryObjectId);
    assert.equal((await client.findGroup({ mail: tricky.PrimarySmtpAddress }))?.displayName, "O'Brien's readers");
    assert.equal((await client.findGroup({ id: tricky.ExternalDirectoryObjectId }))?.mailEnabled, true);
    assert.equal(await client.findGroup({ displayName: "O'Brien" }), undefined);
    assert.equal(await client.findGroup({ id: randomUUID() }), undefined);
    await assert.rejects(client.findGroup({ id: "../users" }), TypeError);
    await assert.rejects(client.findGroup({ displayName: "  " }), TypeError);
  });

  it("updates a user and reports a missing one as a GraphError with its request id", async () => {
    const user = [...tenant.users.values()].find((candidate) => candidate.accountEnabled);
    assert.ok(user);
    await client.updateUser(user.id, { accountEnabled: false });
    assert.equal(user.accountEnabled, false);
    await assert.rejects(client.updateUser(`${randomUUID()}`, { accountEnabled: false }), (error: unknown) => {
      assert.ok(error instanceof GraphError);
      assert.equal(error.status, 404);
      assert.equal(error.code, "Request_ResourceNotFound");
      assert.ok(error.requestId);
      return true;
    });
  });

  it("sends mail as a user", async () => {
    const sender = [...tenant.users.values()][0];
    assert.ok(sender);
    await client.sendMail(sender.userPrincipalName, {
      subject: "Audit drift",
      body: { contentType: "Text", content: "3 mailboxes remediated" },
      toRecipients: ["soc@contoso.com"],
    });
    const sent = tenant.sentMail.at(-1);
    assert.equal(sent?.from, sender.userPrincipalName);
    assert.deepEqual(sent?.message, {
      subject: "Audit drift",
      body: { contentType: "Text", content: "3 mailboxes remediated" },
      toRecipients: [{ emailAddress: { address: "soc@contoso.com" } }],
    });
    await assert.rejects(
      client.sendMail(sender.userPrincipalName, {
        subject: "x",
        body: { contentType: "Text", content: "" },
        toRecipients: ["not an address"],
      }),
      TypeError,
    );
  });
});
