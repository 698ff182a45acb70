/**
 * Parameter binding for the capture cmdlets, failing as PowerShell's binder does inside Exchange.
 * Values arrive as JSON: strings, booleans, numbers, arrays (a lone string binds to a one-element list).
 */
import { CmdletFailure } from "../cmdlet";

const bindingFailure = "System.Management.Automation.ParameterBindingException";

/** Exchange reports changes to nothing as idempotent success with this warning. */
export function noChangeWarning(identity: string): string {
  return `The command completed successfully but no settings of '${identity}' have been modified.`;
}

/** Looks a parameter up case-insensitively, as PowerShell does. */
function raw(parameters: Record<string, unknown>, name: string): unknown {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(parameters)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

export function has(parameters: Record<string, unknown>, name: string): boolean {
  return raw(parameters, name) !== undefined;
}

export function missingMandatory(...names: string[]): CmdletFailure {
  return new CmdletFailure(
    "MissingMandatoryParameter",
    bindingFailure,
    `Cannot process command because of one or more missing mandatory parameters: ${names.join(" ")}.`,
  );
}

function cannotConvert(name: string, value: unknown, type: string): CmdletFailure {
  return new CmdletFailure(
    "ParameterArgumentTransformationError",
    bindingFailure,
    `Cannot process argument transformation on parameter '${name}'. Cannot convert value "${String(value)}" to type "${type}".`,
  );
}

export function optionalString(parameters: Record<string, unknown>, name: string): string | undefined {
  const value = raw(parameters, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw cannotConvert(name, JSON.stringify(value), "System.String");
}

export function requiredString(parameters: Record<string, unknown>, name: string): string {
  const value = optionalString(parameters, name);
  if (value === undefined || value === "") throw missingMandatory(name);
  return value;
}

/**
 * A Get- cmdlet's `-Identity`. Microsoft documents for every Get- cmdlet: "The value $null or a non-existent value
 * for the Identity parameter returns *all* objects as if you ran the Get- command without the Identity parameter."
 * So an empty or null identity reads as absent.
 */
export function lookupIdentity(parameters: Record<string, unknown>): string | undefined {
  const identity = optionalString(parameters, "Identity");
  return identity === undefined || identity.trim() === "" ? undefined : identity;
}

/** `$null` (JSON null) binds as an explicit clear, so it is returned as `null`, distinct from absent. */
export function optionalNullableString(parameters: Record<string, unknown>, name: string): string | null | undefined {
  if (raw(parameters, name) === null) return null;
  return optionalString(parameters, name);
}

export function optionalBoolean(parameters: Record<string, unknown>, name: string): boolean | undefined {
  const value = raw(parameters, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value === "boolean") return value;
  if (typeof value === "string") {
    const text = value.toLowerCase().replace(/^\$/, "");
    if (text === "true") return true;
    if (text === "false") return false;
  }
  throw cannotConvert(name, value, "System.Boolean");
}

export function optionalInteger(parameters: Record<string, unknown>, name: string): number | undefined {
  const value = raw(parameters, name);
  if (value === undefined || value === null) return undefined;
  const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof number === "number" && Number.isInteger(number)) return number;
  throw cannotConvert(name, value, "System.Int32");
}

/** A multi-valued parameter; `null` clears it. */
export function optionalStringList(parameters: Record<string, unknown>, name: string): string[] | null | undefined {
  const value = raw(parameters, name);
  if (value === undefined) return undefined;
  if (value === null) return null;
  const items = Array.isArray(value) ? value : [value];
  return items.map((item) => {
    if (typeof item !== "string") throw cannotConvert(name, JSON.stringify(item), "System.String[]");
    return item;
  });
}

/** An enumeration parameter: matched case-insensitively and returned in the enumeration's own casing. */
export function optionalEnum<T extends string>(
  parameters: Record<string, unknown>,
  name: string,
  typeName: string,
  allowed: readonly T[],
): T | undefined {
  const value = optionalString(parameters, name);
  if (value === undefined) return undefined;
  return matchEnum(name, value, typeName, allowed);
}

export function matchEnum<T extends string>(name: string, value: string, typeName: string, allowed: readonly T[]): T {
  const match = allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
  if (match) return match;
  throw new CmdletFailure(
    "ParameterArgumentTransformationError",
    bindingFailure,
    `Cannot process argument transformation on parameter '${name}'. Cannot convert value "${value}" to type "${typeName}". ` +
      `Error: "Unable to match the identifier name ${value} to a valid enumerator name. Specify one of the following enumerator names and try again: ${[...allowed].sort().join(", ")}"`,
  );
}

/** `-ResultSize`: a positive number or `Unlimited`; undefined means Exchange's default of 1000. */
export function resultSize(parameters: Record<string, unknown>): number {
  const value = raw(parameters, "ResultSize");
  if (value === undefined || value === null) return 1000;
  if (typeof value === "string" && value.toLowerCase() === "unlimited") return Number.POSITIVE_INFINITY;
  const size = optionalInteger(parameters, "ResultSize");
  if (size === undefined || size < 1) throw cannotConvert("ResultSize", value, "Microsoft.Exchange.Data.Unlimited`1[System.UInt32]");
  return size;
}

/** A plain, syntactically valid SMTP address. */
export function isSmtpAddress(value: string): boolean {
  return /^[^@\s"<>]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(value);
}

/** Applies `-ResultSize` with the warning Exchange gives when more objects exist than were returned. */
export function limited(items: Record<string, unknown>[], size: number): { value: Record<string, unknown>[]; warnings?: string[] } {
  if (items.length <= size) return { value: items };
  return {
    value: items.slice(0, size),
    warnings: ["There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter."],
  };
}

/** A state object as Exchange returns it: emulator-only properties (lower-case names) are dropped. */
export function exchangeProperties(object: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([key]) => /^[A-Z]/.test(key)));
}
