/** The README's configuration table, generated from `SETTINGS` so the documentation cannot fall behind the code. */
import { SETTINGS } from "./config";

export const TABLE_START = "<!-- settings-table:start -->";
export const TABLE_END = "<!-- settings-table:end -->";

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export function settingsTable(): string {
  const rows = SETTINGS.map((setting) => {
    const defaultValue = "defaultValue" in setting && setting.defaultValue !== undefined ? `\`${cell(setting.defaultValue)}\`` : "";
    return `| \`${setting.name}\` | ${defaultValue} | ${cell(setting.description)} |`;
  });
  return ["| Setting | Default | Meaning |", "|---|---|---|", ...rows].join("\n");
}

/** `readme` with the table between the markers replaced by the current one. */
export function withSettingsTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README lacks the ${TABLE_START} / ${TABLE_END} markers`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${settingsTable()}\n${readme.slice(end)}`;
}
