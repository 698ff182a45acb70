/**
 * The Microsoft Purview Audit Search API as Graph v1.0 serves it (`/security/auditLog/queries`), over what this
 * emulator saw: every successful Exchange write it served becomes one `exchangeAdmin` record, and every mailbox
 * with auditing on produces synthetic mailbox audit records. Wire details and their evidence are rows 7.x of
 * docs/exchange-wire-contract.md; what no evidence shows is marked *assumed* there and here.
 *
 * A query moves notStarted -> running -> succeeded (or failed) one step per GET of it; its result set is fixed when
 * it succeeds. Mailbox activity is never materialised: a succeeded query keeps, per audited mailbox, the range of
 * event indexes in its window and how many match, and builds a record from (mailbox, index) when a page is read.
 */
import { createHash, randomUUID } from "node:crypto";
import type { CallLog, CallRecord } from "./call-log";
import type { CmdletDefinition } from "./cmdlet";
import { AUDIT_LOG_RECORD_TYPES } from "./audit-record-types";
import { jsonAnswer, type HttpAnswer } from "./http-answer";
import { findMailbox } from "./lookup";
import type { EmulatedMailbox, TenantState } from "./tenant-state";

const DAY_IN_MS = 24 * 60 * 60 * 1000;
/** Assumed: the page size when the client asks for none (no evidence of Graph's default for this API). */
export const DEFAULT_AUDIT_RECORDS_PAGE_SIZE = 150;
/** Assumed: the largest page (public clients send `$top` up to 1000). */
export const MAX_AUDIT_RECORDS_PAGE_SIZE = 1000;
/** Documented baseline: "at least 1,000,000 records" per query (throttling limits page). */
const RECORD_COUNT_LIMIT = 1_000_000;
/** The emulator's own Exchange forest, in the form Exchange writes an object's ObjectId (seen, see row 7.12). */
export const EMULATED_FOREST = "EMUPR01A001.prod.outlook.com";
const QUERY_TYPE = "#microsoft.graph.security.auditLogQuery";
const RECORD_TYPE = "#microsoft.graph.security.auditLogRecord";
const AUDIT_DATA_TYPE = "#microsoft.graph.security.defaultAuditData";
const KNOWN_RECORD_TYPES: ReadonlySet<string> = new Set(AUDIT_LOG_RECORD_TYPES);
const STATUSES: ReadonlySet<string> = new Set([
  "notStarted",
  "running",
  "succeeded",
  "failed",
  "cancelled",
  "unknownFutureValue",
]);

/** The synthetic mailbox activity: operation, the record type Exchange files it under, and the UAL RecordType number. */
const ACTIVITY: readonly { operation: string; recordType: string; recordTypeNumber: number }[] = [
  { operation: "MailItemsAccessed", recordType: "exchangeItemAggregated", recordTypeNumber: 50 },
  { operation: "Send", recordType: "exchangeItem", recordTypeNumber: 2 },
  { operation: "Update", recordType: "exchangeItem", recordTypeNumber: 2 },
  { operation: "MoveToDeletedItems", recordType: "exchangeItemGroup", recordTypeNumber: 3 },
  { operation: "SoftDelete", recordType: "exchangeItemGroup", recordTypeNumber: 3 },
  { operation: "HardDelete", recordType: "exchangeItemGroup", recordTypeNumber: 3 },
];

/** How the emulated unified audit log behaves. Every field can be changed at runtime (`AuditSearch.configure`). */
export interface AuditSearchSettings {
  /** A record is searchable only this long after its event (default 0). Microsoft: "typically 60 to 90 minutes". */
  readonly ingestionDelayMs: number;
  /** Share (0..1) of records of writes that never reach the log, chosen by a hash of the record id (default 0). */
  readonly lostShare: number;
  /** Records of writes this returns true for never reach the log (tests: lose one cmdlet, or one object). */
  readonly loseWhen: ((event: AdminAuditEvent) => boolean) | undefined;
  /** Synthetic mailbox audit records per audited mailbox per day (default 4; 0 = none). */
  readonly activityPerMailboxPerDay: number;
  /**
   * GETs of a query until it is terminal (default 1: the first status read finds it finished, as a run that created
   * its searches before its own work usually will; 2 and more: `running` first, to exercise a client's waiting).
   */
  readonly pollsToComplete: number;
  /** The terminal status of queries created from now on (default `succeeded`). */
  readonly queryOutcome: "succeeded" | "failed";
  /**
   * The Graph versions that serve the API (default both). Microsoft moved it from v1.0 back to beta in 2025 and
   * later documented it in v1.0 again (wire contract 7.21): `["beta"]` answers v1.0 as an unknown segment.
   */
  readonly versions: readonly AuditSearchVersion[];
}

