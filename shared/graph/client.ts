/**
 * The Microsoft Graph calls the product makes, on the shared HTTP pipeline (bearer token, retries,
 * per-tenant concurrency, client-request-id). Responses are validated with zod; `@odata.nextLink` and
 * `@odata.deltaLink` are followed only to the configured Graph host.
 */
import type { TokenCredential } from "@azure/core-auth";
import { isRestError, type HttpMethods, type PipelineResponse } from "@azure/core-rest-pipeline";
import { z } from "zod";
import { createServicePipeline, jsonRequest, responseRequestId, type ServicePipeline } from "../http/pipeline";
import type { RetryBudget } from "../http/retry";
import { GraphError, GraphSyncStateNotFoundError } from "./errors";

export const GRAPH_SCOPE = "https://graph.microsoft.com/.default";
const SYNC_STATE_CODES = new Set(["syncstatenotfound", "resyncrequired", "syncstateinvalid"]);

export interface GraphClientOptions {
  readonly tenantId: string;
  /** `https://graph.microsoft.com`, or the emulator's URL. */
  readonly baseUrl: string;
  readonly credential: TokenCredential;
  readonly maxConcurrency?: number;
  readonly retryBudget?: Partial<RetryBudget>;
  readonly timeoutInMs?: number;
  readonly extraCaPem?: string;
}

const userSchema = z.looseObject({
  id: z.string(),
  userPrincipalName: z.string().nullish(),
  displayName: z.string().nullish(),
  mail: z.string().nullish(),
  accountEnabled: z.boolean().nullish(),
  /** Present on a delta entry for a deleted user. */
  "@removed": z.looseObject({ reason: z.string().optional() }).optional(),
});
export type GraphUser = z.infer<typeof userSchema>;

const assignedPlanSchema = z.looseObject({
  assignedDateTime: z.string().nullish(),
  capabilityStatus: z.string(),
  service: z.string().nullish(),
  servicePlanId: z.string(),
});
export type GraphAssignedPlan = z.infer<typeof assignedPlanSchema>;

const subscribedSkuSchema = z.looseObject({
  skuId: z.string(),
  skuPartNumber: z.string(),
  servicePlans: z.array(
    z.looseObject({
      servicePlanId: z.string(),
      servicePlanName: z.string(),
      provisioningStatus: z.string().optional(),
    }),
  ),
  prepaidUnits: z.looseObject({ enabled: z.number() }).optional(),
  consumedUnits: z.number().optional(),
});
export type GraphSubscribedSku = z.infer<typeof subscribedSkuSchema>;

const groupSchema = z.looseObject({
  id: z.string(),
  displayName: z.string().nullish(),
  mail: z.string().nullish(),
  mailEnabled: z.boolean().nullish(),
  securityEnabled: z.boolean().nullish(),
});
export type GraphGroup = z.infer<typeof groupSchema>;

const isoTime = z.string().refine((value) => !Number.isNaN(Date.parse(value)), "must be an ISO date-time");

const auditLogQuerySchema = z.looseObject({
  id: z.string().min(1),
  displayName: z.string().nullish(),
  /** `notStarted`, `running`, `succeeded`, `failed`, `cancelled` (or a value Graph adds later). */
  status: z.string().min(1),
  filterStartDateTime: z.string().nullish(),
  filterEndDateTime: z.string().nullish(),
  /** Graph v1.0: "The approximate number of records retrieved by the query" (read-only). */
  approximateReturnedRecordCount: z.number().int().nonnegative().nullish(),
});
export type GraphAuditLogQuery = z.infer<typeof auditLogQuerySchema>;

const auditLogRecordSchema = z.looseObject({
  id: z.string().min(1),
  createdDateTime: isoTime,
  auditLogRecordType: z.string().nullish(),
  operation: z.string().nullish(),
  objectId: z.string().nullish(),
  userId: z.string().nullish(),
  userPrincipalName: z.string().nullish(),
  service: z.string().nullish(),
  auditData: z.looseObject({}).nullish(),
});
export type GraphAuditLogRecord = z.infer<typeof auditLogRecordSchema>;

