/** `mailbox-audit report`: the latest recorded state per target (or one mailbox's history) from Table Storage. */
import { open } from "node:fs/promises";
import { defaultCapturePolicy } from "../shared/capture/settings";
import { loadConfig } from "../shared/config";
import { runReportCommand, type ReportFormat, type ReportResult } from "../shared/report";
import { createRuntime } from "../shared/runtime";

export interface ReportOptions {
  readonly format: ReportFormat;
  readonly mailbox?: string;
  /** Where the HTML report goes (required for `html`; the other formats go to `write`). */
  readonly file?: string;
}

export async function runReport(
  options: ReportOptions,
  env: NodeJS.ProcessEnv,
  write: (chunk: string) => void = (chunk) => process.stdout.write(chunk),
): Promise<number> {
  const config = loadConfig(env);
  const runtime = await createRuntime(config);
  const file = options.file === undefined ? undefined : await open(options.file, "w");
  try {
    const result = await runReportCommand(
      runtime.store,
      config.tenantId,
      {
        format: options.format,
        ...(options.mailbox !== undefined && { mailbox: options.mailbox }),
        controls: [...runtime.auditPolicy.controls, ...defaultCapturePolicy.controls],
      },
      file
        ? async (chunk) => {
            await file.write(chunk);
          }
        : write,
    );
    if (file) write(`HTML report written to ${options.file}\n`);
    return exitCodeOf(result);
  } finally {
    await file?.close();
  }
}

/** Exit 1 when the latest recorded state holds failures, so scripts can gate on the report too. */
function exitCodeOf(result: ReportResult): number {
  return result.kind === "tenant" && result.report.counts.byStatus.failed > 0 ? 1 : 0;
}
