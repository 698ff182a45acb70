import { parseArgs, type ParseArgsConfig } from "node:util";
import { KNOWN_PERMISSIONS, PRODUCT_EXCHANGE_ROLES } from "../emulator/app-permissions";

export type CommandName = "plan" | "apply" | "doctor" | "report" | "emulator" | "demo";

export type Command =
  | {
      name: "plan" | "apply";
      full: boolean;
      mailboxes: string[];
      json: boolean;
      changeLimit?: number;
      capture: boolean;
      /** False with --no-evidence (absent: the evidence phase runs when configured). */
      evidence?: false;
      out?: string;
    }
  | { name: "report"; format: "text" | "json" | "csv"; mailbox?: string }
  | { name: "report"; format: "html"; file: string; mailbox?: string }
  | {
      name: "emulator";
      fixture?: string;
      mailboxes: number;
      drift: number;
      port: number;
      missingPermissions: string[];
      missingRoles: string[];
      /** The emulated unified audit log's settings given on the command line (`--audit-*`). */
      auditSearch: { ingestionDelayMs?: number; lostShare?: number; activityPerMailboxPerDay?: number };
    }
  | { name: "doctor"; json: boolean }
  | { name: "demo"; mailboxes: number; drift: number; json: boolean }
  | { name: "help"; topic?: CommandName }
  | { name: "version" };

/** Bad usage (exit 64): one line, and the command whose `--help` the hint names. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    message: string,
    readonly command?: CommandName,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

interface CommandHelp {
  readonly synopsis: string;
  readonly summary: string;
  readonly options: readonly string[];
}

const RUN_OPTIONS = [
  "--full               Read every mailbox (full sweep) instead of those changed since the watermark.",
  "--mailbox <id>       Only these mailboxes (SMTP address, UPN or GUID); repeatable.",
  "--change-limit <n>   Change at most n targets in this run (default: unlimited).",
  "--no-capture         Skip the capture (transport rule) reconciler.",
  "--no-evidence        Skip the audit-log evidence (earlier runs' changes and mailbox activity in the unified audit log).",
  "--json               Print the run summary and a sample of the outcomes (at most 100, non-compliant first) as JSON.",
  "--out <file>         Write every outcome to <file> as JSON lines, one per target, as the run goes.",
];

const HELP: Readonly<Record<CommandName, CommandHelp>> = {
  plan: {
    synopsis: "plan [--full] [--mailbox <id>]... [--change-limit <n>] [--no-capture] [--no-evidence] [--json] [--out <file>]",
    summary: "Read the tenant and show what would change (no writes). Exit 2 when anything drifted.",
    options: RUN_OPTIONS,
  },
  apply: {
    synopsis: "apply [--full] [--mailbox <id>]... [--change-limit <n>] [--no-capture] [--no-evidence] [--json] [--out <file>]",
    summary: "Enforce the audit baseline (and capture, when configured), read back and record the outcomes.",
    options: RUN_OPTIONS,
  },
  doctor: {
    synopsis: "doctor [--json]",
    summary:
      "Check, reading only, that the tenant grants everything the product needs. Exit 1 when something is missing.",
    options: ["--json               Print the checks as JSON."],
  },
  report: {
    synopsis: "report [--json | --csv | --html <file>] [--mailbox <id>]",
    summary: "Print the latest recorded state per target from Table Storage. Exit 1 when a target is failed.",
    options: [
      "--json               Everything, including every target, as one JSON document.",
      "--csv                One row per target (RFC 4180, safe to open in a spreadsheet).",
      "--html <file>        Write the compliance report for auditors: one self-contained HTML file.",
      "--mailbox <id>       One mailbox's history, newest first (GUID or SMTP address).",
    ],
  },
  emulator: {
    synopsis:
      "emulator [--fixture <file.json> | --mailboxes <n> --drift <0..1>] [--port <n>] [--missing-permission <name>]... [--missing-role <name>]... [--audit-ingestion-delay <ms>] [--audit-lost-share <0..1>] [--audit-activity <n>]",
    summary: "Run the local Exchange Online / Graph / managed identity emulator with a generated tenant.",
    options: [
      "--fixture <file>     Serve this tenant fixture instead of a generated tenant.",
      "--mailboxes <n>      Mailboxes per type in the generated tenant (default 20).",
      "--drift <0..1>       Share of generated mailboxes drifted from the baseline (default 0.3).",
      "--port <n>           Port to listen on (default: any free port).",
      "--missing-permission <name>, --missing-role <name>",
      "                     Start with that grant missing; repeatable.",
      "--audit-ingestion-delay <ms>",
      "                     Audit search: a record is searchable this long after its event (default 0).",
      "--audit-lost-share <0..1>",
      "                     Audit search: share of the records of writes that never reach the log (default 0).",
      "--audit-activity <n>",
      "                     Audit search: mailbox audit records per audited mailbox per day (default 4; 0 = none).",
    ],
  },
  demo: {
    synopsis: "demo [--mailboxes <n>] [--drift <0..1>] [--json]",
    summary: "Start Azurite and the emulator in-process; plan, apply and plan again against a drifted tenant; write the HTML report.",
    options: [
      "--mailboxes <n>      Mailboxes per type (default 20).",
      "--drift <0..1>       Share of mailboxes drifted further (default 0.3).",
      "--json               Print the runs as JSON.",
    ],
  },
};

const EXIT_CODES =
  "Exit codes: 0 compliant or remediated; 2 drift remains; 1 something failed; 64 bad usage; 78 bad configuration.";

export const usage = [
  "Usage: mailbox-audit <command> [options]",
  "       mailbox-audit <command> --help | --version",
  "",
  "Commands:",
  ...Object.entries(HELP).map(([name, help]) => `  ${name.padEnd(9)} ${help.summary}`),
  "",
  EXIT_CODES,
  "Configuration comes from the environment; see the README.",
].join("\n");

/** `mailbox-audit <command> --help`. */
export function commandUsage(name: CommandName): string {
  const help = HELP[name];
  return [
    `Usage: mailbox-audit ${help.synopsis}`,
    "",
    help.summary,
    "",
    "Options:",
    ...help.options.map((line) => `  ${line}`),
    "",
    EXIT_CODES,
  ].join("\n");
}

