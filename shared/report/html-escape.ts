/**
 * HTML built from tagged templates that escape every interpolated value: tenant data (display names, rule names,
 * Exchange's error texts) can only ever reach the page as text. Markup passes through only as `SafeHtml`, which
 * only `html` itself produces.
 */

const ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text made safe for element content and for double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char] ?? char);
}

export class SafeHtml {
  constructor(readonly markup: string) {}
  toString(): string {
    return this.markup;
  }
}

/** What a template may interpolate: markup, text (escaped), numbers, nothing (`undefined`, `false`), or lists. */
export type HtmlValue = SafeHtml | string | number | undefined | false | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === undefined || value === false) return "";
  if (value instanceof SafeHtml) return value.markup;
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join("");
  return escapeHtml(String(value));
}

/** The HTML template tag: literal parts are markup, every value is escaped unless it is `SafeHtml`. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  return new SafeHtml(strings.reduce((markup, part, index) => markup + render(values[index - 1]) + part));
}
