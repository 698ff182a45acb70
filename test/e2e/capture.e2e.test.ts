/**
 * Issue 4 acceptance, end to end against the emulator and Azurite: from a tenant with no capture, apply builds it;
 * each kind of tampering is detected by plan (current and desired values) and repaired by apply where repair is
 * safe; a second apply makes zero writes; outcomes are recorded in Table Storage.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { Fault } from "../../emulator/faults";
import { generateTenant, GENERATED_MAIL_ENABLED_GROUP } from "../../emulator/generate";
import type { EmulatedTransportRule, EmulatedUser, TenantState } from "../../emulator/tenant-state";
import type { TargetOutcome } from "../../shared/domain/outcome";
import { runCapture } from "../../shared/capture/run-capture";
import { parseCaptureSettings, type CaptureSettings } from "../../shared/capture/settings";
import { RestExchangeTransport } from "../../shared/exchange/rest-transport";
import { startE2e } from "./stack";

const CAPTURE = "soc-capture@contoso.onmicrosoft.com";
const RULE = "mailbox-audit-enforcer: capture all mail";

describe("journaling-equivalent capture end to end", async () => {
  const tenant = generateTenant({ seed: 21, counts: { user: 6, shared: 1 } });
  const e2e = await startE2e(tenant, {
    CAPTURE_MODE: "transport-rules",
    CAPTURE_MAILBOX: CAPTURE,
    CAPTURE_ACCESS_GROUP: GENERATED_MAIL_ENABLED_GROUP,
    CAPTURE_CREATE_MAILBOX: "true",
  });
  const captureOutcomes = (outcomes: readonly TargetOutcome[]) =>
    outcomes.filter((outcome) => outcome.kind === "capture-mailbox" || outcome.kind === "transport-rule");
  const managedRule = (): EmulatedTransportRule | undefined => tenant.transportRules.find((rule) => rule.Name === RULE);
  const captureMailbox = () => [...tenant.mailboxes.values()].find((mailbox) => mailbox.PrimarySmtpAddress === CAPTURE);

  it("apply creates the restricted shared mailbox and the rule from nothing", async () => {
    assert.equal(captureMailbox(), undefined);
    const { summary, outcomes } = await e2e.run({ mode: "apply", full: true });
    assert.equal(summary.counts.failed, 0, JSON.stringify(captureOutcomes(outcomes).filter((o) => o.status === "failed")));
    const mailbox = captureMailbox();
    assert.ok(mailbox);
    assert.equal(mailbox.RecipientTypeDetails, "SharedMailbox");
    assert.equal(mailbox.HiddenFromAddressListsEnabled, true);
    assert.equal(tenant.users.get(mailbox.ExternalDirectoryObjectId)?.accountEnabled, false, "sign-in blocked");
    const fullAccess = tenant.mailboxPermissions.filter(
      (permission) => permission.Identity === mailbox.Identity && permission.AccessRights.includes("FullAccess") && !permission.IsInherited && !permission.Deny,
    );
    assert.deepEqual(fullAccess.map((permission) => permission.User).filter((user) => user !== "NT AUTHORITY\\SELF"), [GENERATED_MAIL_ENABLED_GROUP]);
    assert.equal(fullAccess.find((permission) => permission.User === GENERATED_MAIL_ENABLED_GROUP)?.autoMapping, false);
    const rule = managedRule();
    assert.ok(rule);
    assert.equal(rule.Mode, "Enforce");
    assert.equal(rule.State, "Enabled");
    assert.equal(rule.Priority, 0);
    assert.deepEqual(rule.BlindCopyTo?.map((address) => address.toLowerCase()), [CAPTURE]);
    assert.match(rule.Comments, /managed by mailbox-audit-enforcer/);
  });

  it("a second apply makes zero writes", async () => {
    e2e.resetCalls();
    const { summary } = await e2e.run({ mode: "apply" });
    assert.deepEqual(e2e.writes(), []);
    assert.equal(summary.counts.failed + summary.counts.drift + summary.counts.remediated, 0);
  });

  const tampering: { name: string; tamper: () => void; check: () => void }[] = [
    {
      name: "deleted rule",
      tamper: () => tenant.transportRules.splice(tenant.transportRules.indexOf(managedRule()!), 1),
      check: () => assert.ok(managedRule()),
    },
    {
      name: "disabled rule",
      tamper: () => (managedRule()!.State = "Disabled"),
      check: () => assert.equal(managedRule()!.State, "Enabled"),
    },
    {
      name: "Audit mode",
      tamper: () => (managedRule()!.Mode = "Audit"),
      check: () => assert.equal(managedRule()!.Mode, "Enforce"),
    },
    {
      name: "changed scope",
      tamper: () => (managedRule()!.FromScope = "NotInOrganization"),
      check: () => assert.equal(managedRule()!.FromScope, null),
    },
    {
      name: "extra exception",
      tamper: () => (managedRule()!.ExceptIfFrom = [...(managedRule()!.ExceptIfFrom ?? []), "user1@contoso.onmicrosoft.com"]),
      check: () => assert.ok(!(managedRule()!.ExceptIfFrom ?? []).includes("user1@contoso.onmicrosoft.com")),
    },
    {
      name: "extra FullAccess grant",
      tamper: () =>
        tenant.mailboxPermissions.push({
          Identity: captureMailbox()!.Identity,
          User: "user2@contoso.onmicrosoft.com",
          AccessRights: ["FullAccess"],
          IsInherited: false,
          Deny: false,
          autoMapping: true,
        }),
      check: () =>
        assert.ok(!tenant.mailboxPermissions.some((permission) => permission.Identity === captureMailbox()!.Identity && permission.User === "user2@contoso.onmicrosoft.com")),
    },
    {
      name: "unhidden mailbox",
      tamper: () => (captureMailbox()!.HiddenFromAddressListsEnabled = false),
      check: () => assert.equal(captureMailbox()!.HiddenFromAddressListsEnabled, true),
    },
  ];
  for (const { name, tamper, check } of tampering) {
    it(`${name}: plan reports it with current and desired values, apply repairs it, the next apply writes nothing`, async () => {
      tamper();
      e2e.resetCalls();
      const plan = await e2e.run({ mode: "plan" });
      assert.deepEqual(e2e.writes(), [], "plan writes nothing");
      const flagged = captureOutcomes(plan.outcomes).filter((outcome) => outcome.status === "drift" || outcome.status === "failed");
      assert.ok(flagged.length > 0, `plan flags the ${name}`);
      assert.ok(
        flagged.some((outcome) => outcome.findings.some((finding) => finding.current !== undefined || finding.desired !== undefined)),
        "findings carry current and desired values",
      );
      const apply = await e2e.run({ mode: "apply" });
      assert.equal(apply.summary.counts.failed, 0, JSON.stringify(captureOutcomes(apply.outcomes).filter((o) => o.status === "failed")));
      check();
      e2e.resetCalls();
      await e2e.run({ mode: "apply" });
      assert.deepEqual(e2e.writes(), []);
    });
  }

  it("a shadowing rule is reported as a failure and never modified", async () => {
    const shadow: EmulatedTransportRule = {
      ...structuredClone(managedRule()!),
      Guid: randomUUID(),
      Identity: "Drop everything",
      Name: "Drop everything",
      Priority: 0,
      Comments: "",
      BlindCopyTo: null,
      DeleteMessage: true,
      StopRuleProcessing: true,
    };
    for (const rule of tenant.transportRules) rule.Priority += 1;
    tenant.transportRules.unshift(shadow);
    const plan = await e2e.run({ mode: "plan" });
    const hazard = plan.outcomes.find((outcome) => outcome.displayName === "Drop everything");
    assert.equal(hazard?.status, "failed");
    const before = structuredClone(shadow);
    await e2e.run({ mode: "apply" });
    const after = tenant.transportRules.find((rule) => rule.Name === "Drop everything");
    assert.deepEqual({ ...after, Priority: 0 }, { ...before, Priority: 0 }, "the unmanaged rule is left as it was (only its number may shift)");
  });

  it("records the capture targets in Table Storage", async () => {
    const kinds = new Set<string>();
    for await (const row of e2e.runtime.store.listLatest(tenant.tenantId)) kinds.add(row.kind);
    assert.ok(kinds.has("capture-mailbox") && kinds.has("transport-rule"));
  });
});

/** A hybrid tenant's on-premises mailbox, as Exchange Online sees it: an Entra user with a mail address and no mailbox (a mail user). */
function onPremisesMailUser(address: string): EmulatedUser {
  return {
    id: randomUUID(),
    userPrincipalName: address,
    displayName: `On-premises ${address}`,
    mail: address,
    accountEnabled: true,
    assignedPlans: [],
    lastModifiedDateTime: new Date().toISOString(),
  };
}

