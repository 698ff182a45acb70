/**
 * The app's configuration: one validated, frozen object read from an environment (app settings in Azure,
 * `local.settings.json` locally, the shell for the CLI). Every problem is reported at once.
 */
import { z } from "zod";
import { parseCaptureSettings, type CaptureSettings } from "./capture/settings";
import { CALLER_AUTH_MODES, callerPolicy, type CallerPolicy } from "./runs/caller-check";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Default NIGHTLY_CHANGE_LIMIT: a first night on a 10,000-mailbox tenant changes 500 of them (an amount an operator
 * can read in the report and undo), then asks for approval; a settled tenant's nightly changes are far fewer.
 */
export const DEFAULT_NIGHTLY_CHANGE_LIMIT = 500;

/** A setting the app reads: for the README, infra checks and `local.settings.json.example`. */
export interface SettingDescription {
  readonly name: string;
  readonly description: string;
  /** Default when unset; undefined = no default. */
  readonly defaultValue?: string;
  /**
   * Where the setting is provided: `app` (default) by infra/app-settings.json on the Function App; `platform` by
   * App Service itself; `cli` only when running the CLI; `local` only for local development and tests.
   */
  readonly scope?: "app" | "platform" | "cli" | "local";
}

/** Every setting the app reads. */
export const SETTINGS = Object.freeze([
  {
    name: "TENANT_ID",
    description: "The Microsoft 365 tenant: its GUID or its initial *.onmicrosoft.com domain. Required.",
  },
  {
    name: "EXCHANGE_BASE_URL",
    description: "Exchange Online admin API host (https); changed only to point at the local emulator.",
    defaultValue: "https://outlook.office365.com",
    scope: "local",
  },
  { name: "GRAPH_BASE_URL", description: "Microsoft Graph host (https); changed only to point at the local emulator.", defaultValue: "https://graph.microsoft.com", scope: "local" },
  {
    name: "AzureWebJobsStorage",
    description:
      "Storage connection string (local development, Azurite). Either this or the identity-based AzureWebJobsStorage__* settings.",
    scope: "local",
  },
  {
    name: "AzureWebJobsStorage__tableServiceUri",
    description: "Identity-based storage: Table service URI (https://<account>.table.core.windows.net).",
  },
  {
    name: "AzureWebJobsStorage__queueServiceUri",
    description: "Identity-based storage: Queue service URI (https://<account>.queue.core.windows.net).",
  },
  {
    name: "AzureWebJobsStorage__credential",
    description: "Identity-based storage: must be 'managedidentity' when set.",
  },
  {
    name: "AzureWebJobsStorage__clientId",
    description: "Identity-based storage: client id of the user-assigned managed identity.",
  },
  {
    name: "EXCHANGE_MAX_CONCURRENCY",
    description: "Concurrent Exchange calls per tenant across the process (1-10).",
    defaultValue: "3",
  },
  {
    name: "AZURE_CLIENT_ID",
    description:
      "In Azure: client id of the user-assigned managed identity. For the CLI against a real tenant: the app registration's client id (with a certificate).",
  },
  {
    name: "AZURE_CLIENT_CERTIFICATE_PATH",
    description: "CLI against a real tenant: PEM file holding the app's certificate and private key.",
    scope: "cli",
  },
  {
    name: "KEY_VAULT_URL",
    description:
      "Key Vault of the app: holds the alert webhook URL (ALERT_WEBHOOK_SECRET_NAME) and, for the CLI or other tenants, the app registration's PEM certificate (CERTIFICATE_SECRET_NAME, TENANTS).",
  },
  {
    name: "CERTIFICATE_SECRET_NAME",
    description: "CLI against a real tenant: name of the Key Vault secret holding the PEM certificate and private key.",
    scope: "cli",
  },
  {
    name: "EXTRA_CA_CERT_PATH",
    description: "PEM CA certificate to trust in addition to the public roots (the local emulator's).",
    scope: "local",
  },
  { name: "LOG_LEVEL", description: `Log level: ${LOG_LEVELS.join(", ")}.`, defaultValue: "info" },
  { name: "AUDIT_POLICY_PATH", description: "JSON file with a custom audit policy (same schema as policy/audit-baseline.v1.json); default: the shipped ASD + CIS baseline." },
  { name: "AUDIT_LOG_AGE_LIMIT_DAYS", description: "Minimum mailbox AuditLogAgeLimit to enforce, in days (overrides the policy's minimumAuditLogAgeInDays).", defaultValue: "180" },
  { name: "FULL_SWEEP_INTERVAL_DAYS", description: "Days between full sweeps of every mailbox; runs in between read only changed mailboxes (overrides the policy).", defaultValue: "7" },
  { name: "CAPTURE_MODE", description: "Journaling-equivalent capture: off, transport-rules (cloud-only tenants, the ASD design) or journaling (hybrid).", defaultValue: "off" },
  { name: "CAPTURE_MAILBOX", description: "transport-rules mode: SMTP address of the shared capture mailbox." },
  { name: "CAPTURE_ACCESS_GROUP", description: "transport-rules mode: the mail-enabled security group that alone gets FullAccess to the capture mailbox (name, alias or address)." },
  { name: "CAPTURE_CREATE_MAILBOX", description: "transport-rules mode: create the capture mailbox as a shared mailbox when it is missing (true/false).", defaultValue: "false" },
  { name: "CAPTURE_EXPECTED_DAILY_MESSAGES", description: "Messages per day the capture mailbox is expected to receive (checked against the 3,600 messages/hour receiving limit)." },
  { name: "CAPTURE_QUOTA_WARN_PERCENT", description: "Capture mailbox size, as a percentage of its quota (50 GB unlicensed, 100 GB licensed), that raises a warning finding.", defaultValue: "80" },
  { name: "CAPTURE_QUOTA_FAIL_PERCENT", description: "Capture mailbox size, as a percentage of its quota, at which the capture is reported failed (and alerted).", defaultValue: "95" },
  { name: "JOURNAL_EMAIL_ADDRESS", description: "journaling mode: the external or on-premises journaling mailbox address." },
  { name: "JOURNAL_NDR_MAILBOX", description: "journaling mode: mailbox for undeliverable journal reports (JournalingReportNdrTo)." },
  { name: "AUDIT_EVIDENCE", description: "Prove the audit trail from the unified audit log (Microsoft Purview audit search, Graph application permission AuditLogsQuery-Exchange.Read.All): each run looks for the Exchange admin records of earlier runs' changes and counts the last 24 hours' mailbox audit records. on or off.", defaultValue: "on" },
  { name: "AUDIT_EVIDENCE_POLL_SECONDS", description: "How long a run waits, after its own work, for its audit searches to finish (they are created when the run starts); a search still running is reported pending and searched again by the next run (0-3600).", defaultValue: "300" },
  { name: "AUDIT_INGESTION_DELAY_MINUTES", description: "An earlier run's changes are looked for in the audit log once it finished this long ago. Microsoft documents audit records of core services (Exchange among them) as typically available 60 to 90 minutes after the event, with no guarantee.", defaultValue: "90" },
  { name: "AUDIT_TRAIL_MISSING_AFTER_HOURS", description: "A change still missing from the audit log this long after its run finished fails (AuditTrailMissing, alerted); before, it is reported pending (1-144).", defaultValue: "24" },
  {
    name: "TENANTS",
    description:
      "Several tenants (a provider's customers): a comma-separated list of tenant ids, or a JSON array of {tenantId, clientId, certificateSecretName}. Each gets its own run, lease, watermarks and Exchange budget. The managed identity acts only in TENANT_ID; every other tenant needs clientId + certificateSecretName (an app registration whose PEM certificate is a secret in KEY_VAULT_URL). Empty: TENANT_ID alone.",
  },
  { name: "NIGHTLY_SCHEDULE", description: "NCRONTAB (six fields, UTC on Flex Consumption) of the nightly run; read by the Functions host.", defaultValue: "0 0 2 * * *" },
  { name: "NIGHTLY_MODE", description: "What the nightly run does: apply (enforce) or plan (read and report what would change, write nothing: a review before the first apply, or a change freeze). On-demand runs choose their own mode.", defaultValue: "apply" },
  { name: "NIGHTLY_CHANGE_LIMIT", description: `Most targets one nightly apply changes, or unlimited. Beyond it the run leaves the rest drift (ChangeLimitReached), keeps its watermarks and alerts that an operator must approve with an on-demand apply (POST /api/runs). ${DEFAULT_NIGHTLY_CHANGE_LIMIT} bounds a large tenant's first night (where most mailboxes fall short of the baseline) to what an operator can review, while an ordinary night of new and changed mailboxes stays far below it. To change nothing, set NIGHTLY_MODE=plan.`, defaultValue: String(DEFAULT_NIGHTLY_CHANGE_LIMIT) },
  { name: "ALERT_WEBHOOK_SECRET_NAME", description: "Key Vault secret (in KEY_VAULT_URL) holding the alert webhook URL; locally, ALERT_WEBHOOK_URL stands in for it. Empty: no webhook alerts." },
  { name: "ALERT_WEBHOOK_FORMAT", description: "Alert webhook body: teams, slack or generic.", defaultValue: "teams" },
  { name: "ALERT_MAIL_FROM", description: "Mailbox alerts are sent from with Graph sendMail; empty disables mail alerts." },
  { name: "ALERT_MAIL_TO", description: "Comma-separated recipients of alert mail." },
  { name: "REPORT_BASE_URL", description: "Base URL of the app (https://<app>.azurewebsites.net), for report links in alerts." },
  { name: "CALLER_AUTH", description: "Who may call the HTTP functions besides the function key: function-key, or entra (App Service Authentication must be on; callers need the app role MailboxAudit.Read for the report and run status, MailboxAudit.Operate to start runs). ALLOWED_CALLER_OBJECT_IDS implies entra.", defaultValue: "function-key" },
  { name: "ALLOWED_CALLER_OBJECT_IDS", description: "Optional allow-list of Entra object ids (comma-separated): with entra callers, a caller must hold the app role and be listed. Setting it implies CALLER_AUTH=entra." },
  { name: "RUN_LEASE_TTL_SECONDS", description: "Per-tenant run lease: expires this long after its holder's last renewal (a dead run frees the tenant after it).", defaultValue: "900" },
  { name: "RUN_FANOUT_THRESHOLD", description: "Mailbox changes a run applies itself; beyond this many, its changes are fanned out on the work-item queue (0: always fan out).", defaultValue: "100" },
  {
    name: "IDENTITY_ENDPOINT",
    description: "Set by App Service/Functions: the managed identity endpoint (read, never set by hand in Azure).",
    scope: "platform",
  },
  {
    name: "IDENTITY_HEADER",
    description: "Set by App Service/Functions: the managed identity endpoint's secret header.",
    scope: "platform",
  },
  {
    name: "WEBSITE_AUTH_ENABLED",
    description: "Set by App Service: True when App Service Authentication (Easy Auth) is on. With entra callers and not True, every HTTP request is refused (403).",
    scope: "platform",
  },
] as const satisfies readonly SettingDescription[]);

