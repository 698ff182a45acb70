import { test } from "node:test";
import assert from "node:assert/strict";
import { planRun } from "../../shared/audit/plan";
import { defaultAuditPolicy, parseAuditPolicy } from "../../shared/audit/policy";
import { changedSinceFilter, identityFilter, opathDate, opathString, parseMailboxIdentities } from "../../shared/audit/opath";
import type { ObservedMailbox } from "../../shared/audit/observed";
import { groupMailbox, mailbox, policy } from "./fixtures";
import { assertEvery } from "../support/assertions";

const baseline = defaultAuditPolicy();
const now = new Date("2026-06-01T00:00:00Z");

/** What Exchange does with a Set-Mailbox: Add hashtables union, lists replace, customised types leave the default set. */
function applySetMailbox(box: ObservedMailbox, parameters: Readonly<Record<string, unknown>>): ObservedMailbox {
  const next = { ...box };
  for (const [name, value] of Object.entries(parameters)) {
    if (name === "AuditEnabled") next.AuditEnabled = value as boolean;
    if (name === "AuditLogAgeLimit") next.AuditLogAgeLimit = value as string;
    if (name === "AuditAdmin" || name === "AuditDelegate" || name === "AuditOwner") {
      const added = Array.isArray(value) ? value : (value as { Add: string[] }).Add;
      next[name] = Array.isArray(value) ? [...added] : [...new Set([...next[name], ...added])];
      next.DefaultAuditSet = next.DefaultAuditSet.filter((type) => `Audit${type}` !== name);
    }
  }
  return next;
}

test("planRun: plan mode lists actions with drift outcomes; apply mode expects remediated", () => {
  const observed = {
    organization: { AuditDisabled: true, UnifiedAuditLogIngestionEnabled: true },
    bypassAssociations: [{ Identity: "mallory", AuditBypassEnabled: true }, { Identity: "alice", AuditBypassEnabled: false }],
    mailboxes: [mailbox(), groupMailbox()],
  };
  const plan = planRun(baseline, observed, { now, mode: "plan" });
  assert.deepEqual(plan.targets.map((target) => [target.outcome.kind, target.outcome.status]), [
    ["organization", "drift"],
    ["bypass-association", "drift"],
    ["bypass-association", "compliant"],
    ["mailbox", "drift"],
    ["mailbox", "drift"],
  ]);
  assert.equal(plan.actions.length, 4);
  const apply = planRun(baseline, observed, { now, mode: "apply" });
  assert.deepEqual(apply.targets.filter((target) => target.action).map((target) => target.outcome.status), ["remediated", "remediated", "remediated", "remediated"]);
});

test("planRun: group mailboxes never get action parameters", () => {
  const plan = planRun(baseline, { mailboxes: [groupMailbox({ AuditAdmin: [], AuditDelegate: [], AuditOwner: [] })], licences: new Map() }, { now, mode: "apply" });
  for (const action of plan.actions) {
    for (const request of action.requests) {
      assert.equal(request.parameters?.["GroupMailbox"], true);
      for (const property of ["AuditAdmin", "AuditDelegate", "AuditOwner", "AuditEnabled"]) assert.ok(!(property in (request.parameters ?? {})));
    }
  }
});

test("planRun: change limit leaves the rest drifted with ChangeLimitReached", () => {
  const mailboxes = [mailbox(), mailbox(), mailbox(), mailbox({ AuditLogAgeLimit: "365.00:00:00", AuditAdmin: [], DefaultAuditSet: [] })];
  const plan = planRun(baseline, { mailboxes }, { now, mode: "apply", changeLimit: 2 });
  assert.equal(plan.actions.length, 2);
  const limited = plan.targets.filter((target) => target.outcome.error?.code === "ChangeLimitReached");
  assert.equal(limited.length, 2);
  for (const target of limited) {
    assert.equal(target.outcome.status, "drift");
    assert.equal(target.action, undefined);
  }
  assert.equal(plan.heldBack, 2);
  assert.equal(planRun(baseline, { mailboxes }, { now, mode: "apply", changeLimit: 0 }).actions.length, 0);
  assert.equal(planRun(baseline, { mailboxes }, { now, mode: "apply" }).heldBack, 0);
});

