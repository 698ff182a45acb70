/**
 * Azurite in a process of its own for the benchmark: Table Storage is a separate service in production, so it must
 * not share the emulated Exchange's event loop (where each Table write would delay the emulator's answers and show
 * up as Exchange time). `startAzuriteProcess` forks this file; the child starts Azurite (emulator/azurite.ts), sends
 * its connection string and stops when the parent disconnects.
 */
import { fork } from "node:child_process";
import { startAzurite, type RunningAzurite } from "../emulator/azurite";

interface Ready {
  readonly connectionString: string;
}

/** Azurite (table and queue) in a child process; `stop` ends the child. */
export function startAzuriteProcess(): Promise<Pick<RunningAzurite, "connectionString" | "stop">> {
  const child = fork(__filename, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`Azurite process exited with ${code} before it was ready`)));
    child.once("message", (message: Ready) => {
      child.removeAllListeners("exit");
      resolve({
        connectionString: message.connectionString,
        stop: () =>
          new Promise<void>((stopped) => {
            if (child.exitCode !== null) return stopped();
            child.once("exit", () => stopped());
            child.disconnect();
          }),
      });
    });
  });
}

if (require.main === module) {
  startAzurite({ services: ["table", "queue"] })
    .then((azurite) => {
      process.once("disconnect", () => void azurite.stop().finally(() => process.exit(0)));
      process.send?.({ connectionString: azurite.connectionString } satisfies Ready);
    })
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    });
}
