#!/usr/bin/env node
/** `mailbox-audit`: the command line. See `mailbox-audit help`. */
import { ConfigError } from "../shared/config";
import { parseCommand, usage, UsageError, type Command } from "./args";

async function execute(command: Command): Promise<number> {
  switch (command.name) {
    case "help":
      process.stdout.write(`${usage}\n`);
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

async function main(argv: readonly string[]): Promise<number> {
  try {
    return await execute(parseCommand(argv));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${usage}\n`);
      return 64;
    }
    if (error instanceof ConfigError) {
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