const isCommandName = (name: string | undefined): name is CommandName =>
  name !== undefined && Object.hasOwn(HELP, name);

function toInteger(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min)
    throw new Error(`--${name} must be an integer >= ${min}, got '${value}'.`);
  return parsed;
}

function knownNames(option: string, values: string[], known: readonly string[]): string[] {
  const unknown = values.filter((value) => !known.some((name) => name.toLowerCase() === value.toLowerCase()));
  if (unknown.length > 0)
    throw new Error(`--${option} must be one of ${known.join(", ")}; got '${unknown.join("', '")}'.`);
  return values;
}

function toShare(value: string | undefined, fallback: number, option = "drift"): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || parsed > 1)
    throw new Error(`--${option} must be between 0 and 1, got '${value}'.`);
  return parsed;
}

/** A non-negative number (fractions allowed), or undefined when the option is absent. */
function toNonNegative(option: string, value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed) || parsed < 0 || parsed > max)
    throw new Error(`--${option} must be a number from 0 to ${max}, got '${value}'.`);
  return parsed;
}

type Values = Record<string, unknown>;
type Options = NonNullable<ParseArgsConfig["options"]>;

/** node:util's messages go on to explain `--`; the first sentence is the one line a usage error gets. */
function firstSentence(message: string): string {
  const end = message.indexOf(". ");
  return (end < 0 ? message : message.slice(0, end + 1)).replace(/\s+/g, " ");
}

function parseOptions(args: readonly string[], options: Options): Values {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: false, strict: true }).values;
  } catch (error) {
    throw new Error(firstSentence((error as Error).message), { cause: error });
  }
}

function runCommand(name: "plan" | "apply", values: Values): Command {
  const mailboxes = values["mailbox"] as string[];
  if (mailboxes.length > 0 && values["full"] === true) throw new Error("--full and --mailbox cannot be combined.");
  const limit = values["change-limit"] as string | undefined;
  const out = values["out"] as string | undefined;
  if (out === "") throw new Error("--out needs a file name.");
  return {
    name,
    full: values["full"] === true,
    mailboxes,
    json: values["json"] === true,
    capture: values["no-capture"] !== true,
    ...(values["no-evidence"] === true ? { evidence: false as const } : {}),
    ...(limit === undefined ? {} : { changeLimit: toInteger("change-limit", limit, 0, 0) }),
    ...(out === undefined ? {} : { out }),
  };
}

function reportCommand(values: Values): Command {
  const html = values["html"] as string | undefined;
  const chosen = [
    values["json"] === true && "--json",
    values["csv"] === true && "--csv",
    html !== undefined && "--html",
  ].filter(Boolean);
  if (chosen.length > 1) throw new Error(`Choose one of ${chosen.join(", ")}.`);
  if (html === "") throw new Error("--html needs a file name.");
  const mailbox = values["mailbox"] as string | undefined;
  const scope = mailbox === undefined ? {} : { mailbox };
  if (html !== undefined) return { name: "report", format: "html", file: html, ...scope };
  return {
    name: "report",
    format: values["json"] === true ? "json" : values["csv"] === true ? "csv" : "text",
    ...scope,
  };
}

