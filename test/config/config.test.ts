import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, DEFAULT_NIGHTLY_CHANGE_LIMIT, loadConfig, SETTINGS } from "../../shared/config";

const TENANT = "0b1e8a4c-5d2f-4c6b-9a7e-3f2d1c0b9a8e";
const CLIENT = "6f1a2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b";
const minimal = { TENANT_ID: TENANT, AzureWebJobsStorage: "UseDevelopmentStorage=true" };

function problemsOf(env: Record<string, string>, options?: { requireStorage?: boolean }): readonly string[] {
  try {
    loadConfig(env, options);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail("expected a ConfigError");
}

test("defaults, and a deeply frozen result", () => {
  const config = loadConfig(minimal);
  assert.deepEqual(config, {
    tenantId: TENANT,
    exchangeBaseUrl: "https://outlook.office365.com",
    graphBaseUrl: "https://graph.microsoft.com",
    exchangeMaxConcurrency: 3,
    logLevel: "info",
    storage: { kind: "connectionString", connectionString: "UseDevelopmentStorage=true" },
    runs: { tenants: [{ tenantId: TENANT }], nightly: { mode: "apply", changeLimit: 500 }, leaseTtlInMs: 900_000, fanOutThreshold: 100, callers: { mode: "function-key", allowedObjectIds: [], easyAuthEnabled: false }, alerts: {} },
    auditEvidence: { enabled: true, pollBudgetInMs: 300_000, ingestionDelayInMs: 90 * 60_000, missingAfterInMs: 24 * 3_600_000 },
  });
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.storage));
  assert.throws(() => {
    (config as { tenantId: string }).tenantId = "x";
  }, TypeError);
});

test("NIGHTLY_MODE and NIGHTLY_CHANGE_LIMIT: apply with 500 by default; plan, a number or unlimited; nothing else", () => {
  const nightly = (env: Record<string, string>) => loadConfig({ ...minimal, ...env }).runs.nightly;
  assert.deepEqual(nightly({ NIGHTLY_MODE: "", NIGHTLY_CHANGE_LIMIT: " " }), { mode: "apply", changeLimit: DEFAULT_NIGHTLY_CHANGE_LIMIT });
  assert.deepEqual(nightly({ NIGHTLY_MODE: "Plan", NIGHTLY_CHANGE_LIMIT: "20000" }), { mode: "plan", changeLimit: 20_000 });
  assert.deepEqual(nightly({ NIGHTLY_CHANGE_LIMIT: "Unlimited" }), { mode: "apply" });
  for (const limit of ["0", "-1", "1.5", "1e3", "lots"]) {
    assert.deepEqual(problemsOf({ ...minimal, NIGHTLY_CHANGE_LIMIT: limit }), [
      "NIGHTLY_CHANGE_LIMIT: must be a whole number of at least 1, or unlimited (NIGHTLY_MODE=plan changes nothing)",
    ], limit);
  }
  assert.deepEqual(problemsOf({ ...minimal, NIGHTLY_MODE: "enforce" }), ["NIGHTLY_MODE: must be plan or apply"]);
});

test("identity-based storage, a certificate file, the emulator's settings", () => {
  const config = loadConfig({
    TENANT_ID: "contoso.onmicrosoft.com",
    AzureWebJobsStorage__tableServiceUri: "https://acct.table.core.windows.net/",
    AzureWebJobsStorage__queueServiceUri: "https://acct.queue.core.windows.net",
    AzureWebJobsStorage__credential: "managedidentity",
    AzureWebJobsStorage__clientId: CLIENT,
    AZURE_CLIENT_ID: CLIENT,
    AZURE_CLIENT_CERTIFICATE_PATH: "/secrets/app.pem",
    EXCHANGE_BASE_URL: "https://127.0.0.1:8443/",
    GRAPH_BASE_URL: "https://127.0.0.1:8443",
    EXCHANGE_MAX_CONCURRENCY: "5",
    EXTRA_CA_CERT_PATH: "/tmp/ca.pem",
    LOG_LEVEL: "DEBUG",
    IDENTITY_ENDPOINT: "http://127.0.0.1:4000/msi/token",
    IDENTITY_HEADER: "secret",
  });
  assert.deepEqual(config.storage, {
    kind: "identity",
    tableServiceUri: "https://acct.table.core.windows.net",
    queueServiceUri: "https://acct.queue.core.windows.net",
    clientId: CLIENT,
  });
  assert.deepEqual(config.certificate, { kind: "file", path: "/secrets/app.pem" });
  assert.equal(config.exchangeBaseUrl, "https://127.0.0.1:8443");
  assert.equal(config.exchangeMaxConcurrency, 5);
  assert.equal(config.logLevel, "debug");
  assert.deepEqual(config.managedIdentity, { endpoint: "http://127.0.0.1:4000/msi/token", header: "secret" });
  assert.equal(config.extraCaCertPath, "/tmp/ca.pem");
});

