import type { CmdletDefinition } from "../cmdlet";

export const captureCmdlets: CmdletDefinition[] = [];
