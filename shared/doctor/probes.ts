/**
 * Every read the product makes, made once through the production clients, timed, and turned into a check: ok with
 * what was seen, or a problem naming the grant a refusal points to. Lists stop after their first page.
 */
import { BYPASS_SELECT, MAILBOX_SELECT } from "../audit/observed";
import { getAccessGroup, getCaptureMailbox, getMailboxStatistics, listMailboxPermissions } from "../capture/capture-lookups";
import type { CaptureSettings } from "../capture/settings";
import { ExchangeError } from "../exchange/errors";
import { MAX_PAGE_SIZE } from "../exchange/rest-transport";
import type { CmdletRequest, ExchangeTransport } from "../exchange/transport";
import type { GraphClient } from "../graph/client";
import { GraphError } from "../graph/errors";
import type { Check, TenantSize } from "./check";
import { EXCHANGE_MANAGE_AS_APP } from "./requirements";

/** The grant a refused read points to. */
type Grant = { readonly exchangeRole: string } | { readonly graphPermission: string };

interface ProbeResult {
  readonly detail: string;
  readonly size?: TenantSize;
  /** Overrides `ok`, e.g. for a capture mailbox that is missing. */
  readonly status?: Check["status"];
  readonly fix?: string;
}

export interface Probe {
  readonly title: string;
  readonly grant: Grant;
  run(): Promise<ProbeResult>;
}

export const ROLE_GROUP_HINT = "the app's role group (default 'Mailbox Audit Enforcer')";
const USERS_DELTA_PAGE_SIZE = 100;

/** What to grant for a refused call, or undefined when the failure is not a refusal. */
export function refusalFix(error: unknown, grant: Grant): string | undefined {
  if (error instanceof ExchangeError) {
    if (error.status === 401)
      return `grant the Office 365 Exchange Online application permission ${EXCHANGE_MANAGE_AS_APP} and give admin consent`;
    const notInRoles =
      error.status === 403 || /CommandNotFoundException|is not recognized as the name of a cmdlet|is not allowed to call/i.test(`${error.exceptionType} ${error.errorId} ${error.text}`);
    if (notInRoles && "exchangeRole" in grant) return `add role '${grant.exchangeRole}' to ${ROLE_GROUP_HINT}`;
  }
  if (error instanceof GraphError && error.status === 403 && "graphPermission" in grant)
    return `grant the Microsoft Graph application permission ${grant.graphPermission} and give admin consent`;
  return undefined;
}

function failureText(error: unknown): string {
  if (error instanceof ExchangeError) return `HTTP ${error.status} ${error.text}${error.requestId ? ` [request-id ${error.requestId}]` : ""}`;
  if (error instanceof GraphError) return `HTTP ${error.status} ${error.code}: ${error.message}${error.requestId ? ` [request-id ${error.requestId}]` : ""}`;
  return error instanceof Error ? error.message : String(error);
}

/** Runs one probe: ok (or its own verdict) with what it saw, or a problem with the grant a refusal points to. */
export async function runProbe(probe: Probe): Promise<{ check: Check; size: TenantSize }> {
  const startedAt = performance.now();
  try {
    const result = await probe.run();
    const latencyInMs = Math.round(performance.now() - startedAt);
    const check: Check = {
      area: "read",
      title: probe.title,
      status: result.status ?? "ok",
      detail: result.detail,
      latencyInMs,
      ...(result.fix ? { fix: result.fix } : {}),
    };
    return { check, size: result.size ?? {} };
  } catch (error) {
    const latencyInMs = Math.round(performance.now() - startedAt);
    const fix = refusalFix(error, probe.grant) ?? "retry; if it keeps failing, the error above says why (service health, network, throttling)";
    return { check: { area: "read", title: probe.title, status: "problem", detail: failureText(error), fix, latencyInMs }, size: {} };
  }
}

async function firstPage(transport: ExchangeTransport, request: CmdletRequest): Promise<Record<string, unknown>[]> {
  // Leaving the loop ends the iteration: the next page is never requested.
  for await (const page of transport.pages(request, { pageSize: MAX_PAGE_SIZE })) return page;
  return [];
}