function emulatorCommand(values: Values): Command {
  const fixture = values["fixture"] as string | undefined;
  const delay = toNonNegative("audit-ingestion-delay", values["audit-ingestion-delay"] as string | undefined, 7 * 24 * 60 * 60 * 1000);
  const lostShare = values["audit-lost-share"] === undefined ? undefined : toShare(values["audit-lost-share"] as string, 0, "audit-lost-share");
  const activity = toNonNegative("audit-activity", values["audit-activity"] as string | undefined, 100_000);
  return {
    name: "emulator",
    mailboxes: toInteger("mailboxes", values["mailboxes"] as string | undefined, 20, 0),
    drift: toShare(values["drift"] as string | undefined, 0.3),
    port: toInteger("port", values["port"] as string | undefined, 0, 0),
    missingPermissions: knownNames("missing-permission", values["missing-permission"] as string[], KNOWN_PERMISSIONS),
    missingRoles: knownNames("missing-role", values["missing-role"] as string[], PRODUCT_EXCHANGE_ROLES),
    ...(fixture === undefined ? {} : { fixture }),
    auditSearch: {
      ...(delay === undefined ? {} : { ingestionDelayMs: delay }),
      ...(lostShare === undefined ? {} : { lostShare }),
      ...(activity === undefined ? {} : { activityPerMailboxPerDay: activity }),
    },
  };
}

const RUN_SPEC: Options = {
  full: { type: "boolean", default: false },
  mailbox: { type: "string", multiple: true, default: [] },
  json: { type: "boolean", default: false },
  "change-limit": { type: "string" },
  "no-capture": { type: "boolean", default: false },
  "no-evidence": { type: "boolean", default: false },
  out: { type: "string" },
};

const SPECS: Readonly<Record<CommandName, Options>> = {
  plan: RUN_SPEC,
  apply: RUN_SPEC,
  doctor: { json: { type: "boolean", default: false } },
  report: {
    json: { type: "boolean", default: false },
    csv: { type: "boolean", default: false },
    html: { type: "string" },
    mailbox: { type: "string" },
  },
  emulator: {
    fixture: { type: "string" },
    mailboxes: { type: "string" },
    drift: { type: "string" },
    port: { type: "string" },
    "missing-permission": { type: "string", multiple: true, default: [] },
    "missing-role": { type: "string", multiple: true, default: [] },
    "audit-ingestion-delay": { type: "string" },
    "audit-lost-share": { type: "string" },
    "audit-activity": { type: "string" },
  },
  demo: { mailboxes: { type: "string" }, drift: { type: "string" }, json: { type: "boolean", default: false } },
};

function commandFrom(name: CommandName, values: Values): Command {
  switch (name) {
    case "plan":
    case "apply":
      return runCommand(name, values);
    case "report":
      return reportCommand(values);
    case "emulator":
      return emulatorCommand(values);
    case "doctor":
      return { name, json: values["json"] === true };
    case "demo":
      return {
        name,
        mailboxes: toInteger("mailboxes", values["mailboxes"] as string | undefined, 20, 1),
        drift: toShare(values["drift"] as string | undefined, 0.3),
        json: values["json"] === true,
      };
  }
}

const HELP_FLAGS: ReadonlySet<string> = new Set(["--help", "-h"]);

/**
 * Parses the command line; throws `UsageError` (one line) on anything unexpected. No command at all is a usage
 * error too: `main` prints the usage and exits 64.
 */
export function parseCommand(argv: readonly string[]): Command {
  const [name, ...rest] = argv;
  if (name === undefined) throw new UsageError("No command given.");
  if (HELP_FLAGS.has(name)) return { name: "help" };
  if (name === "--version" || name === "-V") return { name: "version" };
  if (name === "help") {
    const [topic] = rest;
    if (topic === undefined) return { name: "help" };
    if (isCommandName(topic)) return { name: "help", topic };
    throw new UsageError(`Unknown command '${topic}'.`);
  }
  if (!isCommandName(name)) throw new UsageError(`Unknown command '${name}'.`);
  if (rest.some((arg) => HELP_FLAGS.has(arg))) return { name: "help", topic: name };
  try {
    return commandFrom(name, parseOptions(rest, SPECS[name]));
  } catch (error) {
    throw new UsageError((error as Error).message, name, { cause: error });
  }
}