export type SettingName = (typeof SETTINGS)[number]["name"];

export type StorageConfig =
  | { readonly kind: "connectionString"; readonly connectionString: string }
  | {
      readonly kind: "identity";
      readonly tableServiceUri: string;
      readonly queueServiceUri: string;
      readonly clientId?: string;
    };

export type CertificateSource =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "keyVault"; readonly vaultUrl: string; readonly secretName: string };

/** A tenant the app manages, and how it authenticates there (absent: the app's own credential). */
export interface TenantConfig {
  readonly tenantId: string;
  /** An app registration with a PEM certificate in Key Vault, for tenants the managed identity cannot act in. */
  readonly appCredential?: { readonly clientId: string; readonly certificateSecretName: string };
}

export type WebhookFormatSetting = "teams" | "slack" | "generic";

export interface AlertConfig {
  readonly webhook?: { readonly secretName: string; readonly format: WebhookFormatSetting };
  readonly mail?: { readonly from: string; readonly to: readonly string[] };
  readonly reportBaseUrl?: string;
}

/** What the nightly timer starts for each tenant. */
export interface NightlyConfig {
  readonly mode: "plan" | "apply";
  /** Most targets a nightly apply changes; undefined = unlimited. */
  readonly changeLimit?: number;
}

export interface RunsConfig {
  /** Tenants to run, TENANT_ID first when listed; at least one. */
  readonly tenants: readonly TenantConfig[];
  readonly nightly: NightlyConfig;
  readonly leaseTtlInMs: number;
  readonly fanOutThreshold: number;
  /** Who may call the HTTP functions beyond the function key (shared/runs/caller-check.ts). */
  readonly callers: CallerPolicy;
  readonly keyVaultUrl?: string;
  readonly alerts: AlertConfig;
}

