/** The mailbox audit baseline: public API. */
export { runAuditBaseline, applyMailboxChanges, AuditRequestError, INCREMENTAL_WATERMARK, FULL_SWEEP_WATERMARK } from "./reconciler";
export type { AuditBaselineDeps, AuditBaselineRequest, AuditBaselineResult, MailboxChangesResult } from "./reconciler";
export type { AuditStore, AuditLogger, AuditProgress, Clock, DeferredMailboxChange, LicenceSource, MailboxChangeSink } from "./ports";
export { defaultAuditPolicy, parseAuditPolicy, type AuditPolicy } from "./policy";
export { diffMailbox, diffOrganization, diffBypass } from "./diff";
export { planRun, ORGANIZATION_TARGET_ID, type RunPlan, type PlannedAction, type PlannedTarget } from "./plan";
export { opathString, opathDate, changedSinceFilter, identityFilter, parseMailboxIdentities } from "./opath";
