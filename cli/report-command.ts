/** `mailbox-audit report`: the latest recorded state per target (or one mailbox's history) from Table Storage. */
import { loadConfig } from "../shared/config";
import { runReportCommand } from "../shared/report";
import { createRuntime } from "../shared/runtime";

export async function runReport(
  options: { format: "text" | "json" | "csv"; mailbox?: string },
  env: NodeJS.ProcessEnv,
  write: (chunk: string) => void = (chunk) => process.stdout.write(chunk),
): Promise<number> {
  const config = loadConfig(env);
  const runtime = await createRuntime(config);
  const result = await runReportCommand(
    runtime.store,
    config.tenantId,
    { format: options.format, ...(options.mailbox !== undefined ? { mailbox: options.mailbox } : {}) },
    write,
  );
  // Exit 1 when the latest recorded state holds failures, so scripts can gate on the report too.
  return result.kind === "tenant" && result.report.counts.byStatus.failed > 0 ? 1 : 0;
}