export interface AppConfig {
  readonly tenantId: string;
  /** Run orchestration: tenants, lease, fan-out, callers, alerts. */
  readonly runs: RunsConfig;
  readonly exchangeBaseUrl: string;
  readonly graphBaseUrl: string;
  /** Undefined only when loaded with `requireStorage: false` and no storage setting is present. */
  readonly storage?: StorageConfig;
  readonly exchangeMaxConcurrency: number;
  readonly azureClientId?: string;
  /** The app registration certificate, for running outside Azure against a real tenant. */
  readonly certificate?: CertificateSource;
  readonly extraCaCertPath?: string;
  readonly logLevel: LogLevel;
  /** The App Service managed identity endpoint, when the platform (or the emulator) provides one. */
  readonly managedIdentity?: { readonly endpoint: string; readonly header: string };
  readonly auditPolicyPath?: string;
  /** Overrides of the audit policy's minimum AuditLogAgeLimit and full-sweep period. */
  readonly auditLogAgeLimitDays?: number;
  readonly fullSweepIntervalDays?: number;
  /** Capture settings (validated), or undefined when CAPTURE_MODE is off. */
  readonly capture?: CaptureSettings;
  /** The audit-log evidence phase (shared/evidence). */
  readonly auditEvidence: AuditEvidenceConfig;
}

