/**
 * Pure diff and plan for the capture mailbox: a shared mailbox, hidden from address lists, whose Entra account
 * cannot sign in, that only the access group (a mail-enabled security group) can open, with room to grow.
 *
 * Auditing of the capture mailbox itself (AuditEnabled, no bypass association) is the audit engine's job: it
 * covers every mailbox, this one included.
 */
import type { Finding, OutcomeError } from "../domain/outcome";
import type { CapturePolicy, CaptureSettings } from "./settings";
import { asFlag, asList, asText, normaliseText, type CaptureAction, type TargetPlan } from "./target-plan";

const GIB = 1024 ** 3;
/** Shared mailbox without a licence: 50 GB; with one (Exchange Online Plan 2 etc.): 100 GB. */
export const UNLICENSED_SHARED_QUOTA_IN_BYTES = 50 * GIB;
export const LICENSED_SHARED_QUOTA_IN_BYTES = 100 * GIB;

/** The mailbox's own account: FullAccess for it is not a grant. */
const SELF_TRUSTEE = "nt authority\\self";

/** The access group as Exchange knows it (from Get-DistributionGroup). */
export interface AccessGroup {
  /** How to name it in Add-MailboxPermission -User (its primary SMTP address). */
  readonly grantAs: string;
  /** Every identity Get-MailboxPermission may show for it (name, alias, display name, address, ids). */
  readonly identities: readonly string[];
}

/** The capture mailbox's sign-in state as the Graph port reports it. */
export interface CaptureAccount {
  readonly id: string;
  readonly accountEnabled: boolean;
}

/** Item count read at some moment, kept between runs to measure growth. */
export interface CaptureStatisticsSample {
  readonly itemCount: number;
  readonly totalItemSizeInBytes: number;
  /** ISO-8601 UTC. */
  readonly observedAt: string;
}

export interface ObservedCaptureMailbox {
  /** `Get-Mailbox` output; undefined when the mailbox does not exist. */
  readonly mailbox?: Readonly<Record<string, unknown>>;
  /** Graph account; undefined when Graph does not (yet) know it. */
  readonly account?: CaptureAccount;
  /** `Get-MailboxPermission` output. */
  readonly permissions: readonly Readonly<Record<string, unknown>>[];
  /** `Get-MailboxStatistics` output, when it could be read. */
  readonly statistics?: Readonly<Record<string, unknown>>;
}

export interface CaptureMailboxPlanInput {
  readonly settings: CaptureSettings;
  readonly policy: CapturePolicy;
  readonly accessGroup: AccessGroup;
  readonly observed: ObservedCaptureMailbox;
  /** The sample from an earlier run, if the caller keeps one. */
  readonly previousSample?: CaptureStatisticsSample;
  /** The time of this observation (from the caller's clock). */
  readonly now: Date;
}

/**
 * Parses Exchange's size text: `"49.5 GB (53,150,220,288 bytes)"` -> 53150220288. `"Unlimited"` and anything
 * without a byte count -> undefined.
 */
export function parseByteQuantity(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  const match = /\(([\d,.\s]+)\s*bytes?\)/i.exec(asText(value));
  if (!match?.[1]) return undefined;
  const bytes = Number(match[1].replace(/[,.\s]/g, ""));
  return Number.isFinite(bytes) ? bytes : undefined;
}

/** The quota that stops the mailbox receiving: as Exchange reports it, else the shared-mailbox default. */
export function captureQuotaInBytes(mailbox: Readonly<Record<string, unknown>> | undefined, licensed: boolean): number {
  return (
    parseByteQuantity(mailbox?.["ProhibitSendReceiveQuota"]) ??
    (licensed ? LICENSED_SHARED_QUOTA_IN_BYTES : UNLICENSED_SHARED_QUOTA_IN_BYTES)
  );
}

/** The statistics sample of this run, for the caller to keep for the next one. */
export function sampleStatistics(statistics: Readonly<Record<string, unknown>> | undefined, now: Date): CaptureStatisticsSample | undefined {
  const totalItemSizeInBytes = parseByteQuantity(statistics?.["TotalItemSize"]);
  const itemCount = Number(statistics?.["ItemCount"]);
  if (totalItemSizeInBytes === undefined || !Number.isFinite(itemCount)) return undefined;
  return { itemCount, totalItemSizeInBytes, observedAt: now.toISOString() };
}

/**
 * Messages per day the capture receives: the configured expectation and the growth measured since the
 * previous sample, whichever is higher (deletions make growth understate; never below the expectation).
 */