async function single(transport: ExchangeTransport, request: CmdletRequest): Promise<Record<string, unknown>> {
  return (await transport.invoke(request)).value[0] ?? {};
}

const VIEW_ONLY_CONFIGURATION: Grant = { exchangeRole: "View-Only Configuration" };
const VIEW_ONLY_RECIPIENTS: Grant = { exchangeRole: "View-Only Recipients" };

function mailboxPages(transport: ExchangeTransport): Probe[] {
  const read = async (groupMailbox: boolean) =>
    firstPage(transport, {
      cmdlet: "Get-Mailbox",
      parameters: { ResultSize: "Unlimited", ...(groupMailbox ? { GroupMailbox: true } : {}) },
      select: MAILBOX_SELECT,
    });
  return [
    {
      title: "Get-Mailbox (first page)",
      grant: VIEW_ONLY_RECIPIENTS,
      run: async () => {
        const page = await read(false);
        const full = page.length === MAX_PAGE_SIZE;
        return {
          detail: `${page.length} mailboxes on the first page${full ? " (full: more pages likely)" : " (no more pages)"}`,
          size: { mailboxesOnFirstPage: page.length, moreMailboxesLikely: full },
        };
      },
    },
    {
      title: "Get-Mailbox -GroupMailbox (first page)",
      grant: VIEW_ONLY_RECIPIENTS,
      run: async () => {
        const page = await read(true);
        return { detail: `${page.length} group mailboxes on the first page`, size: { groupMailboxesOnFirstPage: page.length } };
      },
    },
  ];
}

function organizationProbes(transport: ExchangeTransport): Probe[] {
  return [
    {
      title: "Get-OrganizationConfig",
      grant: VIEW_ONLY_CONFIGURATION,
      run: async () => {
        const config = await single(transport, { cmdlet: "Get-OrganizationConfig", select: ["AuditDisabled"] });
        return { detail: `AuditDisabled=${String(config["AuditDisabled"])}` };
      },
    },
    {
      title: "Get-AdminAuditLogConfig",
      grant: VIEW_ONLY_CONFIGURATION,
      run: async () => {
        const config = await single(transport, { cmdlet: "Get-AdminAuditLogConfig", select: ["UnifiedAuditLogIngestionEnabled"] });
        return { detail: `UnifiedAuditLogIngestionEnabled=${String(config["UnifiedAuditLogIngestionEnabled"])}` };
      },
    },
  ];
}

function bypassAndRuleProbes(transport: ExchangeTransport): Probe[] {
  return [
    {
      title: "Get-MailboxAuditBypassAssociation (first page)",
      grant: VIEW_ONLY_CONFIGURATION,
      run: async () => {
        const page = await firstPage(transport, {
          cmdlet: "Get-MailboxAuditBypassAssociation",
          parameters: { ResultSize: "Unlimited" },
          select: BYPASS_SELECT,
        });
        const bypassed = page.filter((entry) => entry["AuditBypassEnabled"] === true).length;
        return { detail: `${page.length} associations on the first page, ${bypassed} bypassed`, size: { bypassAssociationsOnFirstPage: page.length } };
      },
    },
    {
      title: "Get-TransportRule",
      grant: VIEW_ONLY_CONFIGURATION,
      run: async () => {
        const rules = (await transport.invoke({ cmdlet: "Get-TransportRule", select: ["Name"] })).value;
        return { detail: `${rules.length} transport rules`, size: { transportRules: rules.length } };
      },
    },
  ];
}

/**
 * The capture's reads, made with the capture's own checked look-ups (shared/capture/capture-lookups.ts): the access
 * group, the capture mailbox, then its permissions and statistics by the mailbox's Guid.
 */
