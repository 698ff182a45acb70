import type { CmdletDefinition } from "../cmdlet";

export const auditCmdlets: CmdletDefinition[] = [];
