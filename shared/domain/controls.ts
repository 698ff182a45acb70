/**
 * The control mapping: which outcomes evidence which published control (ASD Blueprint, CIS Microsoft 365
 * Foundations, CISA SCuBA, Prowler checks). It is data in the policy files (`controls`), validated here, so a
 * policy that changes what is enforced changes what is evidenced in the same place.
 */
import { z } from "zod";
import { TARGET_KINDS } from "./outcome";

const evidenceSchema = z.strictObject({
  /** The target kind whose outcomes evidence the control. */
  kind: z.enum(TARGET_KINDS),
  /** Only targets of these Exchange recipient types (e.g. `UserMailbox`); default: every target of the kind. */
  recipientTypes: z.array(z.string().min(1)).min(1).optional(),
  /** The settings whose findings bear on the control (e.g. `AuditOwner`); default: every finding of the target. */
  settings: z.array(z.string().min(1)).min(1).optional(),
});

export const controlMappingSchema = z.strictObject({
  /** The publication, e.g. `CIS Microsoft 365 Foundations`. */
  framework: z.string().min(1),
  /** The control's id in that publication, e.g. `6.1.1`, `MS.EXO.13.1v1`, `exchange_mailbox_audit_bypass_disabled`. */
  id: z.string().min(1),
  title: z.string().min(1),
  evidence: z.array(evidenceSchema).min(1),
});

/** A policy's `controls` section; a policy without one evidences no control. */
export const controlsSchema = z.array(controlMappingSchema).default([]);

export type ControlEvidence = z.output<typeof evidenceSchema>;
export type ControlMapping = z.output<typeof controlMappingSchema>;
