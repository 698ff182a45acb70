/** One line of the doctor's checklist, and the report it prints. */

export type CheckStatus = "ok" | "problem" | "unknown";

export interface Check {
  /** `token`: a token's roles; `read`: one call the product makes; `role`: an Exchange role the product's writes need. */
  readonly area: "token" | "read" | "role";
  readonly title: string;
  readonly status: CheckStatus;
  /** What was seen (or why it could not be seen). */
  readonly detail: string;
  /** For a problem: what to grant or change; for an unknown: how to make it checkable. */
  readonly fix?: string;
  readonly latencyInMs?: number;
}

/** The roles a token carried; the token itself is never kept. */
export interface TokenSummary {
  readonly scope: string;
  readonly acquired: boolean;
  readonly roles: readonly string[];
  /** `appid`: the client id the token was issued to. */
  readonly appId?: string;
  /** `oid`: the object id of the app's service principal. */
  readonly objectId?: string;
  /** Why no token (or no readable payload) was obtained. */
  readonly error?: string;
}

/** The tenant's size as the first pages show it. */
export interface TenantSize {
  readonly mailboxesOnFirstPage?: number;
  /** The first page was full: more mailboxes are likely (the next page was not read). */
  readonly moreMailboxesLikely?: boolean;
  readonly groupMailboxesOnFirstPage?: number;
  readonly bypassAssociationsOnFirstPage?: number;
  readonly transportRules?: number;
  readonly usersOnFirstDeltaPage?: number;
  readonly subscribedSkus?: number;
}

/** Exchange HTTP calls as the transport's `onCall` hook saw them (retries and pages included). */
export interface CallStatistics {
  readonly httpCalls: number;
  /** Attempts answered 429; the transport retries them within its budget. */
  readonly throttled: number;
  /** Attempts answered 5xx or without a response (also retried). */
  readonly transientFailures: number;
}

export interface DoctorReport {
  readonly tenantId: string;
  readonly captureMode: string;
  readonly tokens: { readonly exchange: TokenSummary; readonly graph: TokenSummary };
  readonly checks: readonly Check[];
  readonly tenant: TenantSize;
  readonly exchangeCalls: CallStatistics;
  /** Grants that are not needed and should not be there (e.g. Entra Mail.Send). */
  readonly warnings: readonly string[];
}

/** 0 when every check is ok, 1 when a problem was found, 2 when nothing is missing but something could not be checked. */
export function doctorExitCode(report: Pick<DoctorReport, "checks">): number {
  if (report.checks.some((check) => check.status === "problem")) return 1;
  return report.checks.some((check) => check.status === "unknown") ? 2 : 0;
}