describe("hybrid journaling end to end", async () => {
  const tenant = generateTenant({ seed: 22, counts: { user: 3 } });
  const ndr = "journal-ndr@contoso.onmicrosoft.com";
  const ndrUser = onPremisesMailUser(ndr);
  tenant.users.set(ndrUser.id, ndrUser);
  const e2e = await startE2e(tenant, {
    CAPTURE_MODE: "journaling",
    JOURNAL_EMAIL_ADDRESS: "journal@onprem.contoso.com",
    JOURNAL_NDR_MAILBOX: ndr,
  });

  it("apply sets the NDR mailbox before creating the Global journal rule; tampering is repaired; a second apply writes nothing", async () => {
    e2e.resetCalls();
    const first = await e2e.run({ mode: "apply", full: true });
    assert.equal(first.summary.counts.failed, 0, JSON.stringify(first.outcomes.filter((o) => o.status === "failed")));
    const journalWrites = e2e.writes().filter((cmdlet) => cmdlet === "Set-TransportConfig" || cmdlet === "New-JournalRule");
    assert.deepEqual(journalWrites, ["Set-TransportConfig", "New-JournalRule"], "Exchange refuses a journal rule before JournalingReportNdrTo is set");
    assert.equal(tenant.journalRules.length, 1);
    assert.equal(tenant.journalRules[0]?.Scope, "Global");
    assert.equal(tenant.journalRules[0]?.Enabled, true);
    assert.equal(tenant.journalRules[0]?.JournalEmailAddress, "journal@onprem.contoso.com");
    assert.equal(tenant.transportConfig.JournalingReportNdrTo?.toLowerCase(), ndr.toLowerCase());

    tenant.journalRules[0].Enabled = false;
    tenant.journalRules[0].Scope = "Internal";
    const plan = await e2e.run({ mode: "plan" });
    assert.ok(plan.outcomes.some((outcome) => outcome.kind === "journal-rule" && outcome.status === "drift"));
    await e2e.run({ mode: "apply" });
    assert.equal(tenant.journalRules[0]?.Enabled, true);
    assert.equal(tenant.journalRules[0]?.Scope, "Global");
    e2e.resetCalls();
    await e2e.run({ mode: "apply" });
    assert.deepEqual(e2e.writes(), []);
  });
});