export type AuditSearchVersion = "v1.0" | "beta";

export const DEFAULT_AUDIT_SEARCH_SETTINGS: AuditSearchSettings = {
  ingestionDelayMs: 0,
  lostShare: 0,
  loseWhen: undefined,
  activityPerMailboxPerDay: 4,
  pollsToComplete: 1,
  queryOutcome: "succeeded",
  versions: ["v1.0", "beta"],
};

/** One Exchange write the emulator served, as the audit log keeps it. */
export interface AdminAuditEvent {
  readonly id: string;
  /** The cmdlet, spelled as the emulator defines it. */
  readonly operation: string;
  /** When it was answered (emulator clock). */
  readonly createdDateTime: string;
  /** What Exchange records as the modified object (see `objectIdOf`): not the identity the client sent. */
  readonly objectId: string;
  /** The parameters as sent, values rendered as strings. */
  readonly parameters: readonly { Name: string; Value: string }[];
  /** The token's client id (`appid`), when the call carried one. */
  readonly appId: string | undefined;
  readonly userId: string;
  readonly viaBatch: boolean;
}

interface QueryFilters {
  readonly displayName: string | null;
  readonly filterStartDateTime: string;
  readonly filterEndDateTime: string;
  readonly recordTypeFilters: readonly string[];
  readonly keywordFilter: string | null;
  readonly serviceFilters: readonly string[];
  readonly operationFilters: readonly string[];
  readonly userPrincipalNameFilters: readonly string[];
  readonly ipAddressFilters: readonly string[];
  readonly objectIdFilters: readonly string[];
  readonly administrativeUnitIdFilters: readonly string[];
}

interface StoredQuery {
  readonly id: string;
  readonly filters: QueryFilters;
  readonly pollsToComplete: number;
  readonly outcome: "succeeded" | "failed";
  polls: number;
  status: "notStarted" | "running" | "succeeded" | "failed";
  results: ResultSet | undefined;
}

/** One audited mailbox's activity in a query's window: events `first .. first+count-1` of which `matches` pass. */
interface ActivitySlot {
  readonly mailboxGuid: string;
  readonly upn: string;
  readonly clientIp: string;
  readonly phaseInMs: number;
  readonly first: number;
  readonly matches: number;
  readonly operationShift: number;
  /** Offsets (0..L-1) from `first` of the events that pass, repeating every ACTIVITY.length events. */
  readonly offsets: readonly number[];
}

interface ResultSet {
  readonly admin: readonly Record<string, unknown>[];
  readonly activity: readonly ActivitySlot[];
  /** activityEnds[i] = matching activity records in slots 0..i. */
  readonly activityEnds: Float64Array;
  readonly intervalInMs: number;
  readonly total: number;
}

export interface AuditSearchOptions {
  readonly tenant: TenantState;
  readonly calls: CallLog;
  readonly cmdlets: ReadonlyMap<string, CmdletDefinition>;
  readonly now: () => Date;
  readonly baseUrl: () => string;
  readonly settings?: Partial<AuditSearchSettings>;
}

export class AuditSearch {
  readonly #options: AuditSearchOptions;
  #settings: AuditSearchSettings;
  readonly #events: AdminAuditEvent[] = [];
  readonly #queries = new Map<string, StoredQuery>();
  #sequence = 0;

