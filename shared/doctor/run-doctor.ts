/**
 * `doctor`: will the product work in this tenant? Reads only: acquires each token with the product's credential and
 * reads its roles, makes every read the product makes once, and asks Exchange whether the app's roles hold the
 * writes the product will make. Nothing is written anywhere. The audit-log evidence is checked by its permission
 * alone: its searches are created (`POST security/auditLog/queries`, a job the audit service runs and keeps), which
 * is not a read, so doctor never starts one.
 */
import { EXCHANGE_SCOPE, type ExchangeCall } from "../exchange/rest-transport";
import { GRAPH_SCOPE } from "../graph/client";
import type { Runtime } from "../runtime";
import type { CallStatistics, Check, DoctorReport, TenantSize } from "./check";
import { exchangeProbes, graphProbes, runProbe, type Probe } from "./probes";
import { roleChecks } from "./rbac";
import { requiredExchangeRoles, requiredGraphPermissions } from "./requirements";
import { readToken, tokenChecks, tokenWarnings } from "./tokens";

export type DoctorRuntime = Pick<Runtime, "config" | "credential" | "transport" | "graph">;

async function runProbes(probes: readonly Probe[]): Promise<{ checks: Check[]; size: TenantSize }> {
  const checks: Check[] = [];
  let size: TenantSize = {};
  for (const probe of probes) {
    const result = await runProbe(probe);
    checks.push(result.check);
    size = { ...size, ...result.size };
  }
  return { checks, size };
}

/** Throttling and transient failures among the Exchange HTTP calls the transport reported. */
export function callStatistics(calls: readonly ExchangeCall[]): CallStatistics {
  return {
    httpCalls: calls.length,
    throttled: calls.filter((call) => call.status === 429).length,
    transientFailures: calls.filter((call) => call.status === undefined || call.status >= 500).length,
  };
}

/** Runs every check against the runtime's tenant; `exchangeCalls` are the calls the runtime's transport reported. */
export async function runDoctor(runtime: DoctorRuntime, exchangeCalls: readonly ExchangeCall[]): Promise<DoctorReport> {
  const { capture } = runtime.config;
  const tokens = {
    exchange: await readToken(runtime.credential, EXCHANGE_SCOPE),
    graph: await readToken(runtime.credential, GRAPH_SCOPE),
  };
  const exchange = await runProbes(exchangeProbes(runtime.transport, capture));
  const graph = await runProbes(graphProbes(runtime.graph));
  const roles = await roleChecks(runtime.transport, tokens.exchange.objectId, requiredExchangeRoles(capture));
  return {
    tenantId: runtime.config.tenantId,
    captureMode: capture?.mode ?? "off",
    tokens,
    checks: [...tokenChecks(tokens, requiredGraphPermissions(capture, { auditEvidence: runtime.config.auditEvidence.enabled })), ...exchange.checks, ...graph.checks, ...roles],
    tenant: { ...exchange.size, ...graph.size },
    exchangeCalls: callStatistics(exchangeCalls),
    warnings: tokenWarnings(tokens.graph),
  };
}
