/**
 * The embedded default: Azurite (Table + Queue) and the tenant emulator, both in-process, plus the environment
 * the production code reads to reach them. Used by `mailbox-audit demo`, the end-to-end tests and the benchmark.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAzurite, type RunningAzurite } from "./azurite";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "./server";

export interface LocalStack {
  readonly azurite: RunningAzurite;
  readonly emulator: RunningEmulator;
  /** The settings the app needs (TENANT_ID, EXCHANGE_BASE_URL, ..., AzureWebJobsStorage, EXTRA_CA_CERT_PATH). */
  readonly env: Readonly<Record<string, string>>;
  /** Copies `env` into `process.env` (the managed identity credential reads it there) and returns the previous values. */
  applyEnv(): () => void;
  stop(): Promise<void>;
}

export async function startLocalStack(options: EmulatorOptions): Promise<LocalStack> {
  const azurite = await startAzurite({ services: ["table", "queue"] });
  let emulator: RunningEmulator | undefined;
  try {
    emulator = await startEmulator(options);
    const directory = await mkdtemp(join(tmpdir(), "mailbox-audit-"));
    const caPath = join(directory, "emulator-ca.pem");
    await writeFile(caPath, emulator.caCertificatePem);
    const env = Object.freeze({ ...emulator.env(), AzureWebJobsStorage: azurite.connectionString, EXTRA_CA_CERT_PATH: caPath });
    const running = emulator;
    return {
      azurite,
      emulator: running,
      env,
      applyEnv() {
        const previous = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
        Object.assign(process.env, env);
        return () => {
          for (const [name, value] of Object.entries(previous)) {
            if (value === undefined) delete process.env[name];
            else process.env[name] = value;
          }
        };
      },
      async stop() {
        await running.stop();
        await azurite.stop();
        await rm(directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await emulator?.stop();
    await azurite.stop();
    throw error;
  }
}