  constructor(options: AuditSearchOptions) {
    this.#options = options;
    this.#settings = validSettings({ ...DEFAULT_AUDIT_SEARCH_SETTINGS, ...options.settings });
    options.calls.subscribe((call) => this.#observe(call));
  }

  get settings(): AuditSearchSettings {
    return this.#settings;
  }

  /** Changes some settings (queries already created keep their poll count and outcome). */
  configure(settings: Partial<AuditSearchSettings>): void {
    this.#settings = validSettings({ ...this.#settings, ...settings });
  }

  /** Every record of a write, ingested or not, lost or not (for tests to assert on). */
  get adminEvents(): readonly AdminAuditEvent[] {
    return this.#events;
  }

  /** Whether the log keeps this record of a write (not lost by `lostShare` or `loseWhen`). */
  isKept(event: AdminAuditEvent): boolean {
    return !(shareOf(event.id) < this.#settings.lostShare || this.#settings.loseWhen?.(event) === true);
  }

  /** Queries created so far. */
  get queryCount(): number {
    return this.#queries.size;
  }

  /** Forgets every record of a write and every query. */
  clear(): void {
    this.#events.length = 0;
    this.#queries.clear();
  }

  // ---- Graph routes -------------------------------------------------------------------------------------------

  create(body: unknown, version: AuditSearchVersion = "v1.0"): HttpAnswer {
    const parsed = parseQueryBody(body);
    if (typeof parsed === "string") return this.#error(400, "BadRequest", parsed);
    const query: StoredQuery = {
      id: randomUUID(),
      filters: parsed,
      pollsToComplete: this.#settings.pollsToComplete,
      outcome: this.#settings.queryOutcome,
      polls: 0,
      status: "notStarted",
      results: undefined,
    };
    this.#queries.set(query.id, query);
    return jsonAnswer(201, this.#queryBody(query, true, version), { Location: `${this.#queryUrl(query.id, version)}` });
  }

  list(version: AuditSearchVersion = "v1.0"): HttpAnswer {
    return jsonAnswer(200, {
      "@odata.context": `${this.#options.baseUrl()}/${version}/$metadata#security/auditLog/queries`,
      value: [...this.#queries.values()].map((query) => this.#queryBody(query, false, version)),
    });
  }

  get(id: string, version: AuditSearchVersion = "v1.0"): HttpAnswer {
    const query = this.#queries.get(id);
    if (!query) return this.#notFound(id);
    if (query.status === "notStarted" || query.status === "running") {
      query.polls += 1;
      if (query.polls >= query.pollsToComplete) {
        query.status = query.outcome;
        if (query.outcome === "succeeded") query.results = this.#resultSet(query.filters);
      } else {
        query.status = "running";
      }
    }
    return jsonAnswer(200, this.#queryBody(query, true, version));
  }

  records(id: string, url: URL, prefer: string | undefined, version: AuditSearchVersion = "v1.0"): HttpAnswer {
    const query = this.#queries.get(id);
    if (!query) return this.#notFound(id);
    if (query.status !== "succeeded" || !query.results) {
      // Assumed (row 7.9): the service's answer before the query succeeded is not documented.
      return this.#error(
        400,
        "BadRequest",
        `The audit log query '${id}' has status '${query.status}'; its records can be listed once it has succeeded.`,
      );
    }
    const top = url.searchParams.get("$top");
    let pageSize = preferredMaxPageSize(prefer) ?? DEFAULT_AUDIT_RECORDS_PAGE_SIZE;
    if (top !== null) {
      if (!/^\d+$/.test(top) || Number(top) < 1)
        return this.#error(400, "BadRequest", `Invalid value '${top}' for the query option $top.`);
      pageSize = Number(top);
    }
    pageSize = Math.min(pageSize, MAX_AUDIT_RECORDS_PAGE_SIZE);
    let offset = 0;
    const skipToken = url.searchParams.get("$skiptoken");
    if (skipToken !== null) {
      const decoded = decodeSkipToken(skipToken, id);
      if (decoded === undefined) return this.#error(400, "BadRequest", "The skip token is not valid for this query.");
      offset = decoded;
    }
    const end = Math.min(offset + pageSize, query.results.total);
    const value: Record<string, unknown>[] = [];
    for (let index = offset; index < end; index++) value.push(this.#recordAt(query.results, index));
    const body: Record<string, unknown> = {
      "@odata.context": `${this.#options.baseUrl()}/${version}/$metadata#security/auditLog/queries('${id}')/records`,
      value,
    };
    if (end < query.results.total) {
      body["@odata.nextLink"] = `${this.#queryUrl(id, version)}/records?$top=${pageSize}&$skiptoken=${encodeSkipToken(id, end)}`;
    }
    return jsonAnswer(200, body);
  }

  // ---- records of writes --------------------------------------------------------------------------------------

  #observe(call: CallRecord): void {
    if (call.api !== "exchange" || call.continuation || call.status < 200 || call.status >= 300) return;
    const definition = this.#options.cmdlets.get(call.cmdlet.toLowerCase());
    const operation = definition?.name ?? call.cmdlet;
    if (/^(get|test)-/i.test(operation) || !definition) return;
    this.#sequence += 1;
    this.#events.push({
      id: uuidFrom(`${this.#options.tenant.tenantId}|admin|${this.#sequence}|${operation}|${call.at}`),
      operation,
      createdDateTime: call.at,
      objectId: objectIdOf(this.#options.tenant, operation, call.parameters),
      parameters: Object.entries(call.parameters).map(([Name, value]) => ({ Name, Value: parameterText(value) })),
      appId: call.appId,
      // Assumed (row 7.13): for an app-only call, the app's service principal object id.
      userId: call.callerObjectId ?? call.appId ?? "",
      viaBatch: call.viaBatch,
    });
  }

  #adminRecord(event: AdminAuditEvent): Record<string, unknown> {
    const { tenant } = this.#options;
    const clientIp = "127.0.0.1";
    return {
      "@odata.type": RECORD_TYPE,
      id: event.id,
      createdDateTime: event.createdDateTime,
      auditLogRecordType: "exchangeAdmin",
      operation: event.operation,
      organizationId: tenant.tenantId,
      userType: "application",
      userId: event.userId,
      userPrincipalName: event.userId,
      objectId: event.objectId,
      clientIp,
      service: "Exchange",
      administrativeUnits: [],
      auditData: {
        "@odata.type": AUDIT_DATA_TYPE,
        CreationTime: ualTime(event.createdDateTime),
        Id: event.id,
        Operation: event.operation,
        OrganizationId: tenant.tenantId,
        RecordType: 1,
        ResultStatus: "True",
        UserKey: event.userId,
        UserType: 5,
        Version: 1,
        Workload: "Exchange",
        ClientIP: `${clientIp}:443`,
        ObjectId: event.objectId,
        UserId: event.userId,
        AppId: event.appId ?? "",
        ClientAppId: event.appId ?? "",
        ExternalAccess: false,
        OrganizationName: tenant.initialDomain,
        OriginatingServer: "EMUPR01MB0001 (15.20.8000.000)",
        Parameters: event.parameters,
        SessionId: "",
      },
    };
  }

  // ---- result sets --------------------------------------------------------------------------------------------

  #resultSet(filters: QueryFilters): ResultSet {
    const nowInMs = this.#options.now().getTime();
    const searchableUntil = nowInMs - this.#settings.ingestionDelayMs;
    const startInMs = Date.parse(filters.filterStartDateTime);
    const endInMs = Math.min(Date.parse(filters.filterEndDateTime), searchableUntil + 1);
    const admin = this.#events
      .filter((event) => {
        const at = Date.parse(event.createdDateTime);
        return at >= startInMs && at < endInMs && this.isKept(event);
      })
      .map((event) => this.#adminRecord(event))
      .filter((record) => matchesFilters(record, filters));
    const { slots, intervalInMs } = this.#activitySlots(filters, startInMs, endInMs);
    const activityEnds = new Float64Array(slots.length);
    let running = 0;
    slots.forEach((slot, index) => {
      running += slot.matches;
      activityEnds[index] = running;
    });
    return { admin, activity: slots, activityEnds, intervalInMs, total: admin.length + running };
  }

  /** Per audited mailbox, which of its activity events fall in [start, end) and pass the filters. */
  #activitySlots(
    filters: QueryFilters,
    startInMs: number,
    endInMs: number,
  ): { slots: ActivitySlot[]; intervalInMs: number } {
    const rate = this.#settings.activityPerMailboxPerDay;
    const { tenant } = this.#options;
    if (rate === 0 || tenant.organizationConfig.AuditDisabled || endInMs <= startInMs)
      return { slots: [], intervalInMs: 0 };
    // Activity has no object id, no administrative unit and no free text the emulator searches.
    if (filters.objectIdFilters.length > 0 || filters.administrativeUnitIdFilters.length > 0 || filters.keywordFilter) {
      return { slots: [], intervalInMs: 0 };
    }
    if (!passes(filters.serviceFilters, "Exchange")) return { slots: [], intervalInMs: 0 };
    const candidates = ACTIVITY.map((activity, index) => ({ ...activity, index })).filter(
      (activity) =>
        (filters.recordTypeFilters.length === 0 || filters.recordTypeFilters.includes(activity.recordType)) &&
        passes(filters.operationFilters, activity.operation),
    );
    if (candidates.length === 0) return { slots: [], intervalInMs: 0 };
    const intervalInMs = Math.max(1, Math.round(DAY_IN_MS / rate));
    const upns = lowerSet(filters.userPrincipalNameFilters);
    const ips = new Set(filters.ipAddressFilters);
    const slots: ActivitySlot[] = [];
    for (const mailbox of tenant.mailboxes.values()) {
      if (!mailbox.AuditEnabled) continue;
      if (upns.size > 0 && !upns.has(mailbox.UserPrincipalName.toLowerCase())) continue;
      const clientIp = activityIp(mailbox.Guid);
      if (ips.size > 0 && !ips.has(clientIp)) continue;
      const audited = lowerSet([...mailbox.AuditOwner, ...mailbox.AuditDelegate, ...mailbox.AuditAdmin]);
      const allowed = candidates
        .filter((activity) => audited.has(activity.operation.toLowerCase()))
        .map((activity) => activity.index);
      if (allowed.length === 0) continue;
      const seed = hashNumber(mailbox.Guid);
      const phaseInMs = seed % intervalInMs;
      const operationShift = seed % ACTIVITY.length;
      const from = Math.max(startInMs, Date.parse(mailbox.WhenCreatedUTC) || startInMs);
      const first = Math.ceil((from - phaseInMs) / intervalInMs);
      const last = Math.ceil((endInMs - phaseInMs) / intervalInMs) - 1;
      if (last < first) continue;
      const offsets: number[] = [];
      for (let offset = 0; offset < ACTIVITY.length; offset++) {
        if (allowed.includes((first + offset + operationShift) % ACTIVITY.length)) offsets.push(offset);
      }
      const count = last - first + 1;
      const periods = Math.floor(count / ACTIVITY.length);
      const remainder = count % ACTIVITY.length;
      const matches = periods * offsets.length + offsets.filter((offset) => offset < remainder).length;
      if (matches === 0) continue;
      slots.push({
        mailboxGuid: mailbox.Guid,
        upn: mailbox.UserPrincipalName,
        clientIp,
        phaseInMs,
        first,
        matches,
        operationShift,
        offsets,
      });
    }
    return { slots, intervalInMs };
  }

  #recordAt(results: ResultSet, index: number): Record<string, unknown> {
    const admin = results.admin[index];
    if (admin) return admin;
    const activityIndex = index - results.admin.length;
    let low = 0;
    let high = results.activity.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((results.activityEnds[middle] ?? 0) > activityIndex) high = middle;
      else low = middle + 1;
    }
    const slot = results.activity[low];
    if (!slot) throw new Error(`No audit record at ${index}.`);
    const within = activityIndex - (low === 0 ? 0 : (results.activityEnds[low - 1] ?? 0));
    const event =
      slot.first +
      Math.floor(within / slot.offsets.length) * ACTIVITY.length +
      (slot.offsets[within % slot.offsets.length] ?? 0);
    return this.#activityRecord(slot, event, results.intervalInMs);
  }

  #activityRecord(slot: ActivitySlot, event: number, intervalInMs: number): Record<string, unknown> {
    const { tenant } = this.#options;
    const activity = ACTIVITY[(event + slot.operationShift) % ACTIVITY.length] ?? ACTIVITY[0];
    if (!activity) throw new Error("No activity defined.");
    const createdDateTime = new Date(event * intervalInMs + slot.phaseInMs).toISOString();
    const id = uuidFrom(`${tenant.tenantId}|activity|${slot.mailboxGuid}|${event}`);
    return {
      "@odata.type": RECORD_TYPE,
      id,
      createdDateTime,
      auditLogRecordType: activity.recordType,
      operation: activity.operation,
      organizationId: tenant.tenantId,
      userType: "regular",
      userId: slot.upn,
      userPrincipalName: slot.upn,
      objectId: null,
      clientIp: slot.clientIp,
      service: "Exchange",
      administrativeUnits: [],
      auditData: {
        "@odata.type": AUDIT_DATA_TYPE,
        CreationTime: ualTime(createdDateTime),
        Id: id,
        Operation: activity.operation,
        OrganizationId: tenant.tenantId,
        RecordType: activity.recordTypeNumber,
        ResultStatus: "Succeeded",
        UserKey: slot.upn,
        UserType: 0,
        Version: 1,
        Workload: "Exchange",
        ClientIP: slot.clientIp,
        UserId: slot.upn,
        ExternalAccess: false,
        LogonType: 0,
        MailboxGuid: slot.mailboxGuid,
        MailboxOwnerUPN: slot.upn,
        OrganizationName: tenant.initialDomain,
      },
    };
  }

  // ---- shapes -------------------------------------------------------------------------------------------------

  #queryBody(query: StoredQuery, withContext: boolean, version: AuditSearchVersion): Record<string, unknown> {
    const succeeded = query.status === "succeeded" && query.results !== undefined;
    return {
      ...(withContext
        ? { "@odata.context": `${this.#options.baseUrl()}/${version}/$metadata#security/auditLog/queries/$entity` }
        : {}),
      "@odata.type": QUERY_TYPE,
      id: query.id,
      ...query.filters,
      status: query.status,
      approximateReturnedRecordCount: succeeded ? (query.results?.total ?? 0) : null,
      isRecordCountLimitExceeded: false,
      recordCountLimit: RECORD_COUNT_LIMIT,
    };
  }

  #queryUrl(id: string, version: AuditSearchVersion): string {
    return `${this.#options.baseUrl()}/${version}/security/auditLog/queries/${id}`;
  }

  #notFound(id: string): HttpAnswer {
    // Assumed (row 7.8): the code and text of Graph's answer to an unknown query id.
    return this.#error(404, "NotFound", `The audit log query '${id}' was not found.`);
  }

  #error(status: number, code: string, message: string): HttpAnswer {
    const now = this.#options.now();
    return jsonAnswer(status, {
      error: {
        code,
        message,
        innerError: { "request-id": randomUUID(), date: now.toISOString().replace(/\.\d{3}Z$/, "") },
      },
    });
  }
}