export interface AuditEvidenceConfig {
  readonly enabled: boolean;
  readonly pollBudgetInMs: number;
  readonly ingestionDelayInMs: number;
  readonly missingAfterInMs: number;
}

/** Configuration that failed validation; `problems` lists every one, one per setting. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((problem) => `- ${problem}`).join("\n")}`,
    );
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INITIAL_DOMAIN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.onmicrosoft\.com$/i;

const blank = (value: unknown): unknown =>
  typeof value === "string" && value.trim() === "" ? undefined : typeof value === "string" ? value.trim() : value;
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blank, schema.optional());
const lowerCase = (value: unknown): unknown => {
  const trimmed = blank(value);
  return typeof trimmed === "string" ? trimmed.toLowerCase() : trimmed;
};
const guid = z.string().regex(GUID, "must be a GUID");
const httpsUrl = z
  .url({ protocol: /^https$/, error: "must be an https URL" })
  .transform((value) => value.replace(/\/+$/, ""));

const connectionString = z.string().refine((value) => {
  const pairs = new Map(
    value
      .split(";")
      .filter((part) => part.trim() !== "")
      .map((part) => {
        const index = part.indexOf("=");
        return [part.slice(0, index).trim().toLowerCase(), part.slice(index + 1)] as const;
      }),
  );
  return pairs.get("usedevelopmentstorage") === "true" || pairs.has("accountname") || pairs.has("tableendpoint");
}, "must be a storage connection string (UseDevelopmentStorage=true, or AccountName=...;AccountKey=... / endpoints)");

const envSchema = z.object({
  TENANT_ID: z.preprocess(
    blank,
    z
      .string({ error: "is required" })
      .refine(
        (value) => GUID.test(value) || INITIAL_DOMAIN.test(value),
        "must be a GUID or a *.onmicrosoft.com domain",
      ),
  ),
  EXCHANGE_BASE_URL: z.preprocess(blank, httpsUrl.default("https://outlook.office365.com")),
  GRAPH_BASE_URL: z.preprocess(blank, httpsUrl.default("https://graph.microsoft.com")),
  AzureWebJobsStorage: optional(connectionString),
  AzureWebJobsStorage__tableServiceUri: optional(httpsUrl),
  AzureWebJobsStorage__queueServiceUri: optional(httpsUrl),
  AzureWebJobsStorage__credential: optional(
    z.string().refine((value) => value.toLowerCase() === "managedidentity", "must be 'managedidentity'"),
  ),
  AzureWebJobsStorage__clientId: optional(guid),
  EXCHANGE_MAX_CONCURRENCY: z.preprocess(
    blank,
    z.coerce.number().int("must be a whole number").min(1).max(10).default(3),
  ),
  AZURE_CLIENT_ID: optional(guid),
  AZURE_CLIENT_CERTIFICATE_PATH: optional(z.string()),
  KEY_VAULT_URL: optional(httpsUrl),
  CERTIFICATE_SECRET_NAME: optional(
    z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, "must be a Key Vault secret name (letters, digits, hyphens)"),
  ),
  EXTRA_CA_CERT_PATH: optional(z.string()),
  LOG_LEVEL: z.preprocess(
    (value) => (typeof blank(value) === "string" ? String(blank(value)).toLowerCase() : blank(value)),
    z.enum(LOG_LEVELS).default("info"),
  ),
  AUDIT_POLICY_PATH: optional(z.string()),
  AUDIT_LOG_AGE_LIMIT_DAYS: optional(z.coerce.number().int("must be a whole number").min(1).max(24855)),
  FULL_SWEEP_INTERVAL_DAYS: optional(z.coerce.number().positive()),
  CAPTURE_MODE: z.preprocess(blank, z.enum(["off", "transport-rules", "journaling"]).default("off")),
  CAPTURE_MAILBOX: optional(z.string()),
  CAPTURE_ACCESS_GROUP: optional(z.string()),
  CAPTURE_CREATE_MAILBOX: z.preprocess(blank, z.enum(["true", "false"], { error: "must be true or false" }).default("false")),
  CAPTURE_EXPECTED_DAILY_MESSAGES: optional(z.coerce.number().int("must be a whole number").nonnegative()),
  CAPTURE_QUOTA_WARN_PERCENT: z.preprocess(blank, z.coerce.number().gt(0).lte(100).default(80)),
  CAPTURE_QUOTA_FAIL_PERCENT: z.preprocess(blank, z.coerce.number().gt(0).lte(100).default(95)),
  JOURNAL_EMAIL_ADDRESS: optional(z.string()),
  JOURNAL_NDR_MAILBOX: optional(z.string()),
  AUDIT_EVIDENCE: z.preprocess(lowerCase, z.enum(["on", "off", "true", "false"], { error: "must be on or off" }).default("on")),
  AUDIT_EVIDENCE_POLL_SECONDS: z.preprocess(blank, z.coerce.number().int("must be a whole number").min(0).max(3600).default(300)),
  AUDIT_INGESTION_DELAY_MINUTES: z.preprocess(blank, z.coerce.number().int("must be a whole number").min(0).max(7 * 24 * 60).default(90)),
  AUDIT_TRAIL_MISSING_AFTER_HOURS: z.preprocess(blank, z.coerce.number().min(1).max(144).default(24)),
  TENANTS: optional(z.string()),
  NIGHTLY_SCHEDULE: optional(z.string().regex(/^\S+( \S+){5}$/, "must be a six-field NCRONTAB expression")),
  NIGHTLY_MODE: z.preprocess(lowerCase, z.enum(["plan", "apply"], { error: "must be plan or apply" }).default("apply")),
  NIGHTLY_CHANGE_LIMIT: z.preprocess(
    lowerCase,
    z
      .union([z.literal("unlimited"), z.string().regex(/^[1-9]\d*$/).transform(Number)], {
        error: "must be a whole number of at least 1, or unlimited (NIGHTLY_MODE=plan changes nothing)",
      })
      .default(DEFAULT_NIGHTLY_CHANGE_LIMIT),
  ),
  ALERT_WEBHOOK_SECRET_NAME: optional(z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, "must be a Key Vault secret name (letters, digits, hyphens)")),
  ALERT_WEBHOOK_FORMAT: z.preprocess(blank, z.enum(["teams", "slack", "generic"]).default("teams")),
  ALERT_MAIL_FROM: optional(z.email("must be an email address")),
  ALERT_MAIL_TO: optional(z.string().transform((value) => value.split(",").map((part) => part.trim()).filter(Boolean)).pipe(z.array(z.email("must be email addresses")).min(1))),
  REPORT_BASE_URL: optional(httpsUrl),
  CALLER_AUTH: z.preprocess((value) => (typeof blank(value) === "string" ? String(blank(value)).toLowerCase() : blank(value)), z.enum(CALLER_AUTH_MODES).default("function-key")),
  ALLOWED_CALLER_OBJECT_IDS: optional(z.string().transform((value) => value.split(",").map((part) => part.trim().toLowerCase()).filter(Boolean)).pipe(z.array(guid))),
  RUN_LEASE_TTL_SECONDS: z.preprocess(blank, z.coerce.number().positive().max(86_400).default(900)),
  RUN_FANOUT_THRESHOLD: z.preprocess(blank, z.coerce.number().int("must be a whole number").nonnegative().default(100)),
  IDENTITY_ENDPOINT: optional(z.url()),
  IDENTITY_HEADER: optional(z.string()),
  WEBSITE_AUTH_ENABLED: optional(z.string()),
} satisfies Record<SettingName, z.ZodType>);

type Env = Readonly<Record<string, string | undefined>>;

/** Cross-setting rules, checked on the raw values so they are reported alongside field errors. */
function crossSettingProblems(env: Env, requireStorage: boolean): string[] {
  const has = (name: string): boolean => (env[name] ?? "").trim() !== "";
  const problems: string[] = [];
  const identityStorage = ["AzureWebJobsStorage__tableServiceUri", "AzureWebJobsStorage__queueServiceUri"];
  if (has("AzureWebJobsStorage") && identityStorage.some(has)) {
    problems.push(
      "AzureWebJobsStorage: set either the connection string or the identity-based AzureWebJobsStorage__* settings, not both",
    );
  } else if (identityStorage.some(has)) {
    for (const name of identityStorage.filter((setting) => !has(setting)))
      problems.push(`${name}: is required with identity-based storage`);
  } else if (requireStorage && !has("AzureWebJobsStorage")) {
    problems.push(
      "AzureWebJobsStorage: is required (a connection string, or the identity-based AzureWebJobsStorage__tableServiceUri and __queueServiceUri)",
    );
  }
  if (has("AZURE_CLIENT_CERTIFICATE_PATH") && has("CERTIFICATE_SECRET_NAME")) {
    problems.push(
      "AZURE_CLIENT_CERTIFICATE_PATH: set either a certificate file or KEY_VAULT_URL + CERTIFICATE_SECRET_NAME, not both",
    );
  }
  // KEY_VAULT_URL alone is the app's vault (alert webhook secret); a certificate secret needs the vault.
  if (has("CERTIFICATE_SECRET_NAME") && !has("KEY_VAULT_URL")) {
    problems.push("KEY_VAULT_URL: is required with CERTIFICATE_SECRET_NAME");
  }
  if (has("ALERT_WEBHOOK_SECRET_NAME") && !has("KEY_VAULT_URL") && !has("ALERT_WEBHOOK_URL") && !has("ALERT_WEBHOOK_URL_FILE")) {
    problems.push("ALERT_WEBHOOK_SECRET_NAME: needs KEY_VAULT_URL (or, locally, ALERT_WEBHOOK_URL)");
  }
  if (has("ALERT_MAIL_FROM") !== has("ALERT_MAIL_TO")) {
    problems.push(`${has("ALERT_MAIL_FROM") ? "ALERT_MAIL_TO" : "ALERT_MAIL_FROM"}: is required with ${has("ALERT_MAIL_FROM") ? "ALERT_MAIL_FROM" : "ALERT_MAIL_TO"}`);
  }
  if ((has("AZURE_CLIENT_CERTIFICATE_PATH") || has("CERTIFICATE_SECRET_NAME")) && !has("AZURE_CLIENT_ID")) {
    problems.push("AZURE_CLIENT_ID: is required with a certificate (the app registration's client id)");
  }
  const delayInMinutes = Number(blank(env["AUDIT_INGESTION_DELAY_MINUTES"]) ?? "90");
  const missingAfterInHours = Number(blank(env["AUDIT_TRAIL_MISSING_AFTER_HOURS"]) ?? "24");
  if (Number.isFinite(delayInMinutes) && Number.isFinite(missingAfterInHours) && missingAfterInHours * 60 <= delayInMinutes) {
    problems.push("AUDIT_TRAIL_MISSING_AFTER_HOURS: must be longer than AUDIT_INGESTION_DELAY_MINUTES (a change cannot be missing before it is looked for)");
  }
  if (has("IDENTITY_ENDPOINT") !== has("IDENTITY_HEADER")) {
    problems.push(
      `${has("IDENTITY_ENDPOINT") ? "IDENTITY_HEADER" : "IDENTITY_ENDPOINT"}: is required with ${has("IDENTITY_ENDPOINT") ? "IDENTITY_ENDPOINT" : "IDENTITY_HEADER"}`,
    );
  }
  return problems;
}

