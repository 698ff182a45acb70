import type { CmdletDefinition } from "../cmdlet";
import { auditCmdlets } from "./audit";
import { captureCmdlets } from "./capture";
import { roleCmdlets } from "./roles";

/** Every cmdlet the emulator serves, by lower-cased name. */
export const cmdlets: ReadonlyMap<string, CmdletDefinition> = new Map(
  [...auditCmdlets, ...captureCmdlets, ...roleCmdlets].map((definition) => [definition.name.toLowerCase(), definition]),
);