export function estimateDailyMessages(
  expectedDailyMessages: number | undefined,
  previous: CaptureStatisticsSample | undefined,
  current: CaptureStatisticsSample | undefined,
): number | undefined {
  let measured: number | undefined;
  if (previous && current) {
    const elapsedInDays = (Date.parse(current.observedAt) - Date.parse(previous.observedAt)) / 86_400_000;
    const growth = current.itemCount - previous.itemCount;
    if (elapsedInDays > 0 && growth >= 0) measured = growth / elapsedInDays;
  }
  if (measured === undefined) return expectedDailyMessages;
  return Math.max(measured, expectedDailyMessages ?? 0);
}

function isFullAccess(entry: Readonly<Record<string, unknown>>): boolean {
  return asList(entry["AccessRights"]).some((right) => right.split(/[,\s]+/).some((part) => normaliseText(part) === "fullaccess"));
}

/** Explicit Allow FullAccess grants: what this product owns. SELF, inherited and Deny entries are left alone. */
export function explicitFullAccessTrustees(permissions: readonly Readonly<Record<string, unknown>>[]): string[] {
  return permissions
    .filter((entry) => isFullAccess(entry) && !asFlag(entry["IsInherited"]) && !asFlag(entry["Deny"]))
    .map((entry) => asText(entry["User"]))
    .filter((user) => user !== "" && normaliseText(user) !== SELF_TRUSTEE);
}

function formatGiB(bytes: number): string {
  return `${(bytes / GIB).toFixed(1)} GB`;
}

