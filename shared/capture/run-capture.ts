/**
 * The capture reconciler: observe -> plan (pure) -> apply -> verify by reading back.
 *
 * Exchange is reached only through `ExchangeTransport`; Entra only through the tiny `CaptureGraphPort` below
 * (the integrator adapts the Graph client to it). Nothing is reported compliant or remediated without state
 * read from the services to prove it; mail flow is never used as proof (rule changes take up to 30 minutes to
 * reach it).
 */
import { outcomeErrorOf } from "../exchange/outcome-error";
import type { OutcomeError, RunMode, TargetOutcome } from "../domain/outcome";
import { ExchangeError, isAlreadyExistsError } from "../exchange/errors";
import type { CmdletRequest, ExchangeTransport } from "../exchange/transport";
import { getAccessGroup, getCaptureMailbox, getMailboxStatistics, getRecipient, listMailboxPermissions, type LookupContext } from "./capture-lookups";
import {
  planCaptureMailbox,
  sampleStatistics,
  type AccessGroup,
  type CaptureAccount,
  type CaptureStatisticsSample,
  type ObservedCaptureMailbox,
} from "./capture-mailbox";
import { journalNdrRefusal, planJournaling } from "./journaling";
import { CaptureConfigurationError, defaultCapturePolicy, type CapturePolicy, type CaptureSettings } from "./settings";
import { asText, plannedStatus, withWritesRefused, type CaptureAction, type TargetPlan } from "./target-plan";
import { desiredTransportRules, planTransportRules, type CaptureRecipient } from "./transport-rules";

/** What the capture needs from Microsoft Graph. */
export interface CaptureGraphPort {
  /** The user (account) by Entra object id; undefined when Graph does not know it (404). */
  getUser(userId: string): Promise<CaptureAccount | undefined>;
  /** `PATCH /users/{id}` `{ "accountEnabled": false }`. */
  blockSignIn(userId: string): Promise<void>;
}

export interface CaptureDeps {
  /** Exchange transport bound to the tenant of the request. */
  readonly transport: ExchangeTransport;
  readonly graph: CaptureGraphPort;
  /** Validated with `parseCaptureSettings`. */
  readonly settings: CaptureSettings;
  /** Defaults to the shipped policy/capture.v1.json. */
  readonly policy?: CapturePolicy;
  readonly clock: { now(): Date };
}

export interface CaptureRequest {
  readonly tenantId: string;
  readonly mode: RunMode;
  /** The statistics sample returned by the previous run, to measure the capture's message volume. */
  readonly previousSample?: CaptureStatisticsSample;
  readonly abortSignal?: AbortSignal;
}

export interface CaptureResult {
  /** One outcome per target: managed rules, stale managed rules, shadowing rules, capture mailbox or journaling targets. */
  readonly outcomes: TargetOutcome[];
  /** Writes attempted (Exchange cmdlets and Graph PATCHes). A converged tenant gives 0. */
  readonly writes: number;
  /** This run's capture-mailbox statistics sample; keep it and pass it as `previousSample` next run. */
  readonly sample?: CaptureStatisticsSample;
}

interface Observation {
  readonly plans: TargetPlan[];
  readonly sample?: CaptureStatisticsSample;
}

/**
 * Observes, plans and (in apply mode) repairs and verifies the capture of one tenant.
 * Throws `CaptureConfigurationError` for a configuration that makes the run meaningless (missing or
 * non-mail-enabled access group) and `ExchangeError` when the state cannot be read at all.
 */
export async function runCapture(deps: CaptureDeps, request: CaptureRequest): Promise<CaptureResult> {
  const context = new CaptureRun(deps, request);
  return context.run();
}

class CaptureRun {
  private readonly policy: CapturePolicy;
  private writes = 0;
  private accessGroup: AccessGroup | undefined;
  /** Journaling mode: the NDR address's `RecipientTypeDetails` in the tenant (undefined when it is not a recipient). */
  private ndrRecipientType: string | undefined;
  private readonly lookups: LookupContext;