/** What an audit log query asks for (`POST /security/auditLog/queries`). */
export interface AuditLogQueryRequest {
  readonly displayName: string;
  readonly filterStartDateTime: string;
  readonly filterEndDateTime: string;
  /** `auditLogRecordType` values, e.g. `exchangeAdmin`, `exchangeItem`. */
  readonly recordTypeFilters: readonly string[];
  readonly operationFilters?: readonly string[];
  readonly objectIdFilters?: readonly string[];
}

/** An audit log query id, as a URL path segment (Graph's ids are GUIDs; anything unusual is refused, not sent). */
function auditQueryKey(id: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id)) throw new TypeError(`Not an audit log query id: ${JSON.stringify(id)}`);
  return encodeURIComponent(id);
}

function collectionSchema<T extends z.ZodType>(item: T) {
  return z.looseObject({
    value: z.array(item),
    "@odata.nextLink": z.string().optional(),
    "@odata.deltaLink": z.string().optional(),
  });
}

const usersPageSchema = collectionSchema(userSchema);

const graphErrorSchema = z.looseObject({
  error: z.looseObject({
    code: z.string().optional(),
    message: z.string().optional(),
    innerError: z.looseObject({ "request-id": z.string().optional() }).optional(),
  }),
});

/** One page of `users/delta`; the last page carries the `deltaLink` to store for the next round. */
export interface UsersDeltaPage {
  readonly users: GraphUser[];
  readonly deltaLink?: string;
}

export interface MailMessage {
  readonly subject: string;
  readonly body: { readonly contentType: "Text" | "HTML"; readonly content: string };
  readonly toRecipients: readonly string[];
  /** Graph `fileAttachment`s (`@odata.type`, `name`, `contentType`, base64 `contentBytes`), under 3 MB each. */
  readonly attachments?: readonly object[];
}

