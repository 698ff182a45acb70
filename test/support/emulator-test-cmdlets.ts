/** A tiny cmdlet table for the emulator's HTTP-layer tests (dispatch, paging, warnings, errors). */
import { notFound, type CmdletDefinition } from "../../emulator/cmdlet";

export const NO_CHANGE_WARNING = (identity: string): string =>
  `The command completed successfully but no settings of '${identity}' have been modified.`;

const definitions: CmdletDefinition[] = [
  {
    name: "Get-TestItem",
    parameters: ["Count", "ResultSize"],
    handle: (parameters) => ({
      value: Array.from({ length: Number(parameters["Count"] ?? 0) }, (_, index) => ({
        Identity: `item-${index}`,
        Name: `Item ${index}`,
        Index: index,
        Extra: "not selected",
      })),
    }),
  },
  {
    name: "Set-TestItem",
    parameters: ["Identity", "Enabled"],
    handle: (parameters) => {
      const identity = String(parameters["Identity"]);
      if (identity === "missing") throw notFound(identity);
      return { warnings: [NO_CHANGE_WARNING(identity)] };
    },
  },
  {
    name: "Get-TestEcho",
    parameters: ["Identity", "AuditOwner"],
    handle: (parameters) => ({ value: [{ ...parameters }] }),
  },
];

export const testCmdlets: ReadonlyMap<string, CmdletDefinition> = new Map(
  definitions.map((definition) => [definition.name.toLowerCase(), definition]),
);
