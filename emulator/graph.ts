/**
 * The Microsoft Graph subset the product calls, backed by the tenant state: users/delta, subscribedSkus,
 * users/{id|upn} (GET, PATCH accountEnabled, sendMail), groups/{id} and groups?$filter=mail|displayName eq '...'.
 * Errors use Graph's shape: `{"error":{"code","message","innerError":{"request-id","date"}}}`.
 */
import { randomUUID } from "node:crypto";
import type { AuditSearch } from "./audit-search";
import type { CallLog } from "./call-log";
import type { FaultInjector } from "./faults";
import { HELD, headerValue, jsonAnswer, preferredPageSize, project, selectList, type HttpAnswer } from "./http-answer";
import type { EmulatedGroup, EmulatedUser, TenantState } from "./tenant-state";
import { graphRouteDenied } from "./app-permissions";

export const DEFAULT_DELTA_PAGE_SIZE = 100;
export const DELTA_TOKEN_LIFETIME_IN_MS = 7 * 24 * 60 * 60 * 1000;
const MAX_GRAPH_PAGE_SIZE = 999;
const DEFAULT_USER_PROPERTIES = ["id", "userPrincipalName", "displayName", "mail"];

const GRAPH_STATUS_CODES: Readonly<Record<number, string>> = {
  429: "TooManyRequests",
  500: "generalException",
  503: "serviceNotAvailable",
  504: "gatewayTimeout",
};

/** Graph's error body. `request-id` inside it is filled with a fresh id; the header carries its own. */
export function graphError(status: number, code: string, message: string, now: Date, headers: Record<string, string> = {}): HttpAnswer {
  return jsonAnswer(
    status,
    { error: { code, message, innerError: { "request-id": randomUUID(), date: now.toISOString().replace(/\.\d{3}Z$/, "") } } },
    headers,
  );
}

export interface GraphApiOptions {
  readonly tenant: TenantState;
  readonly calls: CallLog;
  readonly faults: FaultInjector;
  readonly now: () => Date;
  readonly baseUrl: () => string;
  /** The Purview Audit Search API (`security/auditLog/queries`); absent: those routes are unknown segments. */
  readonly auditSearch?: AuditSearch;
}

interface DeltaPage {
  readonly userIds: readonly string[];
  readonly offset: number;
  readonly pageSize: number;
  readonly select: readonly string[] | undefined;
  /** Emulator time the round started: the next deltaLink returns changes after it. */
  readonly roundStartedAt: string;
}

export class GraphApi {
  readonly #options: GraphApiOptions;
  readonly #deltaPages = new Map<string, DeltaPage>();
  /** deltaLink token -> the time changes are counted from (also when it was issued). */
  readonly #deltaTokens = new Map<string, string>();

  constructor(options: GraphApiOptions) {
    this.#options = options;
  }

