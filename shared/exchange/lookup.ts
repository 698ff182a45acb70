/**
 * Look-ups by `-Identity`, checked. Microsoft documents for every Get- cmdlet that "the value $null or a
 * non-existent value for the Identity parameter returns all objects as if you ran the Get- command without the
 * Identity parameter", so what comes back is accepted only when it is exactly the object asked for.
 */
import { ExchangeError, isNotFoundError } from "./errors";
import type { CmdletRequest, CmdletResult, ExchangeTransport } from "./transport";

export type RowMatcher = (row: Readonly<Record<string, unknown>>) => boolean;

/**
 * The one row of a look-up's output that is the object asked for: undefined when nothing came back; an
 * `ExchangeError` (`IdentityMismatch`) when rows came back but not exactly one of them is the object.
 */
export function identifiedRow(
  request: CmdletRequest,
  result: CmdletResult,
  isWanted: RowMatcher,
): Record<string, unknown> | undefined {
  if (result.value.length === 0) return undefined;
  const wanted = result.value.filter(isWanted);
  if (wanted.length === 1 && result.value.length === 1) return wanted[0];
  throw new ExchangeError({
    errorId: "IdentityMismatch",
    exceptionType: "",
    text: `${request.cmdlet} -Identity ${JSON.stringify(request.parameters?.["Identity"])} returned ${result.value.length} object(s), ${wanted.length} of them the one asked for; nothing is assumed.`,
    status: 200,
    cmdlet: request.cmdlet,
    ...(result.requestId ? { requestId: result.requestId } : {}),
  });
}

/** Runs a look-up by identity: the object, or undefined when Exchange says it does not exist. */
export async function lookupByIdentity(
  transport: ExchangeTransport,
  request: CmdletRequest,
  isWanted: RowMatcher,
  options: { abortSignal?: AbortSignal } = {},
): Promise<Record<string, unknown> | undefined> {
  assertIdentity(request);
  try {
    return identifiedRow(request, await transport.invoke(request, options), isWanted);
  } catch (error) {
    if (isNotFoundError(error)) return undefined;
    throw error;
  }
}

/** An empty identity would list every object: refused before it is sent. */
export function assertIdentity(request: CmdletRequest): void {
  const identity = request.parameters?.["Identity"];
  if (typeof identity !== "string" || identity.trim() === "") {
    throw new RangeError(`${request.cmdlet} needs a non-empty -Identity (an empty one returns every object)`);
  }
}

/** Matches a row whose `property` (or any of `properties`) equals `value`, case-insensitively. */
export function hasProperty(value: string, ...properties: readonly string[]): RowMatcher {
  const wanted = value.toLowerCase();
  return (row) =>
    properties.some((property) => {
      const actual = row[property];
      if (Array.isArray(actual)) return actual.some((item) => typeof item === "string" && item.replace(/^smtp:/i, "").toLowerCase() === wanted);
      return typeof actual === "string" && actual.toLowerCase() === wanted;
    });
}
