/**
 * The audit baseline policy: desired state as versioned data (policy/audit-baseline.v<N>.json), validated here.
 * Action names are checked against what Exchange Online accepts per logon type (`audit-actions.ts`); deprecated
 * names (MessageBind) are allowed because published baselines still carry them — the engine substitutes them.
 */
import { z } from "zod";
import defaultPolicyJson from "../../policy/audit-baseline.v1.json";
import { controlsSchema } from "../domain/controls";
import { LOGON_TYPES, isPolicyAction, type LogonType } from "./audit-actions";

const actionList = z.array(z.string().min(1));
const actionsByLogonType = z.strictObject({ Admin: actionList, Delegate: actionList, Owner: actionList });

const bypassExemption = z.strictObject({
  /** The bypass association's Identity (as Get-MailboxAuditBypassAssociation returns it), compared case-insensitively. */
  identity: z.string().min(1),
  /** Why the account may bypass auditing; carried into the `exempt` outcome. */
  reason: z.string().min(1),
  /** ISO date or date-time after which the exemption no longer applies. */
  expiresOn: z.union([z.iso.date(), z.iso.datetime({ offset: true })]).optional(),
});

export const auditPolicySchema = z
  .strictObject({
    version: z.literal(1),
    name: z.string().min(1),
    description: z.string().optional(),
    organization: z.strictObject({
      auditDisabled: z.literal(false),
      unifiedAuditLogIngestionEnabled: z.literal(true),
    }),
    mailboxes: z.strictObject({
      auditEnabled: z.literal(true),
      minimumAuditLogAgeInDays: z.number().int().min(1).max(24855),
      /** RecipientTypeDetails whose action lists are enforced (others get AuditEnabled and the age limit only). */
      actionRecipientTypes: z.array(z.string().min(1)).min(1),
      /** true: replace lists with exactly the policy's; false (default): only add what is missing. */
      exactLists: z.boolean().default(false),
      actions: actionsByLogonType,
    }),
    groupMailboxes: z.strictObject({
      /** Microsoft's fixed set for Microsoft 365 Group mailboxes: verified and reported, never written. */
      expectedActions: actionsByLogonType,
    }),
    bypass: z.strictObject({ allowList: z.array(bypassExemption) }),
    scan: z.strictObject({
      fullSweepIntervalInDays: z.number().positive().default(7),
      watermarkOverlapInMinutes: z.number().min(0).default(15),
    }),
    /** The published controls this policy's outcomes evidence (the report's control view). */
    controls: controlsSchema,
  })
  .superRefine((policy, context) => {
    for (const logonType of LOGON_TYPES) {
      for (const action of policy.mailboxes.actions[logonType]) {
        if (!isPolicyAction(logonType, action)) {
          context.addIssue({
            code: "custom",
            path: ["mailboxes", "actions", logonType],
            message: `'${action}' is not an Exchange Online audit action for ${logonType}`,
          });
        }
      }
    }
  });

export type AuditPolicy = z.output<typeof auditPolicySchema>;
export type BypassExemption = z.output<typeof bypassExemption>;
export type ActionsByLogonType = Readonly<Record<LogonType, readonly string[]>>;

/** Validates a policy document; throws an Error listing every problem. */
export function parseAuditPolicy(document: unknown): AuditPolicy {
  const result = auditPolicySchema.safeParse(document);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
    throw new Error(`Invalid audit policy: ${problems.join("; ")}`);
  }
  return result.data;
}

/** The shipped default baseline (policy/audit-baseline.v1.json). */
export function defaultAuditPolicy(): AuditPolicy {
  return parseAuditPolicy(defaultPolicyJson);
}