  /** Answers one request; `roles` is the token's `roles` claim (the app's application permissions). */
  handle(
    method: string,
    url: URL,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    body: unknown,
    roles: readonly string[],
  ): HttpAnswer {
    const { route, run } = this.#dispatch(method, url, headers, body);
    const parameters: Record<string, unknown> = { ...Object.fromEntries(url.searchParams), ...(body === undefined ? {} : { body }) };
    const denied = graphRouteDenied(route, roles);
    const fault = denied ? undefined : this.#options.faults.take({ cmdlet: route, parameters, viaBatch: false });
    if (fault?.kind === "timeout") return HELD;
    let answer: HttpAnswer;
    if (denied) {
      answer = this.#error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
    } else if (fault) {
      const retryAfter = fault.retryAfterInSeconds ?? (fault.status === 429 ? 1 : undefined);
      answer = graphError(
        fault.status,
        GRAPH_STATUS_CODES[fault.status] ?? "generalException",
        fault.text ?? "The request failed (injected fault).",
        this.#options.now(),
        retryAfter === undefined ? {} : { "Retry-After": String(retryAfter) },
      );
    } else {
      answer = run();
    }
    const clientRequestId = headerValue(headers, "client-request-id");
    this.#options.calls.record({
      api: "graph",
      cmdlet: route,
      parameters,
      status: answer.status,
      viaBatch: false,
      continuation: url.searchParams.has("$skiptoken"),
      at: this.#options.now().toISOString(),
      ...(clientRequestId ? { clientRequestId } : {}),
    });
    return answer;
  }

  #dispatch(
    method: string,
    url: URL,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    body: unknown,
  ): { route: string; run: () => HttpAnswer } {
    const path = url.pathname.replace(/\/+$/, "");
    const segments = path.split("/").slice(1).map(decodeURIComponent);
    const [version, collection, key, action] = segments;
    const at = (route: string, run: () => HttpAnswer) => ({ route: `${method} /v1.0/${route}`, run });
    if (version === "v1.0" && segments.length === 3 && collection === "users" && key === "delta" && method === "GET") {
      return at("users/delta", () => this.#usersDelta(url, headers));
    }
    if (version === "v1.0" && segments.length === 2 && collection === "subscribedSkus" && method === "GET") {
      return at("subscribedSkus", () => this.#list(url, this.#options.tenant.skus));
    }
    if (version === "v1.0" && collection === "users" && key !== undefined) {
      if (segments.length === 3 && method === "GET") return at("users/{id}", () => this.#getUser(key, url));
      if (segments.length === 3 && method === "PATCH") return at("users/{id}", () => this.#patchUser(key, body));
      if (segments.length === 4 && action === "sendMail" && method === "POST") {
        return at("users/{id}/sendMail", () => this.#sendMail(key, body));
      }
    }
    const auditSearch = this.#options.auditSearch;
    const auditVersion = auditSearch?.settings.versions.find((served) => served === version);
    if (auditSearch && auditVersion && collection === "security" && key?.toLowerCase() === "auditlog" && action?.toLowerCase() === "queries") {
      const [, , , , id, records] = segments;
      const audit = (route: string, run: () => HttpAnswer) => ({ route: `${method} /${auditVersion}/${route}`, run });
      if (segments.length === 4 && method === "POST") return audit("security/auditLog/queries", () => auditSearch.create(body, auditVersion));
      if (segments.length === 4 && method === "GET") return audit("security/auditLog/queries", () => auditSearch.list(auditVersion));
      if (segments.length === 5 && id !== undefined && method === "GET") return audit("security/auditLog/queries/{id}", () => auditSearch.get(id, auditVersion));
      if (segments.length === 6 && id !== undefined && records?.toLowerCase() === "records" && method === "GET") {
        return audit("security/auditLog/queries/{id}/records", () => auditSearch.records(id, url, headerValue(headers, "prefer"), auditVersion));
      }
    }
    if (version === "v1.0" && collection === "groups" && method === "GET") {
      if (segments.length === 2) return at("groups", () => this.#listGroups(url));
      if (segments.length === 3 && key !== undefined) return at("groups/{id}", () => this.#getGroup(key, url));
    }
    return {
      route: `${method} ${path}`,
      run: () => this.#error(400, "BadRequest", `Resource not found for the segment '${segments.at(-1) ?? ""}'.`),
    };
  }

  #usersDelta(url: URL, headers: Readonly<Record<string, string | string[] | undefined>>): HttpAnswer {
    const now = this.#options.now();
    const skipToken = url.searchParams.get("$skiptoken");
    const deltaToken = url.searchParams.get("$deltatoken");
    let page: DeltaPage | undefined;
    if (skipToken !== null) {
      page = this.#deltaPages.get(skipToken);
      if (!page) return this.#syncStateNotFound();
    } else {
      let since: string | undefined;
      if (deltaToken !== null) {
        since = this.#deltaTokens.get(deltaToken);
        if (since === undefined || now.getTime() - Date.parse(since) > DELTA_TOKEN_LIFETIME_IN_MS) {
          return this.#syncStateNotFound();
        }
      }
      const userIds = [...this.#options.tenant.users.values()]
        .filter((user) => since === undefined || user.lastModifiedDateTime > since)
        .map((user) => user.id);
      const pageSize = preferredPageSize(headerValue(headers, "prefer"), DEFAULT_DELTA_PAGE_SIZE, MAX_GRAPH_PAGE_SIZE);
      page = { userIds, offset: 0, pageSize, select: selectList(url), roundStartedAt: now.toISOString() };
    }
    const users = page.userIds
      .slice(page.offset, page.offset + page.pageSize)
      .map((id) => this.#options.tenant.users.get(id))
      .filter((user): user is EmulatedUser => user !== undefined)
      .map((user) => graphUser(user, page.select));
    const body: Record<string, unknown> = {
      "@odata.context": `${this.#options.baseUrl()}/v1.0/$metadata#users`,
      value: users,
    };
    const token = randomUUID().replaceAll("-", "");
    if (page.offset + page.pageSize < page.userIds.length) {
      this.#deltaPages.set(token, { ...page, offset: page.offset + page.pageSize });
      body["@odata.nextLink"] = `${this.#options.baseUrl()}/v1.0/users/delta?$skiptoken=${token}`;
    } else {
      this.#deltaTokens.set(token, page.roundStartedAt);
      body["@odata.deltaLink"] = `${this.#options.baseUrl()}/v1.0/users/delta?$deltatoken=${token}`;
    }
    return jsonAnswer(200, body);
  }

  #list(url: URL, items: readonly object[]): HttpAnswer {
    const select = selectList(url);
    return jsonAnswer(200, {
      "@odata.context": `${this.#options.baseUrl()}/v1.0/$metadata#${url.pathname.split("/").at(-1) ?? ""}`,
      value: items.map((item) => project({ ...item }, select)),
    });
  }

  #getUser(key: string, url: URL): HttpAnswer {
    const user = this.#findUser(key);
    if (!user) return this.#notFound(key);
    return jsonAnswer(200, graphUser(user, selectList(url)));
  }

  #patchUser(key: string, body: unknown): HttpAnswer {
    const user = this.#findUser(key);
    if (!user) return this.#notFound(key);
    const changes = typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
    if (!changes) return this.#error(400, "BadRequest", "The request body must be a JSON object.");
    const unsupported = Object.keys(changes).filter((name) => name !== "accountEnabled");
    if (unsupported.length > 0) {
      return this.#error(400, "Request_BadRequest", `The emulator supports only accountEnabled; got ${unsupported.join(", ")}.`);
    }
    if (typeof changes["accountEnabled"] !== "boolean") {
      return this.#error(400, "Request_BadRequest", "Invalid value specified for property 'accountEnabled' of resource 'User'.");
    }
    user.accountEnabled = changes["accountEnabled"];
    user.lastModifiedDateTime = this.#options.now().toISOString();
    return { status: 204, headers: {} };
  }

  #sendMail(key: string, body: unknown): HttpAnswer {
    const user = this.#findUser(key);
    if (!user) return this.#notFound(key);
    const request = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
    if (typeof request["message"] !== "object" || request["message"] === null) {
      return this.#error(400, "ErrorInvalidRequest", "The message parameter is required.");
    }
    const attachmentProblem = fileAttachmentProblem((request["message"] as Record<string, unknown>)["attachments"]);
    if (attachmentProblem) return this.#error(400, "ErrorInvalidRequest", attachmentProblem);
    this.#options.tenant.sentMail.push({
      from: user.userPrincipalName,
      message: request["message"],
      saveToSentItems: request["saveToSentItems"] !== false,
      sentAtUTC: this.#options.now().toISOString(),
    });
    return { status: 202, headers: {} };
  }

  #listGroups(url: URL): HttpAnswer {
    const filter = url.searchParams.get("$filter");
    let groups = [...this.#options.tenant.groups.values()];
    if (filter !== null) {
      const match = /^\s*(mail|displayName)\s+eq\s+'((?:[^']|'')*)'\s*$/i.exec(filter);
      if (!match?.[1] || match[2] === undefined) {
        return this.#error(400, "BadRequest", `Invalid filter clause: '${filter}'.`);
      }
      const property = match[1].toLowerCase();
      const wanted = match[2].replaceAll("''", "'").toLowerCase();
      groups = groups.filter((group) =>
        property === "mail" ? group.PrimarySmtpAddress.toLowerCase() === wanted : group.DisplayName.toLowerCase() === wanted,
      );
    }
    const select = selectList(url);
    return jsonAnswer(200, {
      "@odata.context": `${this.#options.baseUrl()}/v1.0/$metadata#groups`,
      value: groups.map((group) => project(graphGroup(group), select)),
    });
  }

  #getGroup(key: string, url: URL): HttpAnswer {
    const group = this.#options.tenant.groups.get(key);
    if (!group) return this.#notFound(key);
    return jsonAnswer(200, project(graphGroup(group), selectList(url)));
  }

  #findUser(key: string): EmulatedUser | undefined {
    const byId = this.#options.tenant.users.get(key);
    if (byId) return byId;
    const wanted = key.toLowerCase();
    return [...this.#options.tenant.users.values()].find(
      (user) => user.id.toLowerCase() === wanted || user.userPrincipalName.toLowerCase() === wanted,
    );
  }

  #notFound(key: string): HttpAnswer {
    return this.#error(
      404,
      "Request_ResourceNotFound",
      `Resource '${key}' does not exist or one of its queried reference-property objects are not present.`,
    );
  }

  #syncStateNotFound(): HttpAnswer {
    return this.#error(400, "syncStateNotFound", "The sync state generated by the delta token is not found or has expired.");
  }

  #error(status: number, code: string, message: string): HttpAnswer {
    return graphError(status, code, message, this.#options.now());
  }
}

