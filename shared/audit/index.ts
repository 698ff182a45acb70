/** The mailbox audit baseline's domain: public API (the pipeline that runs it is shared/reconcile). */
export type { AuditStore, AuditLogger, AuditProgress, Clock, LicenceSource } from "./ports";
export { defaultAuditPolicy, parseAuditPolicy, type AuditPolicy } from "./policy";
export { diffMailbox, diffOrganization, diffBypass } from "./diff";
export { planRun, ORGANIZATION_TARGET_ID, type RunPlan, type PlannedAction, type PlannedTarget } from "./plan";
export { opathString, opathDate, changedSinceFilter, identityFilter, parseMailboxIdentities } from "./opath";
