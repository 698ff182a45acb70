/**
 * Audit (Premium) licence knowledge for the audit engine, from Microsoft Graph.
 *
 * Cost model: one `subscribedSkus` read per run; only when some SKU carries the Audit (Premium) plan does it read
 * every user's `assignedPlans` through one paged `users/delta` stream (never one call per mailbox). The answer is a
 * set of licensed account ids held for the run (ids only, so 100,000 users stay small).
 */
import { z } from "zod";
import type { LicenceSource } from "./audit/ports";
import type { GraphClient } from "./graph/client";

/** Service plan `M365_ADVANCED_AUDITING` (Microsoft Purview Audit (Premium)). */
export const AUDIT_PREMIUM_PLAN_ID = "2f442157-a11c-46b9-ae5b-6e39ff4e5849";

const assignedPlansSchema = z.array(z.looseObject({ servicePlanId: z.string(), capabilityStatus: z.string() })).optional();

type LicenceGraph = Pick<GraphClient, "listSubscribedSkus" | "listUsersDelta">;

/** True when the user's `assignedPlans` hold an enabled Audit (Premium) plan. */
export function holdsAuditPremium(assignedPlans: unknown): boolean {
  const parsed = assignedPlansSchema.safeParse(assignedPlans);
  return (
    parsed.success &&
    (parsed.data ?? []).some((plan) => plan.servicePlanId.toLowerCase() === AUDIT_PREMIUM_PLAN_ID && plan.capabilityStatus === "Enabled")
  );
}

async function tenantHasAuditPremium(graph: LicenceGraph): Promise<boolean> {
  for await (const sku of graph.listSubscribedSkus()) {
    if (sku.servicePlans.some((plan) => plan.servicePlanId.toLowerCase() === AUDIT_PREMIUM_PLAN_ID)) return true;
  }
  return false;
}

async function licensedUserIds(graph: LicenceGraph): Promise<Set<string>> {
  const licensed = new Set<string>();
  for await (const page of graph.listUsersDelta({ select: ["id", "assignedPlans"] })) {
    for (const user of page.users) {
      if (holdsAuditPremium((user as Record<string, unknown>)["assignedPlans"])) licensed.add(user.id.toLowerCase());
    }
  }
  return licensed;
}

/** A `LicenceSource` that reads Graph once, on first use, and answers every later page from memory. */
export function graphLicenceSource(graph: LicenceGraph): LicenceSource {
  let loading: Promise<Set<string>> | undefined;
  const load = async (): Promise<Set<string>> => ((await tenantHasAuditPremium(graph)) ? licensedUserIds(graph) : new Set());
  return async (objectIds) => {
    loading ??= load();
    const licensed = await loading;
    return new Map(objectIds.map((id) => [id, licensed.has(id.toLowerCase())]));
  };
}
