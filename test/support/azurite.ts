import { randomBytes } from "node:crypto";
import { after, before } from "node:test";
import { startAzurite, type AzuriteOptions, type RunningAzurite } from "../../emulator/azurite";

/**
 * Starts one in-process Azurite for the enclosing `describe` (or file) and stops it afterwards.
 * Returns an accessor, valid inside tests and hooks that run after `before`.
 */
export function useAzurite(options?: AzuriteOptions): () => RunningAzurite {
  let azurite: RunningAzurite | undefined;
  before(async () => {
    azurite = await startAzurite(options);
  });
  after(async () => {
    await azurite?.stop();
  });
  return () => {
    if (!azurite) throw new Error("Azurite is not running: call the accessor inside a test or a later hook");
    return azurite;
  };
}

/** A fresh valid table name (letters and digits, starts with a letter), so tests never share state. */
export function uniqueTableName(prefix = "t"): string {
  return `${prefix}${randomBytes(6).toString("hex")}`;
}