test("a Key Vault certificate source", () => {
  const config = loadConfig({
    ...minimal,
    AZURE_CLIENT_ID: CLIENT,
    KEY_VAULT_URL: "https://kv.vault.azure.net/",
    CERTIFICATE_SECRET_NAME: "app-cert",
  });
  assert.deepEqual(config.certificate, {
    kind: "keyVault",
    vaultUrl: "https://kv.vault.azure.net",
    secretName: "app-cert",
  });
});

test("reports every problem at once, one per setting", () => {
  const problems = problemsOf({
    TENANT_ID: "contoso.com",
    EXCHANGE_BASE_URL: "http://outlook.office365.com",
    EXCHANGE_MAX_CONCURRENCY: "0",
    AZURE_CLIENT_ID: "not-a-guid",
    KEY_VAULT_URL: "https://kv.vault.azure.net",
    LOG_LEVEL: "chatty",
    IDENTITY_ENDPOINT: "http://127.0.0.1:1/msi/token",
  });
  const settings = problems.map((problem) => problem.split(":")[0]);
  assert.deepEqual(
    new Set(settings),
    new Set([
      "TENANT_ID",
      "EXCHANGE_BASE_URL",
      "EXCHANGE_MAX_CONCURRENCY",
      "AZURE_CLIENT_ID",
      "LOG_LEVEL",
      "AzureWebJobsStorage",
      "IDENTITY_HEADER",
    ]),
  );
  const empty = problemsOf({});
  assert.ok(empty.includes("TENANT_ID: is required"), empty.join("; "));
  assert.ok(empty.some((problem) => problem.startsWith("AzureWebJobsStorage: is required")));
});

test("storage rules: not both kinds, identity needs both URIs, optional on request", () => {
  assert.deepEqual(
    problemsOf({ ...minimal, AzureWebJobsStorage__tableServiceUri: "https://a.table.core.windows.net" }),
    [
      "AzureWebJobsStorage: set either the connection string or the identity-based AzureWebJobsStorage__* settings, not both",
    ],
  );
  assert.deepEqual(
    problemsOf({ TENANT_ID: TENANT, AzureWebJobsStorage__tableServiceUri: "https://a.table.core.windows.net" }),
    ["AzureWebJobsStorage__queueServiceUri: is required with identity-based storage"],
  );
  assert.deepEqual(
    problemsOf({ TENANT_ID: TENANT, AzureWebJobsStorage: "nonsense" }).map((problem) => problem.split(":")[0]),
    ["AzureWebJobsStorage"],
  );
  assert.equal(loadConfig({ TENANT_ID: TENANT }, { requireStorage: false }).storage, undefined);
  assert.ok(
    loadConfig({
      TENANT_ID: TENANT,
      AzureWebJobsStorage:
        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9v;EndpointSuffix=core.windows.net",
    }).storage,
  );
});

test("certificate rules", () => {
  assert.deepEqual(problemsOf({ ...minimal, AZURE_CLIENT_CERTIFICATE_PATH: "/a.pem" }), [
    "AZURE_CLIENT_ID: is required with a certificate (the app registration's client id)",
  ]);
  assert.ok(
    problemsOf({
      ...minimal,
      AZURE_CLIENT_ID: CLIENT,
      AZURE_CLIENT_CERTIFICATE_PATH: "/a.pem",
      KEY_VAULT_URL: "https://kv.vault.azure.net",
      CERTIFICATE_SECRET_NAME: "c",
    })[0]?.startsWith("AZURE_CLIENT_CERTIFICATE_PATH"),
  );
});

test("SETTINGS documents every setting once, with a description", () => {
  const names = SETTINGS.map((setting) => setting.name);
  assert.equal(new Set(names).size, names.length);
  assert.ok(SETTINGS.every((setting) => setting.description.length > 10));
  for (const name of [
    "TENANT_ID",
    "EXCHANGE_BASE_URL",
    "GRAPH_BASE_URL",
    "AzureWebJobsStorage",
    "EXCHANGE_MAX_CONCURRENCY",
    "LOG_LEVEL",
    "EXTRA_CA_CERT_PATH",
  ]) {
    assert.ok(names.includes(name as never), name);
  }
});