/** A user as Graph returns it: the default property set, or exactly the `$select`ed properties. */
function graphUser(user: EmulatedUser, select: readonly string[] | undefined): Record<string, unknown> {
  // lastModifiedDateTime only drives users/delta; Graph does not return it on a user.
  const graphProperties: Partial<EmulatedUser> = { ...user };
  delete graphProperties.lastModifiedDateTime;
  return project(graphProperties, select ?? DEFAULT_USER_PROPERTIES);
}

function graphGroup(group: EmulatedGroup): Record<string, unknown> {
  return {
    id: group.ExternalDirectoryObjectId,
    displayName: group.DisplayName,
    mail: group.PrimarySmtpAddress === "" ? null : group.PrimarySmtpAddress,
    mailEnabled: group.mailEnabled,
    securityEnabled: group.securityEnabled,
    groupTypes: [],
  };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Why a message's `attachments` are not what Graph takes inline, or undefined: an array of
 * `#microsoft.graph.fileAttachment` with a name and base64 `contentBytes` (the emulator serves no item or
 * reference attachments). The size bound is the server's 4 MB request limit. The error texts are the emulator's own.
 */
function fileAttachmentProblem(attachments: unknown): string | undefined {
  if (attachments === undefined) return undefined;
  if (!Array.isArray(attachments)) return "The attachments property must be a collection.";
  for (const attachment of attachments as unknown[]) {
    const fields = typeof attachment === "object" && attachment !== null ? (attachment as Record<string, unknown>) : {};
    if (fields["@odata.type"] !== "#microsoft.graph.fileAttachment") {
      return "An attachment must be a #microsoft.graph.fileAttachment (@odata.type).";
    }
    if (typeof fields["name"] !== "string" || fields["name"] === "") return "A file attachment needs a name.";
    if (fields["contentType"] !== undefined && typeof fields["contentType"] !== "string") {
      return "The contentType of a file attachment must be a string.";
    }
    if (typeof fields["contentBytes"] !== "string" || !BASE64.test(fields["contentBytes"])) {
      return "The contentBytes of a file attachment must be base64.";
    }
  }
  return undefined;
}
