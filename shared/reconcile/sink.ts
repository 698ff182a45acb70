/**
 * Where an apply run's mailbox changes go: straight through the apply phase (the CLI, and a Function's run below
 * the fan-out threshold), or handed over as work items that carry intent only (the Functions, past the threshold;
 * shared/runs/fan-out.ts). Either way they are applied by the same `MailboxApplier`.
 */
import type { MailboxChange } from "./apply";

/** Applies changes through the run's own apply phase. */
export type ApplyInline = (changes: readonly MailboxChange[]) => Promise<void>;

export interface ChangeSink {
  /** A page's changes: applied now through `inline`, or handed over durably (resolves once handed over). */
  accept(changes: readonly MailboxChange[], inline: ApplyInline): Promise<void>;
  /** The end of observation: what is still held goes through `inline` or is handed over. Returns the changes handed over in all. */
  finish(inline: ApplyInline): Promise<number>;
}

/** Every change applied by the run itself. */
export const INLINE_SINK: ChangeSink = {
  accept: (changes, inline) => inline(changes),
  finish: () => Promise.resolve(0),
};
