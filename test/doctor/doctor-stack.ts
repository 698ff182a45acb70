/**
 * The emulator with a chosen service principal, and the environment `mailbox-audit doctor` reads to reach it
 * (no Table Storage: doctor never needs it). Each stack's app has its own client id, so no token is shared.
 */
import { after } from "node:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServicePrincipal } from "../../emulator/app-permissions";
import { generateTenant } from "../../emulator/generate";
import { startEmulator, type RunningEmulator } from "../../emulator/server";
import { runDoctorCommand } from "../../cli/doctor-command";
import type { DoctorReport } from "../../shared/doctor/check";

export interface DoctorStack {
  readonly emulator: RunningEmulator;
  readonly env: Readonly<Record<string, string>>;
  /** Runs `doctor --json` in-process with `extraEnv` on top of the stack's settings. */
  doctor(extraEnv?: Record<string, string>): Promise<{ exitCode: number; report: DoctorReport; text: string }>;
}

export const CAPTURE_ENV = {
  CAPTURE_MODE: "transport-rules",
  CAPTURE_MAILBOX: "capture@contoso.onmicrosoft.com",
  CAPTURE_ACCESS_GROUP: "SOC Capture Readers",
  CAPTURE_CREATE_MAILBOX: "true",
} as const;

export const JOURNALING_ENV = {
  CAPTURE_MODE: "journaling",
  JOURNAL_EMAIL_ADDRESS: "journal@archive.example.com",
  JOURNAL_NDR_MAILBOX: "ndr@contoso.onmicrosoft.com",
} as const;

/** Starts an emulator whose app lacks `missing` permissions and roles; stopped after the file's tests. */
export async function startDoctorStack(missing: { permissions?: string[]; roles?: string[] } = {}): Promise<DoctorStack> {
  const tenant = generateTenant({ seed: 7, counts: { user: 3, shared: 1, group: 1 }, bypassCount: 1 });
  tenant.servicePrincipal = createServicePrincipal({ missingPermissions: missing.permissions ?? [], missingRoles: missing.roles ?? [] });
  const emulator = await startEmulator({ tenant });
  const directory = await mkdtemp(join(tmpdir(), "mailbox-audit-doctor-"));
  const caPath = join(directory, "emulator-ca.pem");
  await writeFile(caPath, emulator.caCertificatePem);
  const env: Record<string, string> = { ...emulator.env(), EXTRA_CA_CERT_PATH: caPath, LOG_LEVEL: "silent" };
  // The managed identity credential reads the endpoint from process.env (the same for every emulator in the process).
  process.env["IDENTITY_ENDPOINT"] = emulator.identityEndpoint;
  process.env["IDENTITY_HEADER"] = emulator.identityHeader;
  after(async () => {
    await emulator.stop();
    await rm(directory, { recursive: true, force: true });
  });
  return {
    emulator,
    env,
    async doctor(extraEnv = {}) {
      let text = "";
      const { exitCode, report } = await runDoctorCommand({ json: true }, { ...env, ...extraEnv }, { out: (chunk) => (text += chunk) });
      return { exitCode, report, text };
    },
  };
}
