import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultAuditPolicy, parseAuditPolicy } from "../../shared/audit/policy";
import { defaultCapturePolicy } from "../../shared/capture/settings";
import type { ControlMapping } from "../../shared/domain/controls";
import type { Finding, OutcomeStatus, TargetOutcome } from "../../shared/domain/outcome";
import { controlEvidence, controlsOf } from "../../shared/report";
import auditBaseline from "../../policy/audit-baseline.v1.json";

const cis612: ControlMapping = {
  framework: "CIS Microsoft 365 Foundations",
  id: "6.1.2",
  title: "Ensure mailbox audit actions are configured",
  evidence: [{ kind: "mailbox", settings: ["AuditEnabled", "AuditAdmin", "AuditDelegate", "AuditOwner"] }],
};
const prowlerUsers: ControlMapping = {
  framework: "Prowler",
  id: "exchange_user_mailbox_auditing_enabled",
  title: "t",
  evidence: [{ kind: "mailbox", recipientTypes: ["UserMailbox"] }],
};

const finding = (kind: Finding["kind"], setting: string): Finding => ({ kind, setting, message: "m" });
const mailbox = (status: OutcomeStatus, findings: Finding[], recipientType = "UserMailbox"): TargetOutcome => ({
  kind: "mailbox",
  targetId: "t",
  displayName: "d",
  status,
  findings,
  recipientType,
});

describe("controlEvidence", () => {
  const cases: [string, ControlMapping, TargetOutcome, OutcomeStatus | undefined][] = [
    ["compliant mailbox meets it", cis612, mailbox("compliant", []), "compliant"],
    ["drift on a mapped setting", cis612, mailbox("drift", [finding("drift", "AuditOwner")]), "drift"],
    ["drift elsewhere still meets it", cis612, mailbox("drift", [finding("drift", "AuditLogAgeLimit")]), "compliant"],
    ["remediated mapped setting", cis612, mailbox("remediated", [finding("drift", "AuditEnabled")]), "remediated"],
    ["pending counts as drift", cis612, mailbox("drift", [finding("pending", "AuditAdmin")]), "drift"],
    ["a failure fails every control of the target", cis612, mailbox("failed", []), "failed"],
    ["exempt target", cis612, mailbox("exempt", []), "exempt"],
    [
      "a combined setting name matches any part",
      cis612,
      mailbox("drift", [finding("drift", "AuditAdmin,AuditOwner")]),
      "drift",
    ],
    ["licence gap alone meets it", cis612, mailbox("compliant", [finding("licence-gap", "AuditOwner")]), "compliant"],
    ["another kind evidences nothing", cis612, { ...mailbox("failed", []), kind: "organization" }, undefined],
    ["recipient type outside the evidence", prowlerUsers, mailbox("failed", [], "RoomMailbox"), undefined],
    [
      "no settings listed: any drift bears on it",
      prowlerUsers,
      mailbox("drift", [finding("drift", "AuditLogAgeLimit")]),
      "drift",
    ],
  ];
  for (const [name, control, outcome, expected] of cases) {
    it(name, () => assert.equal(controlEvidence(control, outcome), expected));
  }
});

describe("controlsOf", () => {
  it("names the controls a finding bears on, all of the target's for a failure", () => {
    const drift = mailbox("drift", [finding("drift", "AuditLogAgeLimit")]);
    assert.deepEqual(controlsOf([cis612, prowlerUsers], drift, drift.findings), [
      "Prowler exchange_user_mailbox_auditing_enabled",
    ]);
    const failed = mailbox("failed", []);
    assert.deepEqual(controlsOf([cis612, prowlerUsers], failed, []), [
      "CIS Microsoft 365 Foundations 6.1.2",
      "Prowler exchange_user_mailbox_auditing_enabled",
    ]);
  });
});

describe("control mapping in the policy files", () => {
  it("maps the shipped baseline to ASD, CIS 6.1.1-6.1.3, SCuBA and Prowler, and capture to the ASD journaling design", () => {
    const ids = defaultAuditPolicy().controls.map((control) => control.id);
    for (const id of ["Mailbox auditing", "6.1.1", "6.1.2", "6.1.3", "MS.EXO.13.1v1", "MS.SECURITYSUITE.5.1"])
      assert.ok(ids.includes(id), id);
    for (const id of [
      "exchange_organization_mailbox_auditing_enabled",
      "exchange_mailbox_audit_bypass_disabled",
      "exchange_user_mailbox_auditing_enabled",
    ])
      assert.ok(ids.includes(id), id);
    assert.deepEqual(
      defaultCapturePolicy.controls.map((control) => control.id),
      ["Journaling"],
    );
  });

  it("accepts a policy without controls and rejects a malformed mapping", () => {
    const withoutControls: Record<string, unknown> = { ...auditBaseline };
    delete withoutControls["controls"];
    assert.deepEqual(parseAuditPolicy(withoutControls).controls, []);
    const malformed = {
      ...auditBaseline,
      controls: [{ framework: "CIS", id: "x", title: "t", evidence: [{ kind: "mailboxes" }] }],
    };
    assert.throws(() => parseAuditPolicy(malformed), /controls\.0\.evidence\.0\.kind/);
  });
});