/**
 * Reads and validates the configuration from `env` (usually `process.env`). Throws one `ConfigError`
 * listing every problem. `requireStorage: false` lets tools that never touch storage (the CLI's plan
 * against a tenant) run without it.
 */
export function loadConfig(env: Env, options: { requireStorage?: boolean } = {}): AppConfig {
  const parsed = envSchema.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.map(String).join(".") || "(env)"}: ${issue.message}`);
  problems.push(...crossSettingProblems(env, options.requireStorage ?? true));
  const capture = parsed.success ? captureSettings(parsed.data, problems) : undefined;
  const tenants = parsed.success ? tenantList(parsed.data, problems) : [];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const values = parsed.data;
  const storage: StorageConfig | undefined = values.AzureWebJobsStorage
    ? { kind: "connectionString", connectionString: values.AzureWebJobsStorage }
    : values.AzureWebJobsStorage__tableServiceUri && values.AzureWebJobsStorage__queueServiceUri
      ? {
          kind: "identity",
          tableServiceUri: values.AzureWebJobsStorage__tableServiceUri,
          queueServiceUri: values.AzureWebJobsStorage__queueServiceUri,
          ...(values.AzureWebJobsStorage__clientId ? { clientId: values.AzureWebJobsStorage__clientId } : {}),
        }
      : undefined;
  const certificate: CertificateSource | undefined = values.AZURE_CLIENT_CERTIFICATE_PATH
    ? { kind: "file", path: values.AZURE_CLIENT_CERTIFICATE_PATH }
    : values.KEY_VAULT_URL && values.CERTIFICATE_SECRET_NAME
      ? { kind: "keyVault", vaultUrl: values.KEY_VAULT_URL, secretName: values.CERTIFICATE_SECRET_NAME }
      : undefined;
  return deepFreeze({
    tenantId: values.TENANT_ID,
    runs: {
      tenants,
      nightly: {
        mode: values.NIGHTLY_MODE,
        ...(values.NIGHTLY_CHANGE_LIMIT !== "unlimited" ? { changeLimit: values.NIGHTLY_CHANGE_LIMIT } : {}),
      },
      leaseTtlInMs: values.RUN_LEASE_TTL_SECONDS * 1000,
      fanOutThreshold: values.RUN_FANOUT_THRESHOLD,
      callers: callerPolicy(values.ALLOWED_CALLER_OBJECT_IDS ?? [], env),
      ...(values.KEY_VAULT_URL ? { keyVaultUrl: values.KEY_VAULT_URL } : {}),
      alerts: {
        ...(values.ALERT_WEBHOOK_SECRET_NAME
          ? { webhook: { secretName: values.ALERT_WEBHOOK_SECRET_NAME, format: values.ALERT_WEBHOOK_FORMAT } }
          : {}),
        ...(values.ALERT_MAIL_FROM && values.ALERT_MAIL_TO ? { mail: { from: values.ALERT_MAIL_FROM, to: values.ALERT_MAIL_TO } } : {}),
        ...(values.REPORT_BASE_URL ? { reportBaseUrl: values.REPORT_BASE_URL } : {}),
      },
    },
    exchangeBaseUrl: values.EXCHANGE_BASE_URL,
    graphBaseUrl: values.GRAPH_BASE_URL,
    auditEvidence: {
      enabled: values.AUDIT_EVIDENCE === "on" || values.AUDIT_EVIDENCE === "true",
      pollBudgetInMs: values.AUDIT_EVIDENCE_POLL_SECONDS * 1000,
      ingestionDelayInMs: values.AUDIT_INGESTION_DELAY_MINUTES * 60_000,
      missingAfterInMs: values.AUDIT_TRAIL_MISSING_AFTER_HOURS * 3_600_000,
    },
    exchangeMaxConcurrency: values.EXCHANGE_MAX_CONCURRENCY,
    logLevel: values.LOG_LEVEL,
    ...(storage ? { storage } : {}),
    ...(values.AZURE_CLIENT_ID ? { azureClientId: values.AZURE_CLIENT_ID } : {}),
    ...(certificate ? { certificate } : {}),
    ...(values.EXTRA_CA_CERT_PATH ? { extraCaCertPath: values.EXTRA_CA_CERT_PATH } : {}),
    ...(values.AUDIT_POLICY_PATH ? { auditPolicyPath: values.AUDIT_POLICY_PATH } : {}),
    ...(values.AUDIT_LOG_AGE_LIMIT_DAYS !== undefined ? { auditLogAgeLimitDays: values.AUDIT_LOG_AGE_LIMIT_DAYS } : {}),
    ...(values.FULL_SWEEP_INTERVAL_DAYS !== undefined ? { fullSweepIntervalDays: values.FULL_SWEEP_INTERVAL_DAYS } : {}),
    ...(capture ? { capture } : {}),
    ...(values.IDENTITY_ENDPOINT && values.IDENTITY_HEADER
      ? { managedIdentity: { endpoint: values.IDENTITY_ENDPOINT, header: values.IDENTITY_HEADER } }
      : {}),
  });
}

const tenantEntrySchema = z.strictObject({
  tenantId: z.string().refine((value) => GUID.test(value) || INITIAL_DOMAIN.test(value), "must be a GUID or a *.onmicrosoft.com domain"),
  clientId: guid.optional(),
  certificateSecretName: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/).optional(),
});

/** TENANTS (comma list or JSON array), or TENANT_ID alone; problems are added to `problems`. */
function tenantList(values: z.output<typeof envSchema>, problems: string[]): TenantConfig[] {
  if (!values.TENANTS) return [{ tenantId: values.TENANT_ID }];
  let entries: unknown;
  try {
    entries = values.TENANTS.startsWith("[")
      ? JSON.parse(values.TENANTS)
      : values.TENANTS.split(",").map((part) => ({ tenantId: part.trim() })).filter((entry) => entry.tenantId !== "");
  } catch {
    problems.push("TENANTS: is not valid JSON");
    return [];
  }
  const parsed = z.array(tenantEntrySchema).min(1).safeParse(entries);
  if (!parsed.success) {
    problems.push(...parsed.error.issues.map((issue) => `TENANTS.${issue.path.map(String).join(".")}: ${issue.message}`));
    return [];
  }
  const tenants: TenantConfig[] = [];
  for (const entry of parsed.data) {
    const key = entry.tenantId.toLowerCase();
    if (tenants.some((tenant) => tenant.tenantId.toLowerCase() === key)) {
      problems.push(`TENANTS: ${entry.tenantId} is listed twice`);
    } else if (entry.clientId && entry.certificateSecretName) {
      if (!values.KEY_VAULT_URL) problems.push(`TENANTS: ${entry.tenantId} has a certificate secret but KEY_VAULT_URL is not set`);
      tenants.push({ tenantId: entry.tenantId, appCredential: { clientId: entry.clientId, certificateSecretName: entry.certificateSecretName } });
    } else if (entry.clientId || entry.certificateSecretName) {
      problems.push(`TENANTS: ${entry.tenantId} needs both clientId and certificateSecretName`);
    } else if (key !== values.TENANT_ID.toLowerCase()) {
      problems.push(`TENANTS: ${entry.tenantId} is not TENANT_ID: it needs clientId and certificateSecretName (the managed identity acts only in its home tenant)`);
    } else {
      tenants.push({ tenantId: entry.tenantId });
    }
  }
  return tenants;
}

/** Capture settings from the CAPTURE_* / JOURNAL_* variables; problems are added to `problems`. */
function captureSettings(values: z.output<typeof envSchema>, problems: string[]): CaptureSettings | undefined {
  if (values.CAPTURE_MODE === "off") return undefined;
  try {
    return parseCaptureSettings({
      mode: values.CAPTURE_MODE,
      ...(values.CAPTURE_MAILBOX
        ? { captureMailbox: { address: values.CAPTURE_MAILBOX, createIfMissing: values.CAPTURE_CREATE_MAILBOX === "true" } }
        : {}),
      ...(values.CAPTURE_ACCESS_GROUP ? { accessGroup: values.CAPTURE_ACCESS_GROUP } : {}),
      ...(values.CAPTURE_EXPECTED_DAILY_MESSAGES !== undefined ? { expectedDailyMessages: values.CAPTURE_EXPECTED_DAILY_MESSAGES } : {}),
      thresholds: { quotaWarnRatio: values.CAPTURE_QUOTA_WARN_PERCENT / 100, quotaFailRatio: values.CAPTURE_QUOTA_FAIL_PERCENT / 100, receiveRateWarnRatio: 0.8 },
      ...(values.JOURNAL_EMAIL_ADDRESS || values.JOURNAL_NDR_MAILBOX
        ? { journaling: { journalEmailAddress: values.JOURNAL_EMAIL_ADDRESS, ndrMailbox: values.JOURNAL_NDR_MAILBOX } }
        : {}),
    });
  } catch (error) {
    problems.push(`CAPTURE_MODE=${values.CAPTURE_MODE}: ${(error as Error).message}`);
    return undefined;
  }
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === "object" && child !== null) deepFreeze(child);
  }
  return Object.freeze(value);
}