// ---- request validation ---------------------------------------------------------------------------------------

const COLLECTION_PROPERTIES = [
  "recordTypeFilters",
  "serviceFilters",
  "operationFilters",
  "userPrincipalNameFilters",
  "ipAddressFilters",
  "objectIdFilters",
  "administrativeUnitIdFilters",
] as const;
const KNOWN_PROPERTIES: ReadonlySet<string> = new Set([
  "@odata.type",
  "displayName",
  "filterStartDateTime",
  "filterEndDateTime",
  "keywordFilter",
  "status",
  ...COLLECTION_PROPERTIES,
]);
/** An OData DateTimeOffset: a date, a time and a zone (`Z` or `±hh:mm`). */
const DATE_TIME_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$/;

/** The filters of a create request, or why the service refuses it (one message, as OData reports the first). */
export function parseQueryBody(body: unknown): QueryFilters | string {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    return "The request body must be a JSON object (an auditLogQuery).";
  const fields = body as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    if (!KNOWN_PROPERTIES.has(name)) {
      return `The property '${name}' does not exist on type 'microsoft.graph.security.auditLogQuery'. Make sure to only use property names that are defined by the type.`;
    }
  }
  const odataType = fields["@odata.type"];
  if (odataType !== undefined && odataType !== QUERY_TYPE && odataType !== QUERY_TYPE.slice(1)) {
    return `A type named '${JSON.stringify(odataType)}' could not be resolved by the model. When a model is available, each type name must resolve to a valid type.`;
  }
  for (const name of ["displayName", "keywordFilter"] as const) {
    const value = fields[name];
    if (value !== undefined && value !== null && typeof value !== "string")
      return `Cannot convert the literal '${JSON.stringify(value)}' to the expected type 'Edm.String' (${name}).`;
  }
  const status = fields["status"];
  if (status !== undefined && (typeof status !== "string" || !STATUSES.has(status))) {
    return `The value '${JSON.stringify(status)}' is not valid for the enum type 'microsoft.graph.security.auditLogQueryStatus'.`;
  }
  const collections: Record<string, string[]> = {};
  for (const name of COLLECTION_PROPERTIES) {
    const value = fields[name];
    if (value === undefined) {
      collections[name] = [];
      continue;
    }
    if (!Array.isArray(value)) return `The property '${name}' is a collection; the value must be a JSON array.`;
    if (!value.every((item): item is string => typeof item === "string"))
      return `Every item of '${name}' must be a string.`;
    collections[name] = value;
  }
  const unknownType = collections["recordTypeFilters"]?.find((value) => !KNOWN_RECORD_TYPES.has(value));
  if (unknownType !== undefined) {
    return `The value '${unknownType}' is not valid for the enum type 'microsoft.graph.security.auditLogRecordType'.`;
  }
  const dates: Record<string, string> = {};
  for (const name of ["filterStartDateTime", "filterEndDateTime"] as const) {
    const value = fields[name];
    // Assumed (row 7.3): the reference calls both optional; the emulator requires both so a client always bounds its search.
    if (value === undefined || value === null) return `The property '${name}' is required.`;
    if (typeof value !== "string" || !DATE_TIME_OFFSET.test(value) || Number.isNaN(Date.parse(value))) {
      return `Cannot convert the literal '${JSON.stringify(value)}' to the expected type 'Edm.DateTimeOffset' (${name}).`;
    }
    dates[name] = graphTime(value);
  }
  const start = dates["filterStartDateTime"] ?? "";
  const end = dates["filterEndDateTime"] ?? "";
  if (Date.parse(start) > Date.parse(end)) return "filterStartDateTime must not be later than filterEndDateTime.";
  return {
    displayName: typeof fields["displayName"] === "string" ? fields["displayName"] : null,
    filterStartDateTime: start,
    filterEndDateTime: end,
    recordTypeFilters: collections["recordTypeFilters"] ?? [],
    keywordFilter:
      typeof fields["keywordFilter"] === "string" && fields["keywordFilter"] !== "" ? fields["keywordFilter"] : null,
    serviceFilters: collections["serviceFilters"] ?? [],
    operationFilters: collections["operationFilters"] ?? [],
    userPrincipalNameFilters: collections["userPrincipalNameFilters"] ?? [],
    ipAddressFilters: collections["ipAddressFilters"] ?? [],
    objectIdFilters: collections["objectIdFilters"] ?? [],
    administrativeUnitIdFilters: collections["administrativeUnitIdFilters"] ?? [],
  };
}

