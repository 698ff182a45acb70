/**
 * Port: the Microsoft Purview audit search (Graph v1.0 `security/auditLog/queries`), as the evidence phase uses it.
 * `graph-audit-search.ts` implements it over the Graph client; tests use fakes. Every method is one HTTP call (a
 * records page is one call), so the phase can count what it spends.
 */

/** Graph's `auditLogRecordType` values of the records the phase reads. */
export const ADMIN_RECORD_TYPE = "exchangeAdmin";
export const MAILBOX_ACTIVITY_RECORD_TYPES = Object.freeze(["exchangeItem", "exchangeItemGroup", "exchangeItemAggregated"] as const);

/** The application permission the audit search needs for Exchange records. */
export const AUDIT_SEARCH_PERMISSION = "AuditLogsQuery-Exchange.Read.All";

export interface AuditQuerySpec {
  readonly displayName: string;
  /** ISO date-times bounding the records' `createdDateTime`. */
  readonly start: string;
  readonly end: string;
  readonly recordTypes: readonly string[];
  /** Operations (cmdlet names for `exchangeAdmin`); empty: every operation of the record types. */
  readonly operations?: readonly string[];
}

/** An audit search as Graph reports it. */
export interface AuditQueryState {
  readonly id: string;
  /** `notStarted`, `running`, `succeeded`, `failed`, `cancelled`, or a value Graph adds later. */
  readonly status: string;
  /** Graph's approximate number of records the query found, when it says. */
  readonly approximateRecordCount?: number;
}

/** One unified audit log record (the fields the phase reads; `auditData` is the service's own JSON). */
export interface AuditRecord {
  readonly id: string;
  readonly createdDateTime: string;
  readonly auditLogRecordType?: string | null | undefined;
  readonly operation?: string | null | undefined;
  readonly objectId?: string | null | undefined;
  readonly userId?: string | null | undefined;
  readonly userPrincipalName?: string | null | undefined;
  readonly auditData?: Readonly<Record<string, unknown>> | null | undefined;
}

export interface AuditSearchPort {
  /** Starts a search; it runs asynchronously. Throws `AuditSearchDeniedError` without the permission. */
  createQuery(spec: AuditQuerySpec): Promise<AuditQueryState>;
  getQuery(id: string): Promise<AuditQueryState>;
  /** The records of a succeeded search, one page per call; the caller stops when it has read enough. */
  listRecordPages(id: string): AsyncIterable<readonly AuditRecord[]>;
}

/** The tenant has not granted the audit search permission (Graph answered 403). */
export class AuditSearchDeniedError extends Error {
  override readonly name = "AuditSearchDeniedError";
  constructor(
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}
