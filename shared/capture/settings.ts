/**
 * Desired state of the journaling-equivalent capture, as data:
 * - `CapturePolicy` (policy/capture.v<N>.json): the managed rule templates, the "managed by" marker and the
 *   service limits. Same for every tenant; versioned with the product.
 * - `CaptureSettings`: the tenant's choices (capture mailbox, access group, mode, thresholds). Come from config.
 * Both are validated here; every problem is reported at once.
 */
import { z } from "zod";
import defaultPolicyJson from "../../policy/capture.v1.json";
import { controlsSchema } from "../domain/controls";

/** A configuration problem that makes the whole capture run meaningless (not one target's failure). */
export class CaptureConfigurationError extends Error {
  override readonly name = "CaptureConfigurationError";
  constructor(
    /** Product error code, e.g. `CaptureSettingsInvalid`, `CaptureAccessGroupInvalid`. */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const scope = z.enum(["InOrganization", "NotInOrganization"]).nullable();

const transportRuleTemplateSchema = z.object({
  /** Stable key, e.g. `all`, `inbound`. */
  key: z.string().min(1),
  /** Exchange rule name; must start with the policy's `managedNamePrefix`. */
  name: z.string().min(1).max(64),
  fromScope: scope,
  sentToScope: scope,
  ruleErrorAction: z.enum(["Ignore", "Defer"]),
  senderAddressLocation: z.enum(["Header", "Envelope", "HeaderOrEnvelope"]),
});

const capturePolicySchema = z
  .object({
    version: z.number().int().positive(),
    name: z.string(),
    description: z.string(),
    /** Text every managed rule carries in Comments. */
    marker: z.string().min(8),
    /** The full Comments text written on managed rules; must contain `marker`. */
    comments: z.string(),
    /** Managed transport rules, in priority order (the first gets priority 0). */
    transportRules: z.array(transportRuleTemplateSchema).min(1),
    journalRule: z.object({ name: z.string().min(1), scope: z.enum(["Global", "Internal", "External"]) }),
    /** Rules whose name starts with this and that carry the marker are ours even when the policy no longer lists them. */
    managedNamePrefix: z.string().min(1),
    limits: z.object({
      maxTransportRules: z.number().int().positive(),
      maxRuleSizeInBytes: z.number().int().positive(),
      messagesReceivedPerHour: z.number().int().positive(),
      ruleChangeDelayInMinutes: z.number().int().nonnegative(),
    }),
    /** The published controls the capture outcomes evidence (the report's control view). */
    controls: controlsSchema,
  })
  .superRefine((policy, context) => {
    if (!policy.comments.toLowerCase().includes(policy.marker.toLowerCase())) {
      context.addIssue({ code: "custom", path: ["comments"], message: "must contain the marker" });
    }
    const names = new Set<string>();
    for (const [index, rule] of [...policy.transportRules, policy.journalRule].entries()) {
      const name = rule.name.toLowerCase();
      if (!name.startsWith(policy.managedNamePrefix.toLowerCase())) {
        context.addIssue({ code: "custom", path: ["rules", index, "name"], message: `must start with "${policy.managedNamePrefix}"` });
      }
      if (names.has(name)) context.addIssue({ code: "custom", path: ["rules", index, "name"], message: "duplicate rule name" });
      names.add(name);
    }
  });

export type TransportRuleTemplate = z.infer<typeof transportRuleTemplateSchema>;
export type CapturePolicy = Readonly<z.infer<typeof capturePolicySchema>>;

const smtpAddress = z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, "must be an SMTP address");
const ratio = z.number().gt(0).lte(1);

const captureSettingsSchema = z
  .object({
    /** `transport-rules` for cloud-only tenants (ASD design); `journaling` for hybrid tenants. */
    mode: z.enum(["transport-rules", "journaling"]).default("transport-rules"),
    captureMailbox: z
      .object({
        /** Primary SMTP address of the shared capture mailbox. */
        address: smtpAddress,
        displayName: z.string().min(1).default("Mail capture (security operations)"),
        /** Create it as a shared mailbox when missing. Opt-in: creating a mailbox is a visible tenant change. */
        createIfMissing: z.boolean().default(false),
        /** Whether a licence is assigned (quota 100 GB instead of 50 GB) when Exchange does not report the quota. */
        licensed: z.boolean().default(false),
      })
      .optional(),
    /** The mail-enabled security group whose members (and only they) get FullAccess. Name, alias or address. */
    accessGroup: z.string().min(1).optional(),
    thresholds: z
      .object({
        quotaWarnRatio: ratio.default(0.8),
        quotaFailRatio: ratio.default(0.95),
        /** Warn when the estimated peak hourly volume exceeds this share of the 3,600 messages/hour limit. */
        receiveRateWarnRatio: ratio.default(0.8),
      })
      .default({ quotaWarnRatio: 0.8, quotaFailRatio: 0.95, receiveRateWarnRatio: 0.8 }),
    /** Expected messages per day the capture will receive, if known. */
    expectedDailyMessages: z.number().int().nonnegative().optional(),
    /**
     * Busiest hour relative to the average hour. Mail clusters in working hours, so the average hour
     * (daily / 24) understates the load; 3 means the peak hour carries three times the average.
     */
    peakHourFactor: z.number().min(1).default(3),
    journaling: z
      .object({
        /** External or on-premises journaling mailbox (Exchange Online mailboxes cannot be journal targets). */
        journalEmailAddress: smtpAddress,
        /** Mailbox that receives journal reports Exchange could not deliver. */
        ndrMailbox: smtpAddress,
        scope: z.enum(["Global", "Internal", "External"]).optional(),
      })
      .optional(),
  })
  .superRefine((settings, context) => {
    if (settings.thresholds.quotaWarnRatio > settings.thresholds.quotaFailRatio) {
      context.addIssue({ code: "custom", path: ["thresholds"], message: "quotaWarnRatio must not exceed quotaFailRatio" });
    }
    if (settings.mode === "transport-rules") {
      if (!settings.captureMailbox) context.addIssue({ code: "custom", path: ["captureMailbox"], message: "required in transport-rules mode" });
      if (!settings.accessGroup) context.addIssue({ code: "custom", path: ["accessGroup"], message: "required in transport-rules mode" });
    } else if (!settings.journaling) {
      context.addIssue({ code: "custom", path: ["journaling"], message: "required in journaling mode" });
    }
  });

export type CaptureSettings = Readonly<z.infer<typeof captureSettingsSchema>>;

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`).join("; ");
}

/** Validates capture settings (defaults filled in); throws `CaptureConfigurationError` listing every problem. */
export function parseCaptureSettings(input: unknown): CaptureSettings {
  const parsed = captureSettingsSchema.safeParse(input);
  if (!parsed.success) {
    throw new CaptureConfigurationError("CaptureSettingsInvalid", `Invalid capture settings: ${describeIssues(parsed.error)}`);
  }
  return Object.freeze(parsed.data);
}

/** Validates a capture policy document; throws `CaptureConfigurationError` listing every problem. */
export function parseCapturePolicy(input: unknown): CapturePolicy {
  const parsed = capturePolicySchema.safeParse(input);
  if (!parsed.success) {
    throw new CaptureConfigurationError("CapturePolicyInvalid", `Invalid capture policy: ${describeIssues(parsed.error)}`);
  }
  return Object.freeze(parsed.data);
}

/** The shipped capture policy (policy/capture.v1.json). */
export const defaultCapturePolicy: CapturePolicy = parseCapturePolicy(defaultPolicyJson);
