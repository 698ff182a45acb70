/**
 * Runs the emulator as a foreground process for `mailbox-audit emulator`: the CLI builds the tenant, this
 * starts the servers, writes the CA certificate where a client can trust it, prints the environment a
 * client needs, and serves until SIGINT/SIGTERM.
 */
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "./server";

export interface EmulatorCliOptions extends EmulatorOptions {
  /** Where to write the CA certificate (PEM); default `./emulator-ca.pem`. */
  readonly caCertificatePath?: string;
  /** Where the env lines go; default stdout. */
  readonly write?: (text: string) => void;
  /** Resolves when the emulator should stop; default the first SIGINT or SIGTERM. */
  readonly until?: Promise<unknown>;
}

/** The lines (`NAME=value`) a client process needs: the CA as EXTRA_CA_CERT_PATH (the app) and NODE_EXTRA_CA_CERTS. */
export function emulatorEnvLines(emulator: RunningEmulator, caCertificatePath: string): string[] {
  return Object.entries({ ...emulator.env(), EXTRA_CA_CERT_PATH: caCertificatePath, NODE_EXTRA_CA_CERTS: caCertificatePath }).map(
    ([name, value]) => `${name}=${value}`,
  );
}

/** Starts the emulator, prints its environment and serves until stopped; returns the emulator after it stopped. */
export async function runEmulatorCli(options: EmulatorCliOptions): Promise<RunningEmulator> {
  const { caCertificatePath = "emulator-ca.pem", write = (text: string) => process.stdout.write(text), until, ...emulatorOptions } = options;
  const emulator = await startEmulator(emulatorOptions);
  const certificatePath = resolve(caCertificatePath);
  await writeFile(certificatePath, emulator.caCertificatePem, { mode: 0o644 });
  write(`${emulatorEnvLines(emulator, certificatePath).join("\n")}\n`);
  write(`# Emulating tenant ${emulator.tenantId} (${emulator.state.initialDomain}). Press Ctrl+C to stop.\n`);
  await (until ?? firstSignal());
  await emulator.stop();
  return emulator;
}

function firstSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolveSignal) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolveSignal(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}
