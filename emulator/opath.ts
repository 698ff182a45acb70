/**
 * The subset of Exchange's OPATH `-Filter` language the product uses on mailboxes:
 *   filter     := or
 *   or         := and ("-or" and)*
 *   and        := not ("-and" not)*
 *   not        := ("-not" | "!") not | "(" or ")" | comparison
 *   comparison := Property ("-eq"|"-ne"|"-gt"|"-ge"|"-lt"|"-le"|"-like"|"-notlike") value
 *   value      := 'single-quoted' ('' escapes ') | "double-quoted" ("" escapes ") | bareword
 * Keywords and property names are case-insensitive; text compares case-insensitively; dates compare as instants
 * (a date without a zone is UTC: the emulator's server clock is UTC).
 */
import { CmdletFailure } from "./cmdlet";
import type { EmulatedMailbox } from "./tenant-state";

export type MailboxPredicate = (mailbox: EmulatedMailbox) => boolean;

type PropertyKind = "date" | "text";

interface FilterableProperty {
  name: string;
  kind: PropertyKind;
  read: (mailbox: EmulatedMailbox) => string;
}

const FILTERABLE_PROPERTIES: readonly FilterableProperty[] = [
  { name: "WhenChangedUTC", kind: "date", read: (mailbox) => mailbox.WhenChangedUTC },
  { name: "WhenCreatedUTC", kind: "date", read: (mailbox) => mailbox.WhenCreatedUTC },
  // The emulator's server clock is UTC, so the local-time properties read the same instants.
  { name: "WhenChanged", kind: "date", read: (mailbox) => mailbox.WhenChangedUTC },
  { name: "WhenCreated", kind: "date", read: (mailbox) => mailbox.WhenCreatedUTC },
  { name: "RecipientTypeDetails", kind: "text", read: (mailbox) => mailbox.RecipientTypeDetails },
  { name: "PrimarySmtpAddress", kind: "text", read: (mailbox) => mailbox.PrimarySmtpAddress },
  { name: "ExternalDirectoryObjectId", kind: "text", read: (mailbox) => mailbox.ExternalDirectoryObjectId },
  { name: "Alias", kind: "text", read: (mailbox) => mailbox.Alias },
  { name: "Name", kind: "text", read: (mailbox) => mailbox.Name },
];
const FILTERABLE = new Map(FILTERABLE_PROPERTIES.map((property) => [property.name.toLowerCase(), property]));

const OPERATORS = ["-eq", "-ne", "-gt", "-ge", "-lt", "-le", "-like", "-notlike"] as const;
type Operator = (typeof OPERATORS)[number];

type Token =
  | { kind: "open" | "close"; position: number }
  | { kind: "keyword"; text: string; position: number }
  | { kind: "word"; text: string; position: number }
  | { kind: "quoted"; text: string; position: number };

const bindingFailure = "System.Management.Automation.ParameterBindingException";

/** Exchange's text for a filter that does not parse (community-observed wording; positions are 1-based). */
export function invalidFilterSyntax(filter: string, position: number): CmdletFailure {
  return filterFailure(
    `Invalid filter syntax. For a description of the filter parameter syntax see the command help.\n"${filter}" at position ${position}.`,
  );
}

function filterFailure(inner: string): CmdletFailure {
  return new CmdletFailure(
    "ParameterBindingFailed",
    bindingFailure,
    `Cannot bind parameter 'Filter' to the target. Exception setting "Filter": "${inner}"`,
  );
}

/** Parses an OPATH filter into a mailbox predicate, failing as Exchange does for bad syntax or properties. */
export function compileOpathFilter(filter: string): MailboxPredicate {
  const tokens = tokenize(filter);
  let cursor = 0;
  const peek = (): Token | undefined => tokens[cursor];
  const fail = (token: Token | undefined): never => {
    throw invalidFilterSyntax(filter, (token?.position ?? filter.length) + 1);
  };
  const isKeyword = (token: Token | undefined, ...names: string[]): boolean =>
    token?.kind === "keyword" && names.includes(token.text);

  const parseOr = (): MailboxPredicate => {
    let left = parseAnd();
    while (isKeyword(peek(), "-or")) {
      cursor++;
      const first = left;
      const second = parseAnd();
      left = (mailbox) => first(mailbox) || second(mailbox);
    }
    return left;
  };
  const parseAnd = (): MailboxPredicate => {
    let left = parseNot();
    while (isKeyword(peek(), "-and")) {
      cursor++;
      const first = left;
      const second = parseNot();
      left = (mailbox) => first(mailbox) && second(mailbox);
    }
    return left;
  };
  const parseNot = (): MailboxPredicate => {
    const token = peek();
    if (isKeyword(token, "-not", "!")) {
      cursor++;
      const inner = parseNot();
      return (mailbox) => !inner(mailbox);
    }
    if (token?.kind === "open") {
      cursor++;
      const inner = parseOr();
      if (peek()?.kind !== "close") fail(peek());
      cursor++;
      return inner;
    }
    return parseComparison();
  };
  const parseComparison = (): MailboxPredicate => {
    const propertyToken = peek();
    if (propertyToken?.kind !== "word") return fail(propertyToken);
    cursor++;
    const operatorToken = peek();
    if (operatorToken?.kind !== "keyword" || !(OPERATORS as readonly string[]).includes(operatorToken.text))
      return fail(operatorToken);
    cursor++;
    const valueToken = peek();
    if (valueToken?.kind !== "word" && valueToken?.kind !== "quoted") return fail(valueToken);
    cursor++;
    return comparison(filter, propertyToken.text, operatorToken.text as Operator, valueToken.text);
  };

  if (tokens.length === 0) fail(undefined);
  const predicate = parseOr();
  if (cursor < tokens.length) fail(peek());
  return predicate;
}