/** Plans the capture mailbox. Missing + createIfMissing plans only the creation; plan again once it exists. */
export function planCaptureMailbox(input: CaptureMailboxPlanInput): TargetPlan {
  const { settings, policy, accessGroup, observed, now } = input;
  const capture = settings.captureMailbox;
  if (!capture) throw new Error("planCaptureMailbox needs settings.captureMailbox (transport-rules mode)");
  const mailbox = observed.mailbox;
  const address = asText(mailbox?.["PrimarySmtpAddress"] ?? capture.address);
  const target = {
    kind: "capture-mailbox" as const,
    targetId: asText(mailbox?.["ExternalDirectoryObjectId"] ?? capture.address),
    displayName: address,
  };

  if (!mailbox) {
    const finding: Finding = { kind: "drift", setting: "Present", current: false, desired: true, message: "the capture mailbox does not exist" };
    if (!capture.createIfMissing) {
      return {
        ...target,
        findings: [{ ...finding, kind: "hazard" }],
        actions: [],
        problem: {
          code: "CaptureMailboxMissing",
          message: `Capture mailbox ${capture.address} does not exist and createIfMissing is off: no mail is captured. Create it or opt in to creation.`,
        },
        before: { Present: false },
      };
    }
    const alias = capture.address.split("@")[0] ?? capture.address;
    return {
      ...target,
      findings: [finding],
      actions: [
        {
          kind: "exchange",
          request: {
            cmdlet: "New-Mailbox",
            parameters: { Shared: true, Name: alias, Alias: alias, DisplayName: capture.displayName, PrimarySmtpAddress: capture.address },
          },
          description: `create shared mailbox ${capture.address}`,
        },
      ],
      before: { Present: false },
    };
  }

  const findings: Finding[] = [];
  const actions: CaptureAction[] = [];
  const problems: OutcomeError[] = [];

  const recipientType = asText(mailbox["RecipientTypeDetails"]);
  if (normaliseText(recipientType) !== "sharedmailbox") {
    problems.push({
      code: "CaptureMailboxNotShared",
      message: `${address} is a ${recipientType || "non-shared"} mailbox; the capture mailbox must be a SharedMailbox. It is not converted automatically.`,
    });
    findings.push({ kind: "drift", setting: "RecipientTypeDetails", current: recipientType, desired: "SharedMailbox", message: "the capture mailbox is not a shared mailbox" });
  }

  const hidden = asFlag(mailbox["HiddenFromAddressListsEnabled"]);
  if (!hidden) {
    findings.push({ kind: "drift", setting: "HiddenFromAddressListsEnabled", current: false, desired: true, message: "the capture mailbox is visible in address lists" });
    actions.push({
      kind: "exchange",
      request: { cmdlet: "Set-Mailbox", parameters: { Identity: address, HiddenFromAddressListsEnabled: true } },
      description: `hide ${address} from address lists`,
    });
  }

  if (!observed.account) {
    problems.push({
      code: "CaptureAccountNotFound",
      message: `The Entra account ${target.targetId} of ${address} is not visible in Graph (new mailboxes take a while to appear); its sign-in state is checked again next run.`,
    });
  } else if (observed.account.accountEnabled) {
    findings.push({ kind: "drift", setting: "AccountEnabled", current: true, desired: false, message: "sign-in to the capture mailbox's account is allowed" });
    actions.push({ kind: "block-sign-in", userId: observed.account.id, description: `block sign-in for ${address}` });
  }

  const groupIdentities = new Set(accessGroup.identities.map((identity) => identity.toLowerCase()));
  const trustees = explicitFullAccessTrustees(observed.permissions);
  const isGroup = (trustee: string) => groupIdentities.has(trustee.toLowerCase());
  const others = trustees.filter((trustee) => !isGroup(trustee));
  const groupGranted = trustees.some(isGroup);
  if (others.length > 0 || !groupGranted) {
    findings.push({
      kind: "drift",
      setting: "FullAccess",
      current: trustees,
      desired: [accessGroup.grantAs],
      message: `FullAccess must be held by the access group only${others.length > 0 ? `; also granted to ${others.join(", ")}` : ""}${groupGranted ? "" : "; the access group has no FullAccess"}`,
    });
  }
  if (!groupGranted) {
    actions.push({
      kind: "exchange",
      request: { cmdlet: "Add-MailboxPermission", parameters: { Identity: address, User: accessGroup.grantAs, AccessRights: ["FullAccess"], AutoMapping: false } },
      description: `grant FullAccess on ${address} to ${accessGroup.grantAs}`,
    });
  }
  for (const trustee of others) {
    actions.push({
      kind: "exchange",
      request: { cmdlet: "Remove-MailboxPermission", parameters: { Identity: address, User: trustee, AccessRights: ["FullAccess"] } },
      description: `remove FullAccess on ${address} from ${trustee}`,
    });
  }

  const quotaInBytes = captureQuotaInBytes(mailbox, capture.licensed);
  const sample = sampleStatistics(observed.statistics, now);
  if (!sample) {
    findings.push({ kind: "hazard", setting: "TotalItemSize", message: "mailbox statistics could not be read; capacity is unknown" });
  } else {
    const usedRatio = sample.totalItemSizeInBytes / quotaInBytes;
    const usage = `${formatGiB(sample.totalItemSizeInBytes)} of ${formatGiB(quotaInBytes)} (${(usedRatio * 100).toFixed(1)}%)`;
    if (usedRatio >= settings.thresholds.quotaWarnRatio) {
      findings.push({
        kind: "hazard",
        setting: "TotalItemSize",
        current: sample.totalItemSizeInBytes,
        desired: `< ${Math.floor(quotaInBytes * settings.thresholds.quotaWarnRatio)}`,
        message: `capture mailbox holds ${usage}; when full it stops receiving copies`,
      });
    }
    if (usedRatio >= settings.thresholds.quotaFailRatio) {
      problems.push({ code: "CaptureMailboxFull", message: `Capture mailbox ${address} holds ${usage}, above the ${settings.thresholds.quotaFailRatio * 100}% limit: export or purge captured mail, or license the mailbox.` });
    }
  }

  const dailyMessages = estimateDailyMessages(settings.expectedDailyMessages, input.previousSample, sample);
  if (dailyMessages !== undefined) {
    const limit = policy.limits.messagesReceivedPerHour;
    const peakPerHour = Math.ceil((dailyMessages / 24) * settings.peakHourFactor);
    if (peakPerHour > limit * settings.thresholds.receiveRateWarnRatio) {
      findings.push({
        kind: "hazard",
        setting: "MessagesPerHour",
        current: peakPerHour,
        desired: `<= ${Math.floor(limit * settings.thresholds.receiveRateWarnRatio)}`,
        message:
          peakPerHour > limit
            ? `about ${peakPerHour} messages in the busiest hour exceed the ${limit} messages/hour a mailbox can receive: this design cannot hold the tenant's volume (copies are delayed, then lost); use journaling to an external archive-grade target`
            : `about ${peakPerHour} messages in the busiest hour approach the ${limit} messages/hour a mailbox can receive`,
      });
    }
  }

  const before = {
    RecipientTypeDetails: recipientType,
    HiddenFromAddressListsEnabled: hidden,
    AccountEnabled: observed.account?.accountEnabled ?? null,
    FullAccess: trustees,
    TotalItemSizeInBytes: sample?.totalItemSizeInBytes ?? null,
    ItemCount: sample?.itemCount ?? null,
    QuotaInBytes: quotaInBytes,
  };
  const [problem, ...otherProblems] = problems;
  const mergedProblem = problem && otherProblems.length > 0 ? { code: problem.code, message: problems.map((each) => each.message).join(" ") } : problem;
  // A mailbox of the wrong type is not touched at all.
  const safeActions = problems.some((each) => each.code === "CaptureMailboxNotShared") ? [] : actions;
  return { ...target, findings, actions: safeActions, ...(mergedProblem ? { problem: mergedProblem } : {}), before };
}
