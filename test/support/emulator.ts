/**
 * Test helpers for the local tenant emulator: an empty tenant, a started emulator stopped after the
 * suite, and raw HTTPS calls that trust the emulator's certificate.
 */
import { after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { request as httpsRequest } from "node:https";
import { randomUUID } from "node:crypto";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../emulator/server";
import type { TenantState } from "../../emulator/tenant-state";

/** A tenant with no mailboxes, users, groups or rules; organisation settings at Microsoft's defaults. */
export function createEmptyTenant(overrides: Partial<TenantState> = {}): TenantState {
  const tenantId = overrides.tenantId ?? randomUUID();
  const whenChanged = "2026-01-01T00:00:00.000Z";
  return {
    tenantId,
    initialDomain: "contoso.onmicrosoft.com",
    organizationConfig: { AuditDisabled: false, isDehydrated: false, WhenChangedUTC: whenChanged },
    adminAuditLogConfig: { UnifiedAuditLogIngestionEnabled: true, WhenChangedUTC: whenChanged },
    transportConfig: { JournalingReportNdrTo: null },
    mailboxes: new Map(),
    bypassAssociations: new Map(),
    mailboxPermissions: [],
    groups: new Map(),
    transportRules: [],
    journalRules: [],
    users: new Map(),
    skus: [],
    sentMail: [],
    ...overrides,
  };
}

/** Starts an emulator for `tenant` and stops it when the enclosing suite (or file) ends. */
export async function withEmulator(
  tenant: TenantState = createEmptyTenant(),
  options: Omit<EmulatorOptions, "tenant"> = {},
): Promise<RunningEmulator> {
  const emulator = await startEmulator({ tenant, ...options });
  after(() => emulator.stop());
  // A fault a test added but that never fired would fire in whichever test runs next: fail the test that left it.
  afterEach(() => {
    const left = emulator.faults.pending;
    emulator.faults.clear();
    assert.equal(left, 0, `${left} injected fault(s) never fired: the test's precondition did not hold, and they would leak into the next test`);
  });
  return emulator;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: unknown;
}

/** One HTTPS request to the emulator, trusting only its certificate (no retries, no pipeline). */
export function rawRequest(
  emulator: RunningEmulator,
  options: { method?: string; url: string; headers?: Record<string, string>; body?: unknown; signal?: AbortSignal },
): Promise<RawResponse> {
  const payload = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      options.url,
      {
        method: options.method ?? "POST",
        ca: emulator.caCertificatePem,
        headers: { ...(payload === undefined ? {} : { "content-type": "application/json" }), ...options.headers },
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
        });
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(payload);
  });
}
