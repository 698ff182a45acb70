import type { CmdletDefinition } from "../cmdlet";
import { journalCmdlets } from "./capture-journal";
import { mailboxCmdlets } from "./capture-mailbox";
import { recipientCmdlets } from "./capture-recipients";
import { transportRuleCmdlets } from "./capture-transport-rules";

/** The cmdlets behind journaling-equivalent capture: the capture mailbox, its access, and the rules that copy mail. */
export const captureCmdlets: CmdletDefinition[] = [
  ...mailboxCmdlets,
  ...recipientCmdlets,
  ...transportRuleCmdlets,
  ...journalCmdlets,
];