function validSettings(settings: AuditSearchSettings): AuditSearchSettings {
  const problems: string[] = [];
  if (!Number.isFinite(settings.ingestionDelayMs) || settings.ingestionDelayMs < 0)
    problems.push("ingestionDelayMs must be >= 0");
  if (!(settings.lostShare >= 0 && settings.lostShare <= 1)) problems.push("lostShare must be between 0 and 1");
  if (
    !Number.isFinite(settings.activityPerMailboxPerDay) ||
    settings.activityPerMailboxPerDay < 0 ||
    settings.activityPerMailboxPerDay > 100_000
  ) {
    problems.push("activityPerMailboxPerDay must be between 0 and 100000");
  }
  if (!Number.isInteger(settings.pollsToComplete) || settings.pollsToComplete < 1)
    problems.push("pollsToComplete must be an integer >= 1");
  if (settings.queryOutcome !== "succeeded" && settings.queryOutcome !== "failed")
    problems.push("queryOutcome must be succeeded or failed");
  if (settings.versions.length === 0 || settings.versions.some((version) => version !== "v1.0" && version !== "beta"))
    problems.push("versions must name v1.0 and/or beta");
  if (problems.length > 0) throw new Error(`Invalid audit search settings: ${problems.join("; ")}.`);
  return Object.freeze({ ...settings });
}