  constructor(
    private readonly deps: CaptureDeps,
    private readonly request: CaptureRequest,
  ) {
    this.policy = deps.policy ?? defaultCapturePolicy;
    this.lookups = { transport: deps.transport, ...(request.abortSignal ? { abortSignal: request.abortSignal } : {}) };
  }

  async run(): Promise<CaptureResult> {
    // Checked once, before any write: the run's configuration stands or falls with them.
    if (this.deps.settings.mode === "transport-rules") this.accessGroup = await this.readAccessGroup();
    else this.ndrRecipientType = await this.readNdrRecipientType();
    const observed = await this.observe();
    if (this.request.mode === "plan") {
      return { outcomes: observed.plans.map(plannedOutcome), writes: 0, ...sampleField(observed.sample) };
    }

    const executions = new Map<string, Execution>();
    let current = observed;
    const mailboxPlan = observed.plans.find((plan) => plan.kind === "capture-mailbox");
    if (mailboxPlan) {
      const execution = await this.execute(mailboxPlan.actions);
      // A created mailbox gets its settings (hide, grant, block sign-in) and its rules from plans on its read-back state.
      if (!execution.error && mailboxPlan.actions.some(isMailboxCreation)) {
        current = await this.observe();
        const followUp = current.plans.find((plan) => plan.kind === "capture-mailbox");
        if (followUp) mergeExecution(execution, await this.execute(followUp.actions));
      }
      executions.set(key(mailboxPlan), execution);
    }
    for (const plan of current.plans) {
      if (plan.kind === "capture-mailbox") continue;
      executions.set(key(plan), await this.execute(plan.actions));
    }

    const verified = this.writes > 0 ? await this.observe() : observed;
    const finalByKey = new Map(verified.plans.map((plan) => [key(plan), plan]));
    const outcomes: TargetOutcome[] = [];
    for (const initial of observed.plans) {
      outcomes.push(settle(initial, finalByKey.get(key(initial)), executions.get(key(initial)) ?? { writes: 0 }));
      finalByKey.delete(key(initial));
    }
    // Targets that only appear on read-back (e.g. a rule that shadows the capture once it exists).
    for (const plan of finalByKey.values()) outcomes.push(settle(plan, plan, { writes: 0 }));
    return { outcomes, writes: this.writes, ...sampleField(verified.sample ?? observed.sample) };
  }

  private async invoke(request: CmdletRequest): Promise<Record<string, unknown>[]> {
    const options = this.request.abortSignal ? { abortSignal: this.request.abortSignal } : undefined;
    return (await this.deps.transport.invoke(request, options)).value;
  }

  /** The access group must be a mail-enabled security group: only those can hold FullAccess for a group's members. */
  private async readAccessGroup(): Promise<AccessGroup> {
    const name = this.deps.settings.accessGroup ?? "";
    const group = await getAccessGroup(this.lookups, name);
    if (!group) {
      throw new CaptureConfigurationError(
        "CaptureAccessGroupInvalid",
        `Capture access group "${name}" was not found in Exchange as a mail-enabled security group in tenant ${this.request.tenantId}. ` +
          "A security group that is not mail-enabled cannot be granted FullAccess: mail-enable it or configure a mail-enabled security group.",
      );
    }
    const type = asText(group["RecipientTypeDetails"]);
    if (type.toLowerCase() !== "mailuniversalsecuritygroup") {
      throw new CaptureConfigurationError(
        "CaptureAccessGroupInvalid",
        `Capture access group "${name}" is a ${type || "group of unknown type"}, not a mail-enabled security group (MailUniversalSecurityGroup).`,
      );
    }
    const identities = ["Name", "Alias", "DisplayName", "PrimarySmtpAddress", "Identity", "Guid", "ExternalDirectoryObjectId", "DistinguishedName"]
      .map((property) => group[property])
      .filter((value): value is string => typeof value === "string" && value !== "");
    return { grantAs: asText(group["PrimarySmtpAddress"] || name), identities: [name, ...identities] };
  }

  private async readNdrRecipientType(): Promise<string | undefined> {
    const recipient = await getRecipient(this.lookups, this.deps.settings.journaling?.ndrMailbox ?? "");
    return recipient ? asText(recipient["RecipientTypeDetails"]) : undefined;
  }