test("planRun: the organisation target is named after the tenant's DisplayName, else 'Organization'", () => {
  const organization = { AuditDisabled: false, UnifiedAuditLogIngestionEnabled: true };
  const nameOf = (observed: typeof organization & { DisplayName?: string | null }) =>
    planRun(baseline, { organization: observed }, { now, mode: "plan" }).targets[0]?.outcome.displayName;
  assert.equal(nameOf({ ...organization, DisplayName: "Contoso" }), "Contoso");
  assert.equal(nameOf(organization), "Organization");
  assert.equal(nameOf({ ...organization, DisplayName: null }), "Organization");
  assert.equal(nameOf({ ...organization, DisplayName: "" }), "Organization");
});

test("planRun: idempotent — planning against the post-apply state yields no actions", () => {
  const licences = new Map<string, boolean>();
  const mailboxes = [
    mailbox({ AuditEnabled: false }),
    mailbox({ AuditOwner: ["Update", "Extra"] }),
    mailbox({ RecipientTypeDetails: "SharedMailbox", AuditLogAgeLimit: "1.00:00:00" }),
    mailbox({ RecipientTypeDetails: "RoomMailbox", AuditEnabled: false }),
    groupMailbox({ AuditLogAgeLimit: "30.00:00:00" }),
  ];
  mailboxes.forEach((box, index) => licences.set(box.ExternalDirectoryObjectId ?? "", index % 2 === 0));
  for (const exactLists of [false, true]) {
    const active = policy((document) => { document["mailboxes"].exactLists = exactLists; });
    const first = planRun(active, { mailboxes, licences }, { now, mode: "apply" });
    assert.equal(first.actions.length, mailboxes.length);
    const after = mailboxes.map((box) => {
      const action = first.actions.find((candidate) => candidate.targetId === box.ExternalDirectoryObjectId);
      return action ? applySetMailbox(box, action.requests[0]?.parameters ?? {}) : box;
    });
    const second = planRun(active, { mailboxes: after, licences }, { now, mode: "apply" });
    assert.deepEqual(second.actions, [], `exactLists=${exactLists}`);
    assertEvery(second.targets, (target) => target.outcome.status === "compliant", "targets after the write");
    assert.ok(second.targets.some((target) => target.outcome.findings.some((finding) => finding.kind === "licence-gap")));
  }
});

test("policy validation rejects actions Exchange would reject and wrong versions", () => {
  assert.throws(() => policy((document) => { document["mailboxes"].actions.Owner.push("FolderBind"); }), /FolderBind.*Owner/);
  assert.throws(() => policy((document) => { document["version"] = 2; }), /version/);
  assert.throws(() => policy((document) => { document["organization"].auditDisabled = true; }), /organization.auditDisabled/);
  assert.throws(() => parseAuditPolicy({}), /Invalid audit policy/);
  assert.equal(baseline.mailboxes.minimumAuditLogAgeInDays, 180);
  assert.equal(baseline.mailboxes.exactLists, false);
});

test("OPATH helpers escape quotes and validate dates", () => {
  assert.equal(opathString("o'brien@contoso.com"), "'o''brien@contoso.com'");
  assert.equal(opathString("a' -or Name -like '*"), "'a'' -or Name -like ''*'");
  assert.throws(() => opathString("a\nb"), /control/);
  assert.equal(opathDate("2026-11-24T00:00:00.000Z"), "'11/24/2026 12:00:00 AM'");
  assert.equal(opathDate("2026-03-04T12:05:09.999Z"), "'3/4/2026 12:05:09 PM'", "milliseconds dropped: the instant moves earlier");
  assert.equal(opathDate("2026-12-31T23:59:59Z"), "'12/31/2026 11:59:59 PM'");
  assert.throws(() => opathDate("yesterday"), /valid date/);
  assert.equal(changedSinceFilter(new Date("2026-01-01T10:00:00Z")), "WhenChangedUTC -ge '1/1/2026 10:00:00 AM'");
});