describe("journaling NDR mailbox: never an Exchange Online mailbox", async () => {
  const tenant = generateTenant({ seed: 23, counts: { user: 2, shared: 1 } });
  const shared = [...tenant.mailboxes.values()].find((mailbox) => mailbox.RecipientTypeDetails === "SharedMailbox")!.PrimarySmtpAddress;
  const e2e = await startE2e(tenant, {
    CAPTURE_MODE: "journaling",
    JOURNAL_EMAIL_ADDRESS: "journal@onprem.contoso.com",
    JOURNAL_NDR_MAILBOX: shared,
  });

  it("fails the journaling targets with Microsoft's rule named and writes nothing", async () => {
    e2e.resetCalls();
    const { outcomes } = await e2e.run({ mode: "apply", full: true });
    assert.deepEqual(e2e.writes().filter((cmdlet) => !/^(Set-Mailbox|Set-AdminAuditLogConfig|Set-OrganizationConfig|Set-MailboxAuditBypassAssociation)$/.test(cmdlet)), []);
    const journaling = outcomes.filter((outcome) => outcome.kind === "journal-rule" || outcome.targetId === "transport-config");
    assert.equal(journaling.length, 2);
    for (const outcome of journaling) {
      assert.equal(outcome.status, "failed");
      assert.equal(outcome.error?.code, "JournalNdrMailboxInvalid");
      assert.match(outcome.error?.message ?? "", /can't be an Exchange Online mailbox/);
    }
    assert.equal(tenant.journalRules.length, 0);
    assert.equal(tenant.transportConfig.JournalingReportNdrTo, null);
  });
});

describe("a creation whose answer was lost (it landed, then 504 or timeout) is settled by reading back", async () => {
  const tenant = generateTenant({ seed: 24, counts: { user: 4 } });
  const ndrUser = onPremisesMailUser("journal-ndr@contoso.onmicrosoft.com");
  tenant.users.set(ndrUser.id, ndrUser);
  const e2e = await startE2e(tenant, {
    CAPTURE_MODE: "transport-rules",
    CAPTURE_MAILBOX: CAPTURE,
    CAPTURE_ACCESS_GROUP: GENERATED_MAIL_ENABLED_GROUP,
    CAPTURE_CREATE_MAILBOX: "true",
  });
  const { emulator } = e2e.stack;
  const transport = new RestExchangeTransport({
    tenantId: emulator.tenantId,
    baseUrl: emulator.exchangeBaseUrl,
    credential: e2e.runtime.credential,
    extraCaPem: emulator.caCertificatePem,
    retryBudget: { baseDelayInMs: 20, maxDelayInMs: 100 },
    timeoutInMs: 1_000,
  });
  const graph = e2e.runtime.enforcementServices().capture!.graph;
  const transportRules = parseCaptureSettings({ captureMailbox: { address: CAPTURE, createIfMissing: true }, accessGroup: GENERATED_MAIL_ENABLED_GROUP });
  const journaling = parseCaptureSettings({
    mode: "journaling",
    journaling: { journalEmailAddress: "journal@onprem.contoso.com", ndrMailbox: ndrUser.mail },
  });
  const apply = (settings: CaptureSettings) => runCapture({ transport, graph, settings, clock: { now: () => new Date() } }, { tenantId: tenant.tenantId, mode: "apply" });

  const captureMailboxes = () => [...tenant.mailboxes.values()].filter((mailbox) => mailbox.PrimarySmtpAddress === CAPTURE);
  const groupGrants = () =>
    tenant.mailboxPermissions.filter((permission) => permission.User === GENERATED_MAIL_ENABLED_GROUP && permission.AccessRights.includes("FullAccess"));
  function removeCapture(state: TenantState): void {
    for (const mailbox of captureMailboxes()) {
      state.mailboxes.delete(mailbox.ExternalDirectoryObjectId);
      state.users.delete(mailbox.ExternalDirectoryObjectId);
      state.mailboxPermissions = state.mailboxPermissions.filter((permission) => permission.Identity !== mailbox.Identity);
    }
    state.transportRules = [];
    state.journalRules = [];
    state.transportConfig.JournalingReportNdrTo = null;
  }

  const creations: {
    cmdlet: string;
    settings: CaptureSettings;
    /** Brings the tenant to the state just before the creation. */
    arrange: () => Promise<void>;
    target: (outcomes: readonly TargetOutcome[]) => TargetOutcome | undefined;
    count: () => number;
  }[] = [
    {
      cmdlet: "New-Mailbox",
      settings: transportRules,
      arrange: () => Promise.resolve(removeCapture(tenant)),
      target: (outcomes) => outcomes.find((outcome) => outcome.kind === "capture-mailbox"),
      count: () => captureMailboxes().length,
    },
    {
      cmdlet: "New-TransportRule",
      settings: transportRules,
      arrange: async () => {
        removeCapture(tenant);
        await apply(transportRules);
        tenant.transportRules = tenant.transportRules.filter((rule) => rule.Name !== RULE);
      },
      target: (outcomes) => outcomes.find((outcome) => outcome.displayName === RULE),
      count: () => tenant.transportRules.filter((rule) => rule.Name === RULE).length,
    },
    {
      cmdlet: "Add-MailboxPermission",
      settings: transportRules,
      arrange: async () => {
        removeCapture(tenant);
        await apply(transportRules);
        tenant.mailboxPermissions = tenant.mailboxPermissions.filter((permission) => permission.User !== GENERATED_MAIL_ENABLED_GROUP);
      },
      target: (outcomes) => outcomes.find((outcome) => outcome.kind === "capture-mailbox"),
      count: () => groupGrants().length,
    },
    {
      cmdlet: "New-JournalRule",
      settings: journaling,
      arrange: () => Promise.resolve(removeCapture(tenant)),
      target: (outcomes) => outcomes.find((outcome) => outcome.kind === "journal-rule"),
      count: () => tenant.journalRules.length,
    },
  ];
  const lostAnswers: { name: string; fault: (cmdlet: string) => Fault }[] = [
    { name: "504", fault: (cmdlet) => ({ cmdlet, status: 504, times: 1, afterExecution: true }) },
    { name: "timeout", fault: (cmdlet) => ({ cmdlet, kind: "timeout", times: 1, afterExecution: true }) },
  ];

  for (const { cmdlet, settings, arrange, target, count } of creations) {
    for (const { name, fault } of lostAnswers) {
      it(`${cmdlet}, answer lost to a ${name}: remediated on read-back, exactly one created, the next apply writes nothing`, async () => {
        await arrange();
        emulator.faults.clear();
        emulator.faults.add(fault(cmdlet));
        e2e.resetCalls();
        const { outcomes } = await apply(settings);
        assert.equal(emulator.faults.pending, 0, "the fault fired after the write landed");
        // A held answer is not in the call log; the retry that met "already exists" (or a warning) is.
        assert.ok(e2e.writes().includes(cmdlet), "the transport retried the write");
        const outcome = target(outcomes);
        assert.equal(outcome?.status, "remediated", JSON.stringify(outcome));
        assert.equal(count(), 1);
        e2e.resetCalls();
        const again = await apply(settings);
        assert.deepEqual(e2e.writes(), []);
        assert.equal(again.writes, 0);
      });
    }
  }
});