  private async observe(): Promise<Observation> {
    const rules = await this.invoke({ cmdlet: "Get-TransportRule", parameters: { ResultSize: "Unlimited" } });
    if (this.deps.settings.mode === "journaling") return this.observeJournaling(rules);

    const mailbox = await this.observeCaptureMailbox();
    const now = this.deps.clock.now();
    const accessGroup = this.accessGroup;
    if (!accessGroup) throw new Error("access group not read");
    const mailboxPlan = planCaptureMailbox({
      settings: this.deps.settings,
      policy: this.policy,
      accessGroup,
      observed: mailbox,
      now,
      ...(this.request.previousSample ? { previousSample: this.request.previousSample } : {}),
    });
    const capture = captureRecipient(this.deps.settings, mailbox.mailbox);
    const creatable = mailbox.mailbox !== undefined || this.deps.settings.captureMailbox?.createIfMissing === true;
    const rulePlans = planTransportRules({
      policy: this.policy,
      desired: desiredTransportRules(this.policy, capture),
      current: rules,
      capture,
      ...(creatable ? {} : { blockedBecause: `capture mailbox ${capture.address} does not exist (Exchange rejects BlindCopyTo to an unknown recipient)` }),
    });
    const sample = sampleStatistics(mailbox.statistics, now);
    return { plans: [mailboxPlan, ...rulePlans], ...sampleField(sample) };
  }

  /** The journaling targets, then the managed capture rules left from transport-rules mode (removed), all refused for a mailbox NDR address. */
  private async observeJournaling(rules: Record<string, unknown>[]): Promise<Observation> {
    const [journalRules, [transportConfig]] = await Promise.all([
      this.invoke({ cmdlet: "Get-JournalRule" }),
      this.invoke({ cmdlet: "Get-TransportConfig", select: ["JournalingReportNdrTo"] }),
    ]);
    const { settings } = this.deps;
    const journalPlans = planJournaling({ policy: this.policy, settings, journalRules, transportConfig: transportConfig ?? {}, ...ndrTypeField(this.ndrRecipientType) });
    const rulePlans = planTransportRules({ policy: this.policy, desired: [], current: rules, capture: { address: "", identities: [] } });
    // Removing the transport-rule capture while journaling cannot be set up would leave no capture at all.
    const refusal = journalNdrRefusal(settings.journaling?.ndrMailbox ?? "", this.ndrRecipientType);
    return { plans: [...journalPlans, ...(refusal ? rulePlans.map((plan) => withWritesRefused(plan, refusal)) : rulePlans)] };
  }

  private async observeCaptureMailbox(): Promise<ObservedCaptureMailbox> {
    const mailbox = await getCaptureMailbox(this.lookups, this.deps.settings.captureMailbox?.address ?? "");
    if (!mailbox) return { permissions: [] };

    const objectId = asText(mailbox["ExternalDirectoryObjectId"]);
    const [account, permissions, statistics] = await Promise.all([
      objectId ? this.deps.graph.getUser(objectId) : Promise.resolve(undefined),
      listMailboxPermissions(this.lookups, mailbox),
      // Statistics only feed capacity warnings: unreadable statistics are a finding, not a failed run.
      getMailboxStatistics(this.lookups, mailbox).catch(() => undefined),
    ]);
    return { mailbox, permissions, ...(account ? { account } : {}), ...(statistics ? { statistics } : {}) };
  }

  /**
   * Runs a target's actions in order; the first failure stops that target (later actions depend on earlier ones).
   * A write whose outcome is unknown does not stop it: the read-back decides.
   */
  private async execute(actions: readonly CaptureAction[]): Promise<Execution> {
    const execution: Execution = { writes: 0 };
    for (const action of actions) {
      this.writes += 1;
      execution.writes += 1;
      try {
        if (action.kind === "block-sign-in") await this.deps.graph.blockSignIn(action.userId);
        else await this.invoke(action.request);
      } catch (error) {
        const failure = outcomeErrorOf(error, "GraphError");
        const described = { ...failure, message: `${action.description}: ${failure.message}` };
        if (!isUnconfirmedWrite(error)) {
          execution.error = described;
          break;
        }
        execution.unconfirmed ??= described;
      }
    }
    return execution;
  }
}

