import { parseArgs, type ParseArgsConfig } from "node:util";
import { KNOWN_PERMISSIONS, PRODUCT_EXCHANGE_ROLES } from "../emulator/app-permissions";

export type Command =
  | { name: "plan" | "apply"; full: boolean; mailboxes: string[]; json: boolean; changeLimit?: number; capture: boolean }
  | { name: "report"; format: "text" | "json" | "csv"; mailbox?: string }
  | {
      name: "emulator";
      fixture?: string;
      mailboxes: number;
      drift: number;
      port: number;
      missingPermissions: string[];
      missingRoles: string[];
    }
  | { name: "doctor"; json: boolean }
  | { name: "demo"; mailboxes: number; drift: number; json: boolean }
  | { name: "help" };

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const usage = `Usage: mailbox-audit <command> [options]

Commands:
  plan      Read the tenant and show what would change (no writes). Exit 2 when anything drifted.
  apply     Enforce the audit baseline (and capture, when configured), read back and record the outcomes.
  doctor    Check, reading only, that the tenant grants everything the product needs. Exit 1 when something is missing.
  report    Print the latest recorded state per target from Table Storage.
  emulator  Run the local Exchange Online / Graph / managed identity emulator with a generated tenant.
  demo      Start Azurite and the emulator in-process, run 'apply' once against a drifted tenant, print the result.

Options for plan and apply:
  --full               Read every mailbox (full sweep) instead of those changed since the watermark.
  --mailbox <id>       Only these mailboxes (SMTP address, UPN or GUID); repeatable.
  --change-limit <n>   Change at most n targets in this run (default: unlimited).
  --no-capture         Skip the capture (transport rule) reconciler.
  --json               Print the run summary and outcomes as JSON.

Options for doctor:     --json.
Options for report:     --json | --csv, --mailbox <id> for one mailbox's history.
Options for emulator:   --fixture <file.json> | --mailboxes <n per type> --drift <0..1>, --port <n>,
                        --missing-permission <name>, --missing-role <name> (repeatable: start with that grant missing).
Options for demo:       --mailboxes <n per type> (default 20), --drift <0..1> (default 0.3), --json.

Exit codes: 0 everything compliant or remediated; 2 plan found drift; 1 something failed.
Configuration comes from the environment; see the README.`;

function toInteger(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${value}'.`);
  return parsed;
}

function knownNames(option: string, values: string[], known: readonly string[]): string[] {
  const unknown = values.filter((value) => !known.some((name) => name.toLowerCase() === value.toLowerCase()));
  if (unknown.length > 0) throw new UsageError(`--${option} must be one of ${known.join(", ")}; got '${unknown.join("', '")}'.`);
  return values;
}

function toShare(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || parsed > 1) throw new UsageError(`--drift must be between 0 and 1, got '${value}'.`);
  return parsed;
}

/** Parses the command line; throws `UsageError` with a clear message on anything unexpected. */
export function parseCommand(argv: readonly string[]): Command {
  const [name, ...rest] = argv;
  const parse = (options: NonNullable<ParseArgsConfig["options"]>) => {
    try {
      return parseArgs({ args: rest, options, allowPositionals: false, strict: true }).values as Record<string, unknown>;
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  };
  switch (name) {
    case "plan":
    case "apply": {
      const values = parse({
        full: { type: "boolean", default: false },
        mailbox: { type: "string", multiple: true, default: [] },
        json: { type: "boolean", default: false },
        "change-limit": { type: "string" },
        "no-capture": { type: "boolean", default: false },
      });
      const mailboxes = values["mailbox"] as string[];
      if (mailboxes.length > 0 && values["full"] === true) throw new UsageError("--full and --mailbox cannot be combined.");
      const limit = values["change-limit"] as string | undefined;
      return {
        name,
        full: values["full"] === true,
        mailboxes,
        json: values["json"] === true,
        capture: values["no-capture"] !== true,
        ...(limit === undefined ? {} : { changeLimit: toInteger("change-limit", limit, 0, 0) }),
      };
    }
    case "report": {
      const values = parse({ json: { type: "boolean", default: false }, csv: { type: "boolean", default: false }, mailbox: { type: "string" } });
      if (values["json"] === true && values["csv"] === true) throw new UsageError("Choose one of --json and --csv.");
      const mailbox = values["mailbox"] as string | undefined;
      return {
        name,
        format: values["json"] === true ? "json" : values["csv"] === true ? "csv" : "text",
        ...(mailbox === undefined ? {} : { mailbox }),
      };
    }
    case "emulator": {
      const values = parse({
        fixture: { type: "string" },
        mailboxes: { type: "string" },
        drift: { type: "string" },
        port: { type: "string" },
        "missing-permission": { type: "string", multiple: true, default: [] },
        "missing-role": { type: "string", multiple: true, default: [] },
      });
      const fixture = values["fixture"] as string | undefined;
      return {
        name,
        mailboxes: toInteger("mailboxes", values["mailboxes"] as string | undefined, 20, 0),
        drift: toShare(values["drift"] as string | undefined, 0.3),
        port: toInteger("port", values["port"] as string | undefined, 0, 0),
        missingPermissions: knownNames("missing-permission", values["missing-permission"] as string[], KNOWN_PERMISSIONS),
        missingRoles: knownNames("missing-role", values["missing-role"] as string[], PRODUCT_EXCHANGE_ROLES),
        ...(fixture === undefined ? {} : { fixture }),
      };
    }
    case "doctor":
      return { name, json: parse({ json: { type: "boolean", default: false } })["json"] === true };
    case "demo": {
      const values = parse({ mailboxes: { type: "string" }, drift: { type: "string" }, json: { type: "boolean", default: false } });
      return {
        name,
        mailboxes: toInteger("mailboxes", values["mailboxes"] as string | undefined, 20, 1),
        drift: toShare(values["drift"] as string | undefined, 0.3),
        json: values["json"] === true,
      };
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      return { name: "help" };
    default:
      throw new UsageError(`Unknown command '${name}'.`);
  }
}
