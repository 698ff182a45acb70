/**
 * The contract between the emulator's HTTP layer (InvokeCommand, $batch, paging, $select, throttling,
 * faults) and the cmdlet implementations. Handlers are synchronous and pure over the tenant state:
 * they validate parameters as Exchange does and either return output or throw `CmdletFailure`.
 */
import type { TenantState } from "./tenant-state";

export interface CmdletContext {
  readonly tenant: TenantState;
  /** The emulator's clock (tests may move it). */
  now(): Date;
}

export interface CmdletOutput {
  /** Output objects; the HTTP layer pages them and applies `$select`. */
  value?: Record<string, unknown>[];
  /** `@adminapi.warnings`. */
  warnings?: string[];
}

export interface CmdletDefinition {
  readonly name: string;
  /** Parameter names the cmdlet accepts (case-insensitive); any other name fails as Exchange fails. */
  readonly parameters: readonly string[];
  handle(parameters: Record<string, unknown>, context: CmdletContext): CmdletOutput;
}

/**
 * A cmdlet error. The HTTP layer renders it as Exchange does:
 * `{"error":{"code":"BadRequest","message":"Error executing cmdlet","details":[{"code":"Client","target":"",
 *   "message":"<errorId>|<exceptionType>|<text>"}],"innererror":{...}}}` with `status`.
 */
export class CmdletFailure extends Error {
  constructor(
    readonly errorId: string,
    readonly exceptionType: string,
    readonly text: string,
    readonly status: number = 400,
  ) {
    super(text);
  }
}

/** The directory server Exchange names in a "couldn't be found" text (the emulator's own; Exchange names one of its DCs). */
export const EMULATED_DOMAIN_CONTROLLER = "EMU01A01DC001.EMUPR01A001.PROD.OUTLOOK.COM";

/**
 * Exchange's "couldn't be found" failure for an unknown identity: "... because object '<id>' couldn't be found on
 * '<domain controller>'." (test/reference/fixtures/not-found.json, from Microsoft365DSC #2998 and #4401).
 */
export function notFound(identity: string, kind = "object"): CmdletFailure {
  return new CmdletFailure(
    "ManagementObjectNotFound",
    "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
    `The operation couldn't be performed because ${kind} '${identity}' couldn't be found on '${EMULATED_DOMAIN_CONTROLLER}'.`,
    404,
  );
}