interface Execution {
  writes: number;
  error?: OutcomeError;
  /** A write that may have landed (see `isUnconfirmedWrite`); reported only if the read-back still differs. */
  unconfirmed?: OutcomeError;
}

/**
 * A write whose outcome only the read-back can tell: "already exists" (the transport retried a creation whose
 * first attempt landed, its answer lost to a 5xx or a timeout), or no answer at all once the retries were spent.
 * Creations are never repeated by the reconciler, so neither case can create a duplicate.
 */
function isUnconfirmedWrite(error: unknown): boolean {
  return isAlreadyExistsError(error) || (error instanceof ExchangeError && (error.status === 0 || error.status >= 500));
}

function mergeExecution(into: Execution, next: Execution): Execution {
  into.writes += next.writes;
  if (!into.error && next.error) into.error = next.error;
  if (!into.unconfirmed && next.unconfirmed) into.unconfirmed = next.unconfirmed;
  return into;
}

function ndrTypeField(ndrRecipientType: string | undefined): { ndrRecipientType?: string } {
  return ndrRecipientType === undefined ? {} : { ndrRecipientType };
}

function isMailboxCreation(action: CaptureAction): boolean {
  return action.kind === "exchange" && action.request.cmdlet === "New-Mailbox";
}

/** Matches a target across observations. There is one capture mailbox; its id changes from address to object id when created. */
function key(plan: TargetPlan): string {
  return plan.kind === "capture-mailbox" ? plan.kind : `${plan.kind}|${plan.targetId.toLowerCase()}`;
}

function sampleField(sample: CaptureStatisticsSample | undefined): { sample?: CaptureStatisticsSample } {
  return sample ? { sample } : {};
}

function captureRecipient(settings: CaptureSettings, mailbox: Readonly<Record<string, unknown>> | undefined): CaptureRecipient {
  const address = asText(mailbox?.["PrimarySmtpAddress"] ?? settings.captureMailbox?.address);
  const identities = ["Guid", "ExternalDirectoryObjectId", "Identity", "Name", "Alias", "DisplayName", "UserPrincipalName"]
    .map((property) => mailbox?.[property])
    .filter((value): value is string => typeof value === "string" && value !== "");
  return { address, identities: [settings.captureMailbox?.address ?? address, ...identities] };
}

function plannedOutcome(plan: TargetPlan): TargetOutcome {
  return {
    kind: plan.kind,
    targetId: plan.targetId,
    displayName: plan.displayName,
    status: plannedStatus(plan),
    findings: plan.findings,
    before: plan.before,
    ...(plan.problem ? { error: plan.problem } : {}),
  };
}

/**
 * The outcome of one target after apply, judged only on read-back state (`final`, planned again on it):
 * a target still needing writes failed verification; a target gone from the read-back was removed.
 */
function settle(initial: TargetPlan, final: TargetPlan | undefined, execution: Execution): TargetOutcome {
  const base = { kind: initial.kind, targetId: final?.targetId ?? initial.targetId, displayName: final?.displayName ?? initial.displayName, before: initial.before };
  const after = execution.writes > 0 && final ? { after: final.before } : {};
  if (execution.error) {
    return { ...base, ...after, status: "failed", findings: final?.findings ?? initial.findings, error: execution.error };
  }
  if (final?.problem) return { ...base, ...after, status: "failed", findings: final.findings, error: final.problem };
  if (final && final.actions.length > 0) {
    const differs = `Read-back still differs: ${final.actions.map((action) => action.description).join("; ")}.`;
    const error = execution.unconfirmed ? { ...execution.unconfirmed, message: `${execution.unconfirmed.message} ${differs}` } : { code: "VerifyMismatch", message: differs };
    return { ...base, ...after, status: "failed", findings: final.findings, error };
  }
  if (execution.writes > 0) return { ...base, ...after, status: "remediated", findings: initial.findings };
  return { ...base, status: "compliant", findings: final?.findings ?? [] };
}