export type GroupQuery = { readonly id: string } | { readonly mail: string } | { readonly displayName: string };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UPN = /^[^\s@/\\?#]+@[^\s@/\\?#]+\.[^\s@/\\?#]+$/;
const PROPERTY = /^[A-Za-z][A-Za-z0-9_]*$/;

/** An OData string literal: single quotes doubled, so input can never end the literal. */
export function odataString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A user key for a URL path: an object id (GUID) or a UPN. */
function userKey(idOrUpn: string): string {
  if (!GUID.test(idOrUpn) && !UPN.test(idOrUpn))
    throw new TypeError(`Not a user id or UPN: ${JSON.stringify(idOrUpn)}`);
  return encodeURIComponent(idOrUpn);
}

function selectQuery(select: readonly string[] | undefined): string {
  if (!select || select.length === 0) return "";
  for (const property of select) {
    if (!PROPERTY.test(property)) throw new TypeError(`Invalid $select property: ${property}`);
  }
  return `$select=${select.join(",")}`;
}

export class GraphClient {
  private readonly http: ServicePipeline;
  private readonly base: URL;
  /** The Graph version that serves the audit search API for this tenant (v1.0 until it answers as unknown). */
  private auditVersion: "v1.0" | "beta" = "v1.0";

  constructor(options: GraphClientOptions) {
    this.base = new URL(options.baseUrl);
    if (this.base.protocol !== "https:") throw new TypeError(`Graph base URL must be https: ${options.baseUrl}`);
    this.http = createServicePipeline({
      credential: options.credential,
      scopes: GRAPH_SCOPE,
      tenantId: options.tenantId,
      service: "graph",
      ...(options.maxConcurrency !== undefined ? { maxConcurrency: options.maxConcurrency } : {}),
      ...(options.retryBudget ? { retryBudget: options.retryBudget } : {}),
      ...(options.timeoutInMs !== undefined ? { timeoutInMs: options.timeoutInMs } : {}),
      ...(options.extraCaPem ? { extraCaPem: options.extraCaPem } : {}),
    });
  }

  /**
   * Changed users since `deltaLink` (all users without one), page by page. Throws
   * `GraphSyncStateNotFoundError` when the delta token has expired: the caller starts again without it.
   */
  async *listUsersDelta(
    options: { deltaLink?: string; select?: readonly string[]; pageSize?: number; abortSignal?: AbortSignal } = {},
  ): AsyncIterable<UsersDeltaPage> {
    const query = selectQuery(options.select);
    let url: string | undefined = options.deltaLink
      ? this.onGraphHost(options.deltaLink)
      : this.url(`/v1.0/users/delta${query ? `?${query}` : ""}`);
    const headers = options.pageSize ? { Prefer: `odata.maxpagesize=${options.pageSize}` } : undefined;
    while (url) {
      const page: z.infer<typeof usersPageSchema> = await this.send("GET", url, usersPageSchema, {
        headers,
        abortSignal: options.abortSignal,
      });
      const deltaLink = page["@odata.deltaLink"];
      yield { users: page.value, ...(deltaLink !== undefined ? { deltaLink: this.onGraphHost(deltaLink) } : {}) };
      url = page["@odata.nextLink"] === undefined ? undefined : this.onGraphHost(page["@odata.nextLink"]);
    }
  }

  /** The tenant's subscriptions and their service plans. */
  async *listSubscribedSkus(options: { abortSignal?: AbortSignal } = {}): AsyncIterable<GraphSubscribedSku> {
    yield* this.list(this.url("/v1.0/subscribedSkus"), subscribedSkuSchema, options.abortSignal);
  }

  /** `assignedPlans` of one user (`licenseDetails` is not available to application permissions). */
  /** `GET /v1.0/users/{id|upn}` with `$select`; a missing user is a `GraphError` with status 404. */
  async getUser(idOrUpn: string, options: { select?: readonly string[]; abortSignal?: AbortSignal } = {}): Promise<GraphUser> {
    const query = selectQuery(options.select);
    return this.send("GET", this.url(`/v1.0/users/${userKey(idOrUpn)}${query ? `?${query}` : ""}`), userSchema, options);
  }

  async getUserAssignedPlans(
    idOrUpn: string,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<GraphAssignedPlan[]> {
    const user = await this.send(
      "GET",
      this.url(`/v1.0/users/${userKey(idOrUpn)}?$select=id,assignedPlans`),
      z.looseObject({ assignedPlans: z.array(assignedPlanSchema).optional() }),
      options,
    );
    return user.assignedPlans ?? [];
  }

  /** The group with this id, mail or display name; undefined when none; throws when a name is ambiguous. */
  async findGroup(query: GroupQuery, options: { abortSignal?: AbortSignal } = {}): Promise<GraphGroup | undefined> {
    const select = "$select=id,displayName,mail,mailEnabled,securityEnabled";
    if ("id" in query) {
      if (!GUID.test(query.id)) throw new TypeError(`Not a group id: ${JSON.stringify(query.id)}`);
      try {
        return await this.send("GET", this.url(`/v1.0/groups/${query.id}?${select}`), groupSchema, options);
      } catch (error) {
        if (error instanceof GraphError && error.status === 404) return undefined;
        throw error;
      }
    }
    const [property, value] = "mail" in query ? ["mail", query.mail] : ["displayName", query.displayName];
    if (value.trim() === "" || value.length > 256)
      throw new TypeError(`Invalid group ${property}: ${JSON.stringify(value)}`);
    const filter = new URLSearchParams({ $filter: `${property} eq ${odataString(value)}` }).toString();
    const groups: GraphGroup[] = [];
    for await (const group of this.list(this.url(`/v1.0/groups?${filter}&${select}`), groupSchema, options.abortSignal))
      groups.push(group);
    if (groups.length > 1) {
      throw new GraphError({
        code: "AmbiguousGroup",
        message: `${groups.length} groups have ${property} ${odataString(value)}`,
        status: 200,
      });
    }
    return groups[0];
  }

  /** PATCH a user (e.g. `{ accountEnabled: false }` to block sign-in to a shared mailbox). */
  async updateUser(
    idOrUpn: string,
    patch: Readonly<Record<string, unknown>>,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<void> {
    if (Object.keys(patch).length === 0) throw new TypeError("updateUser needs at least one property");
    await this.send("PATCH", this.url(`/v1.0/users/${userKey(idOrUpn)}`), z.unknown(), {
      body: patch,
      abortSignal: options.abortSignal,
    });
  }

  /** Sends mail as `from` (a user or shared mailbox the app may send as). */
  async sendMail(
    from: string,
    message: MailMessage,
    options: { saveToSentItems?: boolean; abortSignal?: AbortSignal } = {},
  ): Promise<void> {
    if (message.toRecipients.length === 0) throw new TypeError("sendMail needs at least one recipient");
    for (const address of message.toRecipients) {
      if (!UPN.test(address)) throw new TypeError(`Not an email address: ${JSON.stringify(address)}`);
    }
    const body = {
      message: {
        subject: message.subject,
        body: message.body,
        toRecipients: message.toRecipients.map((address) => ({ emailAddress: { address } })),
        ...(message.attachments && { attachments: message.attachments }),
      },
      saveToSentItems: options.saveToSentItems ?? true,
    };
    await this.send("POST", this.url(`/v1.0/users/${userKey(from)}/sendMail`), z.unknown(), {
      body,
      abortSignal: options.abortSignal,
    });
  }

  /**
   * Starts a Purview audit search (`POST /v1.0/security/auditLog/queries`, 201 with `status: notStarted`); it runs
   * asynchronously: poll `getAuditLogQuery` until it has finished. Needs `AuditLogsQuery-Exchange.Read.All` (or
   * `AuditLogsQuery.Read.All`) for Exchange record types; without it Graph answers 403.
   */
  async createAuditLogQuery(query: AuditLogQueryRequest, options: { abortSignal?: AbortSignal } = {}): Promise<GraphAuditLogQuery> {
    for (const time of [query.filterStartDateTime, query.filterEndDateTime]) {
      if (Number.isNaN(Date.parse(time))) throw new TypeError(`Not an ISO date-time: ${JSON.stringify(time)}`);
    }
    if (query.recordTypeFilters.length === 0) throw new TypeError("An audit log query needs at least one record type");
    const body = {
      "@odata.type": "#microsoft.graph.security.auditLogQuery",
      displayName: query.displayName,
      filterStartDateTime: query.filterStartDateTime,
      filterEndDateTime: query.filterEndDateTime,
      recordTypeFilters: query.recordTypeFilters,
      ...(query.operationFilters && query.operationFilters.length > 0 ? { operationFilters: query.operationFilters } : {}),
      ...(query.objectIdFilters && query.objectIdFilters.length > 0 ? { objectIdFilters: query.objectIdFilters } : {}),
    };
    try {
      return await this.send("POST", this.url(`/${this.auditVersion}/security/auditLog/queries`), auditLogQuerySchema, { body, abortSignal: options.abortSignal });
    } catch (error) {
      if (this.auditVersion !== "v1.0" || !isUnknownSegment(error)) throw error;
      // Microsoft moved the API from v1.0 back to beta in 2025 and documented it in v1.0 again later (wire contract
      // 7.21): a tenant answering v1.0 with "Resource not found for the segment" is served on beta from then on.
      this.auditVersion = "beta";
      return this.send("POST", this.url("/beta/security/auditLog/queries"), auditLogQuerySchema, { body, abortSignal: options.abortSignal });
    }
  }

  /** One audit log query, with its `status` (`GET /v1.0/security/auditLog/queries/{id}`). */
  async getAuditLogQuery(id: string, options: { abortSignal?: AbortSignal } = {}): Promise<GraphAuditLogQuery> {
    return this.send("GET", this.url(`/${this.auditVersion}/security/auditLog/queries/${auditQueryKey(id)}`), auditLogQuerySchema, options);
  }

  /**
   * The records of a succeeded query, one page per HTTP call (`GET …/queries/{id}/records`, then `@odata.nextLink`,
   * followed only on the Graph host). The caller decides how many pages it reads.
   */
  async *listAuditLogRecordPages(id: string, options: { abortSignal?: AbortSignal } = {}): AsyncIterable<readonly GraphAuditLogRecord[]> {
    let url: string | undefined = this.url(`/${this.auditVersion}/security/auditLog/queries/${auditQueryKey(id)}/records`);
    while (url) {
      const page: { value: GraphAuditLogRecord[]; "@odata.nextLink"?: string | undefined } = await this.send("GET", url, collectionSchema(auditLogRecordSchema), { abortSignal: options.abortSignal });
      // Checked before the page is handed over: a link elsewhere fails the listing rather than being followed later.
      const next = page["@odata.nextLink"] === undefined ? undefined : this.onGraphHost(page["@odata.nextLink"]);
      yield page.value;
      url = next;
    }
  }

  private async *list<T extends z.ZodType>(
    firstUrl: string,
    item: T,
    abortSignal: AbortSignal | undefined,
  ): AsyncIterable<z.infer<T>> {
    let url: string | undefined = firstUrl;
    while (url) {
      const page: { value: z.infer<T>[]; "@odata.nextLink"?: string | undefined } = await this.send(
        "GET",
        url,
        collectionSchema(item),
        { abortSignal },
      );
      yield* page.value;
      url = page["@odata.nextLink"] === undefined ? undefined : this.onGraphHost(page["@odata.nextLink"]);
    }
  }

  private async send<T extends z.ZodType>(
    method: HttpMethods,
    url: string,
    schema: T,
    options: {
      body?: unknown;
      headers?: Record<string, string> | undefined;
      abortSignal?: AbortSignal | undefined;
    } = {},
  ): Promise<z.infer<T>> {
    let response: PipelineResponse;
    try {
      response = await this.http.sendRequest(
        jsonRequest({ method, url, body: options.body, headers: options.headers, abortSignal: options.abortSignal }),
      );
    } catch (error) {
      if (isRestError(error) && error.statusCode === undefined) {
        throw new GraphError({ code: error.code ?? "RequestFailed", message: error.message, status: 0, cause: error });
      }
      throw error;
    }
    const requestId = responseRequestId(response);
    const text = response.bodyAsText ?? "";
    if (response.status < 200 || response.status >= 300) throw parseGraphError(response.status, text, requestId);
    const parsed = schema.safeParse(text.trim() === "" ? undefined : tryParseJson(text));
    if (!parsed.success) {
      throw new GraphError({
        code: "InvalidResponse",
        message: `Unexpected Graph response from ${method} ${new URL(url).pathname}: ${parsed.error.message}`,
        status: response.status,
        requestId,
      });
    }
    return parsed.data;
  }

  private url(pathAndQuery: string): string {
    return `${this.base.origin}${pathAndQuery}`;
  }

  /** A nextLink/deltaLink is followed only on the Graph host: elsewhere it would receive our token. */
  private onGraphHost(link: string): string {
    let url: URL | undefined;
    try {
      url = new URL(link);
    } catch {
      url = undefined;
    }
    if (!url || url.origin !== this.base.origin) {
      throw new GraphError({
        code: "ForeignNextLink",
        message: `Refusing to follow a link outside ${this.base.origin}: ${link}`,
        status: 0,
      });
    }
    return url.toString();
  }
}

/** Parses Graph's error body into a `GraphError` (`GraphSyncStateNotFoundError` for an expired delta token). */
export function parseGraphError(status: number, bodyText: string, requestId: string | undefined): GraphError {
  const parsed = graphErrorSchema.safeParse(tryParseJson(bodyText));
  const code = (parsed.success ? parsed.data.error.code : undefined) ?? `Http${status}`;
  const message =
    (parsed.success ? parsed.data.error.message : undefined) ?? (bodyText.trim().slice(0, 500) || `HTTP ${status}`);
  const init = {
    code,
    message,
    status,
    requestId: requestId ?? (parsed.success ? parsed.data.error.innerError?.["request-id"] : undefined),
  };
  return SYNC_STATE_CODES.has(code.toLowerCase()) ? new GraphSyncStateNotFoundError(init) : new GraphError(init);
}

/** Graph's answer to a path it does not serve: 400 `BadRequest`, "Resource not found for the segment '…'." */
function isUnknownSegment(error: unknown): boolean {
  return error instanceof GraphError && (error.status === 400 || error.status === 404) && /resource not found for the segment/i.test(error.message);
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
