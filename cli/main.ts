#!/usr/bin/env node
/** `mailbox-audit`: the command line. See `mailbox-audit --help`. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../shared/config";
import { CredentialConfigError } from "../shared/credentials";
import { commandUsage, parseCommand, usage, UsageError, type Command } from "./args";

/** The product version, from the package.json beside dist/. */
function productVersion(): string {
  const manifest = JSON.parse(readFileSync(join(__dirname, "../../package.json"), "utf8")) as { version?: unknown };
  return String(manifest.version);
}

async function execute(command: Command): Promise<number> {
  switch (command.name) {
    case "help":
      process.stdout.write(`${command.topic === undefined ? usage : commandUsage(command.topic)}\n`);
      return 0;
    case "version":
      process.stdout.write(`mailbox-audit ${productVersion()}\n`);
      return 0;
    case "plan":
    case "apply": {
      const { runCommand } = await import("./run-command.js");
      return (await runCommand({ ...command, mode: command.name }, process.env)).exitCode;
    }
    case "demo": {
      const { runDemo } = await import("./demo.js");
      return runDemo(command);
    }
    case "emulator": {
      const { runEmulator } = await import("./emulator-command.js");
      await runEmulator(command);
      return 0;
    }
    case "doctor": {
      const { runDoctorCommand } = await import("./doctor-command.js");
      return (await runDoctorCommand(command, process.env, { out: (text) => process.stdout.write(text) })).exitCode;
    }
    case "report": {
      const { runReport } = await import("./report-command.js");
      return runReport(command, process.env);
    }
  }
}

/** A usage error: one line, then where the help is (no command at all: the whole usage). */
function usageMessage(error: UsageError, argv: readonly string[]): string {
  if (argv.length === 0) return `${usage}\n`;
  const help = error.command === undefined ? "mailbox-audit --help" : `mailbox-audit ${error.command} --help`;
  return `mailbox-audit: ${error.message}\nRun '${help}' for usage.\n`;
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    return await execute(parseCommand(argv));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(usageMessage(error, argv));
      return 64;
    }
    if (error instanceof ConfigError || error instanceof CredentialConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 78;
    }
    process.stderr.write(`mailbox-audit: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
