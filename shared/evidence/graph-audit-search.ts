/**
 * The audit search port over the Graph client: Graph v1.0 `security/auditLog/queries`. A 403 is the missing
 * `AuditLogsQuery-Exchange.Read.All` grant (`AuditSearchDeniedError`); every other failure is passed on.
 */
import type { GraphAuditLogQuery, GraphClient } from "../graph/client";
import { GraphError } from "../graph/errors";
import { AUDIT_SEARCH_PERMISSION, AuditSearchDeniedError, type AuditQueryState, type AuditSearchPort } from "./audit-search";

type AuditGraph = Pick<GraphClient, "createAuditLogQuery" | "getAuditLogQuery" | "listAuditLogRecordPages">;

function stateOf(query: GraphAuditLogQuery): AuditQueryState {
  const count = query.approximateReturnedRecordCount;
  return { id: query.id, status: query.status, ...(typeof count === "number" ? { approximateRecordCount: count } : {}) };
}

function denied(error: unknown): never {
  if (error instanceof GraphError && error.status === 403) {
    throw new AuditSearchDeniedError(`Graph refused the audit search (${error.code}: ${error.message}); grant the application permission ${AUDIT_SEARCH_PERMISSION}`, error.requestId);
  }
  throw error;
}

export function graphAuditSearch(graph: AuditGraph): AuditSearchPort {
  return {
    async createQuery(spec) {
      try {
        return stateOf(
          await graph.createAuditLogQuery({
            displayName: spec.displayName,
            filterStartDateTime: spec.start,
            filterEndDateTime: spec.end,
            recordTypeFilters: spec.recordTypes,
            ...(spec.operations ? { operationFilters: spec.operations } : {}),
          }),
        );
      } catch (error) {
        return denied(error);
      }
    },
    async getQuery(id) {
      try {
        return stateOf(await graph.getAuditLogQuery(id));
      } catch (error) {
        return denied(error);
      }
    },
    async *listRecordPages(id) {
      try {
        yield* graph.listAuditLogRecordPages(id);
      } catch (error) {
        denied(error);
      }
    },
  };
}
