/** The audit baseline's watermarks: the start of the last run that may advance them, and of the last full sweep. */
export const INCREMENTAL_WATERMARK = "mailbox-audit";
export const FULL_SWEEP_WATERMARK = "mailbox-audit-full";
