/**
 * The recorded state of a target: what a recorded outcome says about the target, reduced to what a later run must
 * not lose. Two outcomes with the same recorded state tell the report the same thing, so the second need not be
 * written again (the recorded-state digest, shared/storage/recorded-digest.ts, keeps a hash of it per target).
 *
 * - `compliant` and `remediated` are one class: "in policy, verified". A remediated outcome's state is what its
 *   read-back showed (`after`, and the findings a diff of the read-back gives), which is what the next night's
 *   compliant read of the same mailbox shows (`before`, its findings) — WhenChangedUTC included, so anything that
 *   touched the mailbox since, even a change back, is a different state.
 * - `exempt` and `not-applicable` are their own classes.
 * - `failed` and `drift` have no recorded state: they are always recorded (their errors, their pending changes and
 *   the alerting on them are per run).
 * - Drift findings are left out (a remediated outcome's drift findings say what this run changed; the read-back
 *   has none); every other finding (licence gap, substitution, exemption, custom audit set, hazard) is kept.
 */
import type { Finding, TargetOutcome } from "./outcome";

/** What a read-back showed, when the outcome's own findings are those of the read before the change. */
export interface ReadBackState {
  readonly findings: readonly Finding[];
}

/**
 * The canonical text of an outcome's recorded state, or undefined when the outcome must always be recorded
 * (failed, drift, or a remediated outcome without its read-back settings).
 */
export function recordedStateOf(outcome: TargetOutcome, readBack?: ReadBackState): string | undefined {
  const statusClass = STATUS_CLASS[outcome.status];
  if (statusClass === undefined) return undefined;
  const settings = outcome.status === "remediated" ? outcome.after : outcome.before;
  if (outcome.status === "remediated" && settings === undefined) return undefined;
  const findings = (readBack?.findings ?? outcome.findings).filter((finding) => finding.kind !== "drift");
  return canonicalJson({
    kind: outcome.kind,
    targetId: outcome.targetId,
    displayName: outcome.displayName,
    recipientType: outcome.recipientType ?? null,
    status: statusClass,
    settings: settings ?? null,
    findings,
    error: outcome.error ?? null,
  });
}

const STATUS_CLASS: Readonly<Record<TargetOutcome["status"], string | undefined>> = {
  compliant: "verified",
  remediated: "verified",
  exempt: "exempt",
  "not-applicable": "not-applicable",
  drift: undefined,
  failed: undefined,
};

/** JSON with every object's keys sorted, so equal values have equal text whatever order they were built in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? "null";
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[key];
    if (item !== undefined) sorted[key] = sortKeys(item);
  }
  return sorted;
}