test("TENANTS: the home tenant uses the managed identity, others need an app registration with a Key Vault certificate", () => {
  const other = "3c2b1a09-8f7e-4d6c-b5a4-93827160f5e4";
  const config = loadConfig({
    ...minimal,
    KEY_VAULT_URL: "https://vault.example.vault.azure.net",
    TENANTS: JSON.stringify([{ tenantId: TENANT }, { tenantId: other, clientId: CLIENT, certificateSecretName: "customer-a-pem" }]),
  });
  assert.deepEqual(config.runs.tenants, [
    { tenantId: TENANT },
    { tenantId: other, appCredential: { clientId: CLIENT, certificateSecretName: "customer-a-pem" } },
  ]);
  assert.deepEqual(loadConfig({ ...minimal, TENANTS: `${TENANT}, ` }).runs.tenants, [{ tenantId: TENANT }]);

  const problems = problemsOf({ ...minimal, TENANTS: JSON.stringify([{ tenantId: other }, { tenantId: TENANT }, { tenantId: TENANT }]) });
  assert.ok(problems.some((problem) => problem.includes(other) && problem.includes("managed identity acts only in its home tenant")));
  assert.ok(problems.some((problem) => problem.includes("listed twice")));
  assert.ok(problemsOf({ ...minimal, TENANTS: "[not json" }).includes("TENANTS: is not valid JSON"));
  assert.ok(
    problemsOf({ ...minimal, TENANTS: JSON.stringify([{ tenantId: other, clientId: CLIENT, certificateSecretName: "pem" }]) }).some((problem) =>
      problem.includes("KEY_VAULT_URL is not set"),
    ),
  );
});

test("capture settings: off by default; transport-rules and journaling need their own settings, all reported at once", () => {
  assert.equal(loadConfig(minimal).capture, undefined);
  const capture = loadConfig({
    ...minimal,
    CAPTURE_MODE: "transport-rules",
    CAPTURE_MAILBOX: "soc-capture@contoso.com",
    CAPTURE_ACCESS_GROUP: "SOC Capture Readers",
    CAPTURE_CREATE_MAILBOX: "true",
  }).capture;
  assert.equal(capture?.mode, "transport-rules");
  assert.equal(capture?.captureMailbox?.createIfMissing, true);
  const problems = problemsOf({ ...minimal, CAPTURE_MODE: "transport-rules", CAPTURE_CREATE_MAILBOX: "yes", LOG_LEVEL: "loud" });
  assert.ok(problems.some((problem) => problem.startsWith("CAPTURE_CREATE_MAILBOX")));
  assert.ok(problems.some((problem) => problem.startsWith("LOG_LEVEL")));
  const transportRules = { CAPTURE_MODE: "transport-rules", CAPTURE_MAILBOX: "soc-capture@contoso.com", CAPTURE_ACCESS_GROUP: "SOC" };
  assert.equal(loadConfig({ ...minimal, ...transportRules, CAPTURE_QUOTA_WARN_PERCENT: "70" }).capture?.thresholds.quotaWarnRatio, 0.7);
  assert.ok(problemsOf({ ...minimal, ...transportRules, CAPTURE_QUOTA_WARN_PERCENT: "97" }).some((problem) => problem.includes("quotaWarnRatio")));
  const journaling = problemsOf({ ...minimal, CAPTURE_MODE: "journaling" });
  assert.ok(journaling.some((problem) => problem.includes("journaling")));
  assert.equal(
    loadConfig({ ...minimal, CAPTURE_MODE: "journaling", JOURNAL_EMAIL_ADDRESS: "journal@onprem.contoso.com", JOURNAL_NDR_MAILBOX: "ndr@contoso.com" })
      .capture?.journaling?.journalEmailAddress,
    "journal@onprem.contoso.com",
  );
});

test("AUDIT_EVIDENCE*: on by default with Microsoft's 90-minute latency and 24 hours; off, other budgets; bad values and a deadline before the delay refused", () => {
  assert.deepEqual(loadConfig({ ...minimal, AUDIT_EVIDENCE: "OFF", AUDIT_EVIDENCE_POLL_SECONDS: "0", AUDIT_INGESTION_DELAY_MINUTES: "120", AUDIT_TRAIL_MISSING_AFTER_HOURS: "48" }).auditEvidence, {
    enabled: false,
    pollBudgetInMs: 0,
    ingestionDelayInMs: 7_200_000,
    missingAfterInMs: 48 * 3_600_000,
  });
  assert.equal(loadConfig({ ...minimal, AUDIT_EVIDENCE: "true" }).auditEvidence.enabled, true);
  assert.deepEqual(problemsOf({ ...minimal, AUDIT_EVIDENCE: "maybe", AUDIT_EVIDENCE_POLL_SECONDS: "3601", AUDIT_INGESTION_DELAY_MINUTES: "-1", AUDIT_TRAIL_MISSING_AFTER_HOURS: "0.5" }).map((problem) => problem.split(":")[0]).sort(), [
    "AUDIT_EVIDENCE",
    "AUDIT_EVIDENCE_POLL_SECONDS",
    "AUDIT_INGESTION_DELAY_MINUTES",
    "AUDIT_TRAIL_MISSING_AFTER_HOURS",
  ]);
  assert.deepEqual(problemsOf({ ...minimal, AUDIT_INGESTION_DELAY_MINUTES: "1440", AUDIT_TRAIL_MISSING_AFTER_HOURS: "24" }), [
    "AUDIT_TRAIL_MISSING_AFTER_HOURS: must be longer than AUDIT_INGESTION_DELAY_MINUTES (a change cannot be missing before it is looked for)",
  ]);
});