function captureMailboxProbes(transport: ExchangeTransport, capture: CaptureSettings, mailbox: NonNullable<CaptureSettings["captureMailbox"]>): Probe[] {
  const context = { transport };
  let found: Record<string, unknown> | undefined;
  const ifFound = async (read: (row: Record<string, unknown>) => Promise<ProbeResult>): Promise<ProbeResult> =>
    found ? read(found) : { detail: "not read: the capture mailbox does not exist yet" };
  return [
    {
      title: `Get-DistributionGroup -Identity ${capture.accessGroup ?? ""} (capture access group)`,
      grant: VIEW_ONLY_RECIPIENTS,
      run: async () => {
        const group = await getAccessGroup(context, capture.accessGroup ?? "");
        if (!group) return { detail: "not found as a mail-enabled group", status: "problem", fix: `mail-enable the security group ${capture.accessGroup ?? ""} (CAPTURE_ACCESS_GROUP), or name a mail-enabled security group` };
        return { detail: `found (${String(group["RecipientTypeDetails"])})` };
      },
    },
    {
      title: `Get-Mailbox -Identity ${mailbox.address} (capture mailbox)`,
      grant: VIEW_ONLY_RECIPIENTS,
      run: async () => {
        found = await getCaptureMailbox(context, mailbox.address);
        if (found) return { detail: `found (${String(found["RecipientTypeDetails"])})` };
        return mailbox.createIfMissing
          ? { detail: "missing: the product creates it (CAPTURE_CREATE_MAILBOX=true)" }
          : { detail: "missing", status: "problem", fix: `create the shared mailbox ${mailbox.address}, or set CAPTURE_CREATE_MAILBOX=true` };
      },
    },
    {
      title: `Get-MailboxPermission (capture mailbox, by its Guid)`,
      grant: VIEW_ONLY_RECIPIENTS,
      run: () => ifFound(async (row) => ({ detail: `${(await listMailboxPermissions(context, row)).length} permission entries` })),
    },
    {
      title: `Get-MailboxStatistics (capture mailbox, by its Guid)`,
      grant: VIEW_ONLY_RECIPIENTS,
      run: () =>
        ifFound(async (row) => {
          const statistics = await getMailboxStatistics(context, row);
          return { detail: statistics ? `${String(statistics["ItemCount"])} items, ${String(statistics["TotalItemSize"])}` : "no statistics yet" };
        }),
    },
  ];
}

function journalingProbes(transport: ExchangeTransport): Probe[] {
  return [
    {
      title: "Get-JournalRule",
      grant: { exchangeRole: "Journaling" },
      run: async () => ({ detail: `${(await transport.invoke({ cmdlet: "Get-JournalRule" })).value.length} journal rules` }),
    },
    {
      title: "Get-TransportConfig",
      grant: { exchangeRole: "Journaling" },
      run: async () => {
        const config = await single(transport, { cmdlet: "Get-TransportConfig", select: ["JournalingReportNdrTo"] });
        return { detail: `JournalingReportNdrTo=${String(config["JournalingReportNdrTo"])}` };
      },
    },
  ];
}

/** The Exchange reads the product makes with this configuration, in the order a run makes them. */
export function exchangeProbes(transport: ExchangeTransport, capture: CaptureSettings | undefined): Probe[] {
  const probes = [...organizationProbes(transport), ...mailboxPages(transport), ...bypassAndRuleProbes(transport)];
  if (capture?.mode === "transport-rules" && capture.captureMailbox) probes.push(...captureMailboxProbes(transport, capture, capture.captureMailbox));
  if (capture?.mode === "journaling") probes.push(...journalingProbes(transport));
  return probes;
}

/** The Graph reads the product makes: the tenant's subscriptions and one page of users/delta. */
export function graphProbes(graph: GraphClient): Probe[] {
  return [
    {
      title: "GET /v1.0/subscribedSkus",
      grant: { graphPermission: "Organization.Read.All" },
      run: async () => {
        const names: string[] = [];
        for await (const sku of graph.listSubscribedSkus()) names.push(sku.skuPartNumber);
        return { detail: `${names.length} subscriptions${names.length > 0 ? ` (${names.join(", ")})` : ""}`, size: { subscribedSkus: names.length } };
      },
    },
    {
      title: "GET /v1.0/users/delta (first page)",
      grant: { graphPermission: "User.Read.All" },
      run: async () => {
        for await (const page of graph.listUsersDelta({ select: ["id"], pageSize: USERS_DELTA_PAGE_SIZE })) {
          return { detail: `${page.users.length} users on the first page`, size: { usersOnFirstDeltaPage: page.users.length } };
        }
        return { detail: "no users", size: { usersOnFirstDeltaPage: 0 } };
      },
    },
  ];
}
