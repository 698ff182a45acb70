/**
 * The pure planner's output for one target (a rule, the capture mailbox, the transport config): what was
 * found, what would repair it, and what no action of ours can repair. The reconciler turns these into
 * `TargetOutcome`s; `plan` mode stops there, `apply` executes `actions` and plans again on read-back state.
 */
import type { Finding, OutcomeError, OutcomeStatus, TargetKind } from "../domain/outcome";
import type { CmdletRequest } from "../exchange/transport";

/** One write. Exchange writes are cmdlets; the only Graph write is blocking the capture mailbox's sign-in. */
export type CaptureAction =
  | { readonly kind: "exchange"; readonly request: CmdletRequest; readonly description: string }
  | { readonly kind: "block-sign-in"; readonly userId: string; readonly description: string };

export interface TargetPlan {
  readonly kind: TargetKind;
  readonly targetId: string;
  readonly displayName: string;
  readonly findings: readonly Finding[];
  /** Writes that bring the target to the desired state, in order. Empty = nothing to change. */
  readonly actions: readonly CaptureAction[];
  /**
   * Capture is defeated or cannot be planned and the actions (if any) may not fix it: a hazard such as a
   * managed rule in Audit mode, a shadowing unmanaged rule, a full capture mailbox, a refused rule.
   * The target is `failed` unless apply repaired it and read-back proves it.
   */
  readonly problem?: OutcomeError;
  /** Relevant settings as read. */
  readonly before: Readonly<Record<string, unknown>>;
}

/** Status of a planned target before any write (plan mode, or apply before it starts). */
export function plannedStatus(plan: TargetPlan): OutcomeStatus {
  if (plan.problem) return "failed";
  return plan.actions.length > 0 ? "drift" : "compliant";
}

/** The plan with its writes refused because of `problem`: reported failed, nothing written. */
export function withWritesRefused(plan: TargetPlan, problem: OutcomeError): TargetPlan {
  return { ...plan, actions: [], problem: plan.problem ?? problem };
}

/**
 * The text of a scalar Exchange property (string, number or boolean). Null, undefined and the objects a
 * scalar property never holds read as "", the same "absent" value.
 */
export function asText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return "";
}

/** Case-insensitive, trimmed text; null/undefined/empty are the same "absent" value. */
export function normaliseText(value: unknown): string {
  return asText(value).trim().toLowerCase();
}

/** Exchange returns multi-valued properties as arrays, single strings or null. */
export function asList(value: unknown): string[] {
  if (value === null || value === undefined || value === "") return [];
  if (Array.isArray(value)) return value.filter((item) => item !== null && item !== undefined && item !== "").map(String);
  return [asText(value)];
}

/** Exchange booleans arrive as JSON booleans, or as "True"/"False" from some cmdlets. */
export function asFlag(value: unknown): boolean {
  return value === true || normaliseText(value) === "true";
}
