/**
 * The progress line on a terminal: phase, targets read (of about how many, when the last full sweep says), changes
 * sent and an ETA, redrawn in place at most four times a second. Log lines go through `logStream`, which clears the
 * line first and draws it again after, so no log line is drawn over it.
 */
import { Writable } from "node:stream";
import type { AuditProgress } from "../shared/audit/ports";

const REDRAW_INTERVAL_IN_MS = 250;
const CLEAR_LINE = "\r\x1b[K";

/** The line's text: `apply: 4,200 of ~10,000 targets, 1,230 changes sent, ~2 min left`. */
export function progressText(progress: AuditProgress, expectedTargets: number | undefined, elapsedInMs: number): string {
  const seen = progress.targetsSeen;
  const of = expectedTargets ? ` of ~${expectedTargets.toLocaleString("en-US")}` : "";
  const left = expectedTargets && seen > 0 && seen < expectedTargets ? `, ~${duration((elapsedInMs * (expectedTargets - seen)) / seen)} left` : "";
  return `${progress.phase}: ${seen.toLocaleString("en-US")}${of} targets, ${progress.changesSent.toLocaleString("en-US")} changes sent${left}`;
}

function duration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export class ProgressLine {
  private shown = "";
  private drawnAt = 0;
  private readonly startedAt = Date.now();
  private expectedTargets: number | undefined;

  constructor(
    private readonly write: (text: string) => void,
    private readonly enabled: boolean,
  ) {}

  /** About how many targets the run will read (from the last full sweep), for the total and the ETA. */
  expect(targets: number | undefined): void {
    this.expectedTargets = targets;
  }

  /** An `onProgress` callback for the run. */
  readonly update = (progress: AuditProgress): void => {
    const now = Date.now();
    if (!this.enabled || now - this.drawnAt < REDRAW_INTERVAL_IN_MS) return;
    this.drawnAt = now;
    this.draw(progressText(progress, this.expectedTargets, now - this.startedAt));
  };

  /** Removes the line (before the command's result is printed). */
  clear(): void {
    if (!this.shown) return;
    this.write(CLEAR_LINE);
    this.shown = "";
  }

  /** Where log lines go while the line may be shown: clear it, write the log line, draw it again. */
  logStream(): Writable {
    return new Writable({
      write: (chunk: Buffer | string, _encoding, done) => {
        const shown = this.shown;
        this.clear();
        this.write(String(chunk));
        if (shown) this.draw(shown);
        done();
      },
    });
  }

  private draw(text: string): void {
    this.shown = text;
    this.write(`${CLEAR_LINE}${text}`);
  }
}