// ---- filters and object ids -----------------------------------------------------------------------------------

function passes(filter: readonly string[], value: string | null | undefined): boolean {
  if (filter.length === 0) return true;
  if (value === null || value === undefined) return false;
  const wanted = value.toLowerCase();
  return filter.some((item) => item.toLowerCase() === wanted);
}

function matchesFilters(record: Record<string, unknown>, filters: QueryFilters): boolean {
  const text = (name: string): string | undefined => {
    const value = record[name];
    return typeof value === "string" ? value : undefined;
  };
  const type = text("auditLogRecordType");
  return (
    (filters.recordTypeFilters.length === 0 || (type !== undefined && filters.recordTypeFilters.includes(type))) &&
    passes(filters.operationFilters, text("operation")) &&
    passes(filters.objectIdFilters, text("objectId")) &&
    passes(filters.userPrincipalNameFilters, text("userPrincipalName")) &&
    passes(filters.serviceFilters, text("service")) &&
    passes(filters.ipAddressFilters, text("clientIp")) &&
    filters.administrativeUnitIdFilters.length === 0 &&
    (filters.keywordFilter === null ||
      JSON.stringify(record["auditData"]).toLowerCase().includes(filters.keywordFilter.toLowerCase()))
  );
}

function parameter(parameters: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const key = Object.keys(parameters).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? undefined : parameters[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * What Exchange writes as a record's ObjectId: for a recipient, its path in the hosted organisation
 * (`<forest>/Microsoft Exchange Hosted Organizations/<organisation>/<Name>`, seen in a captured Set-Mailbox record);
 * for the rest (assumed), the object's name as the tenant resolves it. Never simply the identity the client sent.
 */
export function objectIdOf(
  tenant: TenantState,
  operation: string,
  parameters: Readonly<Record<string, unknown>>,
): string {
  const organisation = `${EMULATED_FOREST}/Microsoft Exchange Hosted Organizations/${tenant.initialDomain}`;
  const identity = parameter(parameters, "Identity");
  const name = parameter(parameters, "Name");
  const recipientPath = (mailbox: EmulatedMailbox): string => `${organisation}/${mailbox.Name}`;
  switch (operation.toLowerCase()) {
    case "set-organizationconfig":
    case "enable-organizationcustomization":
      return organisation;
    case "set-adminauditlogconfig":
      return "Admin Audit Log Settings";
    case "set-transportconfig":
      return "Transport Settings";
    case "set-mailboxauditbypassassociation": {
      const wanted = identity?.toLowerCase();
      const association = [...tenant.bypassAssociations.values()].find(
        (entry) =>
          entry.Guid.toLowerCase() === wanted ||
          entry.Identity.toLowerCase() === wanted ||
          entry.Name.toLowerCase() === wanted,
      );
      const mailbox = identity === undefined ? undefined : findMailbox(tenant, identity);
      if (mailbox) return recipientPath(mailbox);
      return `${organisation}/${association?.Name ?? identity ?? ""}`;
    }
    default: {
      if (/transportrule$/i.test(operation) || /journalrule$/i.test(operation)) {
        const rules = /transportrule$/i.test(operation) ? tenant.transportRules : tenant.journalRules;
        const wanted = (identity ?? name ?? "").toLowerCase();
        const rule = rules.find(
          (entry) =>
            entry.Guid.toLowerCase() === wanted ||
            entry.Identity.toLowerCase() === wanted ||
            entry.Name.toLowerCase() === wanted,
        );
        return rule?.Name ?? identity ?? name ?? "";
      }
      const mailbox =
        identity !== undefined
          ? findMailbox(tenant, identity)
          : name !== undefined
            ? findMailbox(tenant, name)
            : undefined;
      if (mailbox) return recipientPath(mailbox);
      return `${organisation}/${identity ?? name ?? ""}`;
    }
  }
}

/** A parameter value as the audit log writes it (assumed beyond strings and switches; row 7.12). */
export function parameterText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (Array.isArray(value)) return value.map(parameterText).join(";");
  if (typeof value === "object") {
    return Object.entries(value as Record<string, unknown>)
      .filter(([key]) => !key.startsWith("@odata"))
      .map(([key, item]) => `${key}=${Array.isArray(item) ? item.map(parameterText).join(",") : parameterText(item)}`)
      .join(";");
  }
  return JSON.stringify(value);
}

// ---- small helpers --------------------------------------------------------------------------------------------

function lowerSet(values: readonly string[]): Set<string> {
  return new Set(values.map((value) => value.toLowerCase()));
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function hashNumber(text: string): number {
  return digest(text).readUInt32BE(0);
}

/** A stable number in [0, 1) per record id: which records `lostShare` loses. */
export function shareOf(id: string): number {
  return digest(`lost|${id}`).readUInt32BE(0) / 2 ** 32;
}

function uuidFrom(text: string): string {
  const hex = digest(text).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function activityIp(guid: string): string {
  const bytes = digest(`ip|${guid}`);
  return `10.${bytes[0] ?? 0}.${bytes[1] ?? 0}.${((bytes[2] ?? 0) % 254) + 1}`;
}

/** Graph's DateTimeOffset in UTC (`2026-03-01T00:00:00Z`). */
function graphTime(value: string): string {
  return new Date(value).toISOString().replace(".000Z", "Z");
}

/** The unified audit log's CreationTime: UTC without a zone designator (`2021-05-20T17:44:27`, seen). */
function ualTime(iso: string): string {
  return new Date(iso).toISOString().slice(0, 19);
}

function preferredMaxPageSize(prefer: string | undefined): number | undefined {
  const match = /odata\.maxpagesize\s*=\s*(\d+)/i.exec(prefer ?? "");
  return match?.[1] ? Math.max(1, Number(match[1])) : undefined;
}

function encodeSkipToken(queryId: string, offset: number): string {
  return Buffer.from(JSON.stringify({ q: queryId, o: offset }), "utf8").toString("base64url");
}

function decodeSkipToken(token: string, queryId: string): number | undefined {
  try {
    const decoded = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { q?: unknown; o?: unknown };
    return decoded.q === queryId && typeof decoded.o === "number" && Number.isInteger(decoded.o) && decoded.o >= 0
      ? decoded.o
      : undefined;
  } catch {
    return undefined;
  }
}
