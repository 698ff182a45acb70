/**
 * The reference fixtures (test/reference/fixtures/*.json): requests, answers and errors taken from the public
 * evidence docs/exchange-wire-contract.md cites, each with its sources and the contract rows it stands for.
 * test/reference/README.md says, per fixture, what is verbatim, what is assembled and what the replay found.
 */
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

export const FIXTURE_DIRECTORY = resolve(__dirname, "../../../test/reference/fixtures");

export interface FixtureSource {
  /** A URL, or `owner/repo path` of a public file. */
  readonly ref: string;
  readonly shows: string;
}

export interface ReplayRequest {
  readonly cmdlet: string;
  readonly parameters: Record<string, unknown>;
  /** The X-AnchorMailbox to send (default: the default system mailbox). */
  readonly anchor?: "default" | "audit-log";
  /** Tenant state the request needs. */
  readonly tenant?: { readonly dehydrated?: boolean };
  /** `Prefer: odata.maxpagesize`. */
  readonly pageSize?: number;
}

export interface FixtureResponse {
  readonly label: string;
  readonly status: number;
  readonly statusEvidence: string;
  readonly body: unknown;
}

interface FixtureBase {
  readonly id: string;
  readonly contractRows: readonly string[];
  readonly sources: readonly FixtureSource[];
  readonly provenance: string;
}

export interface ErrorFixture extends FixtureBase {
  readonly kind: "error";
  readonly responses: readonly FixtureResponse[];
  readonly expect: {
    readonly code?: string;
    readonly message?: string;
    readonly messagePattern?: string;
    readonly errorId?: string;
    readonly exceptionType?: string;
    readonly exceptionTypeSuffix?: string;
    readonly textPattern: string;
    readonly notFound: boolean;
    readonly proxyNotAvailable: boolean;
    readonly needsOrganizationCustomization?: boolean;
    readonly alreadyEnabled?: boolean;
  };
  readonly replay: readonly ReplayRequest[];
}

export interface WarningFixture extends FixtureBase {
  readonly kind: "warning";
  readonly responses: readonly FixtureResponse[];
  readonly expect: { readonly warningPattern: string };
  readonly replay: readonly ReplayRequest[];
}

export interface PagingFixture extends FixtureBase {
  readonly kind: "paging";
  readonly exchanges: readonly {
    readonly request: {
      readonly method: string;
      readonly path: string;
      readonly headers?: Record<string, string>;
      readonly body?: unknown;
      readonly sameBodyAsFirst?: boolean;
    };
    readonly response: { readonly status: number; readonly body: Record<string, unknown> };
  }[];
  readonly replay: readonly ReplayRequest[];
}

export interface RequestFixture extends FixtureBase {
  readonly kind: "request";
  readonly request: {
    readonly CmdletInput: { readonly CmdletName: string; readonly Parameters: Record<string, unknown> };
  };
  readonly expect: { readonly property: string; readonly added: string };
}

export type ReferenceFixture = ErrorFixture | WarningFixture | PagingFixture | RequestFixture;

/** Every fixture, checked for the fields every one must carry (a source and a contract row). */
export function loadReferenceFixtures(): ReferenceFixture[] {
  return readdirSync(FIXTURE_DIRECTORY)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => {
      const fixture = JSON.parse(readFileSync(resolve(FIXTURE_DIRECTORY, name), "utf8")) as ReferenceFixture;
      if (`${fixture.id}.json` !== name) throw new Error(`${name}: id ${fixture.id} does not match the file name`);
      if (fixture.sources.length === 0 || fixture.sources.some((source) => !source.ref || !source.shows))
        throw new Error(`${name}: every fixture names its sources`);
      if (fixture.contractRows.length === 0) throw new Error(`${name}: every fixture names its wire contract rows`);
      return fixture;
    });
}

/** `details[0].message` split as the contract's row 4.3 says: `<ErrorId>|<ExceptionType>|<text>`. */
export function detailParts(body: unknown): { errorId: string; exceptionType: string; text: string } | undefined {
  const detail = (body as { error?: { details?: { message?: unknown }[] } } | undefined)?.error?.details?.[0]?.message;
  if (typeof detail !== "string" || !detail.includes("|")) return undefined;
  const [errorId = "", exceptionType = "", ...text] = detail.split("|");
  return { errorId, exceptionType, text: text.join("|") };
}

export function errorEnvelope(body: unknown): { code?: unknown; message?: unknown } {
  return (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error ?? {};
}