function comparison(filter: string, propertyName: string, operator: Operator, value: string): MailboxPredicate {
  const property = FILTERABLE.get(propertyName.toLowerCase());
  if (!property) {
    throw filterFailure(
      `"${propertyName}" is not a recognized filterable property. Valid property names are: ${FILTERABLE_PROPERTIES.map((property) => property.name).join(", ")}.`,
    );
  }
  if (operator === "-like" || operator === "-notlike") {
    // On a date this matches the ISO text the emulator stores.
    const pattern = wildcard(value);
    return operator === "-like"
      ? (mailbox) => pattern.test(property.read(mailbox))
      : (mailbox) => !pattern.test(property.read(mailbox));
  }
  if (property.kind === "date") {
    const wantedInMs = parseFilterDate(value);
    if (wantedInMs === undefined) {
      throw filterFailure(`The value "${value}" could not be converted to type System.DateTime.\n"${filter}"`);
    }
    return (mailbox) => compare(Date.parse(property.read(mailbox)) - wantedInMs, operator);
  }
  const wanted = value.toLowerCase();
  return (mailbox) => {
    const actual = property.read(mailbox).toLowerCase();
    return compare(actual < wanted ? -1 : actual > wanted ? 1 : 0, operator);
  };
}

function compare(difference: number, operator: Exclude<Operator, "-like" | "-notlike">): boolean {
  switch (operator) {
    case "-eq":
      return difference === 0;
    case "-ne":
      return difference !== 0;
    case "-gt":
      return difference > 0;
    case "-ge":
      return difference >= 0;
    case "-lt":
      return difference < 0;
    case "-le":
      return difference <= 0;
  }
}

/** `*` matches any run of characters; everything else is literal. */
function wildcard(pattern: string): RegExp {
  const source = pattern
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${source}$`, "is");
}

/**
 * ISO-8601 (a missing zone means UTC) or the en-US form Exchange prints, `M/d/yyyy [h:mm[:ss] [AM|PM]]`.
 * Returns epoch milliseconds, or undefined when the text is not a date.
 */
export function parseFilterDate(text: string): number | undefined {
  const trimmed = text.trim();
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(
    trimmed,
  );
  if (iso) {
    const withZone = iso[4] === undefined ? `${trimmed.slice(0, 10)}T00:00:00Z` : iso[7] ? trimmed : `${trimmed}Z`;
    const parsed = Date.parse(withZone.replace(" ", "T"));
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(AM|PM)?)?$/i.exec(trimmed);
  if (!us) return undefined;
  const [, month, day, year, hourText, minute, second, meridiem] = us;
  let hour = Number(hourText ?? 0);
  if (meridiem) {
    if (hour < 1 || hour > 12) return undefined;
    hour = (hour % 12) + (meridiem.toUpperCase() === "PM" ? 12 : 0);
  }
  const result = Date.UTC(Number(year), Number(month) - 1, Number(day), hour, Number(minute ?? 0), Number(second ?? 0));
  const check = new Date(result);
  // Reject overflowed dates such as 2/30/2026, which Date.UTC would silently roll over.
  if (check.getUTCMonth() !== Number(month) - 1 || check.getUTCDate() !== Number(day) || hour > 23) return undefined;
  return result;
}

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < filter.length) {
    const char = filter[index] as string;
    if (/\s/.test(char)) {
      index++;
      continue;
    }
    const position = index;
    if (char === "(" || char === ")") {
      tokens.push({ kind: char === "(" ? "open" : "close", position });
      index++;
      continue;
    }
    if (char === "'" || char === '"') {
      let text = "";
      index++;
      for (;;) {
        if (index >= filter.length) throw invalidFilterSyntax(filter, position + 1);
        const next = filter[index] as string;
        if (next === char) {
          if (filter[index + 1] === char) {
            text += char;
            index += 2;
            continue;
          }
          index++;
          break;
        }
        text += next;
        index++;
      }
      tokens.push({ kind: "quoted", text, position });
      continue;
    }
    let end = index;
    while (end < filter.length && !/[\s()'"]/.test(filter[end] as string)) end++;
    const text = filter.slice(index, end);
    index = end;
    if (text.startsWith("-") || text === "!") tokens.push({ kind: "keyword", text: text.toLowerCase(), position });
    else tokens.push({ kind: "word", text, position });
  }
  return tokens;
}