test("named identities: SMTP, UPN and GUID accepted; injection rejected before use", () => {
  const parsed = parseMailboxIdentities(["o'brien@contoso.com", "5A1B2C3D-0000-4000-8000-000000000001"]);
  assert.deepEqual(parsed.map((identity) => identity.kind), ["address", "guid"]);
  assert.equal(
    identityFilter(parsed),
    "PrimarySmtpAddress -eq 'o''brien@contoso.com' -or ExternalDirectoryObjectId -eq '5a1b2c3d-0000-4000-8000-000000000001'",
  );
  for (const bad of ["a' -or Name -like '*", "alice", "alice@", "@contoso.com", "a b@contoso.com", "x@y.com' -or '1'='1", ""]) {
    assert.throws(() => parseMailboxIdentities([bad]), /Not an SMTP address, UPN or GUID/, bad);
  }
});

test("planRun: whole outcomes and actions per kind of target (mutation survivors)", () => {
  const organization = planRun(baseline, { organization: { AuditDisabled: false, UnifiedAuditLogIngestionEnabled: true } }, { now, mode: "apply" });
  assert.deepEqual(organization, {
    targets: [
      {
        outcome: {
          kind: "organization",
          targetId: "organization",
          displayName: "Organization",
          status: "compliant",
          findings: [],
          before: { AuditDisabled: false, UnifiedAuditLogIngestionEnabled: true },
        },
      },
    ],
    actions: [],
    heldBack: 0,
  });

  const bypass = planRun(baseline, { bypassAssociations: [{ Identity: "mallory", Guid: "bg", AuditBypassEnabled: true }] }, { now, mode: "apply" });
  assert.deepEqual(bypass.actions, [
    { targetKind: "bypass-association", targetId: "mallory", requests: [{ cmdlet: "Set-MailboxAuditBypassAssociation", parameters: { Identity: "bg", AuditBypassEnabled: false } }] },
  ]);

  // Report-only drift (a group mailbox lacking Microsoft's fixed set) is drift without an action.
  const group = planRun(baseline, { mailboxes: [groupMailbox({ AuditLogAgeLimit: "180.00:00:00", AuditOwner: [] })] }, { now, mode: "apply" });
  assert.deepEqual([group.targets[0]?.outcome.status, group.targets[0]?.action, group.actions], ["drift", undefined, []]);

  // The licence input reaches the diff, and a licensed change carries its single fallback into the action.
  const box = mailbox();
  const licences = new Map([[box.ExternalDirectoryObjectId ?? "", true]]);
  const licensed = planRun(baseline, { mailboxes: [box], licences }, { now, mode: "apply" });
  assert.equal(licensed.targets[0]?.outcome.findings.some((finding) => finding.kind === "licence-gap"), false);
  const fallback = licensed.actions[0]?.licenceFallback;
  assert.ok(fallback, "a change that adds gated actions carries a fallback without them");
  assert.equal(JSON.stringify(fallback).includes("MailItemsAccessed"), false);
  const unlicensed = planRun(baseline, { mailboxes: [box] }, { now, mode: "apply" });
  assert.equal("licenceFallback" in (unlicensed.actions[0] ?? {}), false, "no gated action sent, no fallback");
  assert.equal(unlicensed.targets[0]?.outcome.findings.some((finding) => finding.kind === "licence-gap"), true);
});

test("planRun: a target held back by the change limit says why", () => {
  const plan = planRun(baseline, { mailboxes: [mailbox(), mailbox()] }, { now, mode: "apply", changeLimit: 1 });
  assert.deepEqual(plan.targets[1]?.outcome.error, { code: "ChangeLimitReached", message: "The run's change limit was reached; left unchanged" });
});
