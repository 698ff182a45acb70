import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";

/**
 * Text-level reading of Bicep files for tests (the Bicep compiler is not available here).
 * It understands just enough of the grammar to be trustworthy for checks: comments, the three string forms
 * ('...' with escapes, '''...''' verbatim, ${...} interpolation) and brace nesting.
 */

/** Repository root: the nearest ancestor of this file that holds package.json (works from dist/ too). */
export function findRepoRoot(start: string = __dirname): string {
  let current = start;
  while (!existsSync(join(current, "package.json"))) {
    const parent = dirname(current);
    if (parent === current) throw new Error(`no package.json above ${start}`);
    current = parent;
  }
  return current;
}

export const repoRoot = findRepoRoot();

export function readRepoFile(relativePath: string): string {
  return readFileSync(join(repoRoot, relativePath), "utf8");
}

/** Every file under a repository folder, as repository-relative paths with forward slashes. */
export function listRepoFiles(relativeDir: string): string[] {
  const files: string[] = [];
  const walk = (absoluteDir: string): void => {
    for (const entry of readdirSync(absoluteDir, { withFileTypes: true })) {
      const absolute = join(absoluteDir, entry.name);
      if (entry.isDirectory()) walk(absolute);
      else files.push(relative(repoRoot, absolute).split("\\").join("/"));
    }
  };
  walk(join(repoRoot, relativeDir));
  return files.sort();
}

/**
 * The file with comments removed (`code`) and, of the same length, a copy where string contents are blanked
 * (`structure`), so brackets inside strings do not count. Interpolation holes `${...}` stay visible in both.
 * Throws on an unterminated string or comment.
 */
export function scanBicep(source: string): { code: string; structure: string } {
  let code = "";
  let structure = "";
  const emit = (text: string, blank: boolean): void => {
    code += text;
    structure += blank ? text.replace(/[^\n]/g, " ") : text;
  };
  // Stack of open contexts: "{" for braces opened in code, "${" for interpolation holes.
  const stack: string[] = [];
  let index = 0;
  let inString = false;
  while (index < source.length) {
    const char = source[index] as string;
    const next = source[index + 1];
    if (inString) {
      if (char === "\\") {
        emit(source.slice(index, index + 2), true);
        index += 2;
      } else if (char === "$" && next === "{") {
        emit("${", false);
        stack.push("${");
        inString = false;
        index += 2;
      } else if (char === "'") {
        emit("'", false);
        inString = false;
        index += 1;
      } else {
        emit(char, true);
        index += 1;
      }
      continue;
    }
    if (source.startsWith("'''", index)) {
      const end = source.indexOf("'''", index + 3);
      if (end < 0) throw new Error(`unterminated ''' string at offset ${index}`);
      emit("'''", false);
      emit(source.slice(index + 3, end), true);
      emit("'''", false);
      index = end + 3;
    } else if (char === "'") {
      emit("'", false);
      inString = true;
      index += 1;
    } else if (char === "/" && next === "/") {
      const end = source.indexOf("\n", index);
      index = end < 0 ? source.length : end;
    } else if (char === "/" && next === "*") {
      const end = source.indexOf("*/", index + 2);
      if (end < 0) throw new Error(`unterminated comment at offset ${index}`);
      index = end + 2;
    } else if (char === "{") {
      stack.push("{");
      emit(char, false);
      index += 1;
    } else if (char === "}") {
      const open = stack.pop();
      emit(char, false);
      index += 1;
      if (open === "${") inString = true;
    } else {
      emit(char, false);
      index += 1;
    }
  }
  if (inString) throw new Error("unterminated string at end of file");
  return { code, structure };
}

/** First mismatch of (), [], {} in blanked structure text, or undefined when balanced. */
export function findBracketMismatch(structure: string): string | undefined {
  const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  const stack: { char: string; line: number }[] = [];
  let line = 1;
  for (const char of structure) {
    if (char === "\n") line += 1;
    else if (char === "(" || char === "[" || char === "{") stack.push({ char, line });
    else if (char in pairs) {
      const open = stack.pop();
      if (open?.char !== pairs[char]) return `unexpected '${char}' on line ${line}`;
    }
  }
  const unclosed = stack.pop();
  return unclosed ? `'${unclosed.char}' opened on line ${unclosed.line} is never closed` : undefined;
}

/** The text between the brace at `openIndex` and its matching close brace (exclusive). */
export function blockAt(scan: { code: string; structure: string }, openIndex: number): string {
  let depth = 0;
  for (let index = openIndex; index < scan.structure.length; index += 1) {
    const char = scan.structure[index];
    if (char === "{") depth += 1;
    else if (char === "}") {
      depth -= 1;
      if (depth === 0) return scan.code.slice(openIndex + 1, index);
    }
  }
  throw new Error(`unbalanced block at offset ${openIndex}`);
}

export interface BicepParam {
  name: string;
  type: string;
  hasDefault: boolean;
}

export interface BicepResource {
  symbol: string;
  type: string;
  apiVersion: string;
  existing: boolean;
  body: string;
}

export interface BicepModule {
  symbol: string;
  path: string;
  body: string;
}

export interface BicepFile {
  code: string;
  params: BicepParam[];
  resources: BicepResource[];
  modules: BicepModule[];
  outputs: string[];
  /** Top-level `var name = { ... }` object literals, by name, as their body text. */
  objectVars: Map<string, string>;
}

export function parseBicep(source: string): BicepFile {
  const scan = scanBicep(source);
  const { code } = scan;
  const params: BicepParam[] = [];
  for (const match of code.matchAll(/^param\s+(\w+)\s+(\w+)(\s*=)?/gm)) {
    params.push({ name: match[1] as string, type: match[2] as string, hasDefault: match[3] !== undefined });
  }
  const resources: BicepResource[] = [];
  // The body is the first brace after `=`: plain, `if (...) {` or `[for ... : {`.
  const firstBraceAfter = (index: number): number => scan.structure.indexOf("{", index);
  const resourcePattern = /^\s*resource\s+(\w+)\s+'([^'@]+)@([^']+)'\s*(existing\s*)?=/gm;
  for (const match of code.matchAll(resourcePattern)) {
    const openIndex = firstBraceAfter((match.index ?? 0) + match[0].length);
    resources.push({
      symbol: match[1] as string,
      type: match[2] as string,
      apiVersion: match[3] as string,
      existing: match[4] !== undefined,
      body: blockAt(scan, openIndex),
    });
  }
  const modules: BicepModule[] = [];
  for (const match of code.matchAll(/^module\s+(\w+)\s+'([^']+)'\s*=/gm)) {
    const openIndex = firstBraceAfter((match.index ?? 0) + match[0].length);
    modules.push({ symbol: match[1] as string, path: match[2] as string, body: blockAt(scan, openIndex) });
  }
  const outputs = [...code.matchAll(/^output\s+(\w+)\s+/gm)].map((match) => match[1] as string);
  const objectVars = new Map<string, string>();
  for (const match of code.matchAll(/^var\s+(\w+)\s*=\s*\{/gm)) {
    objectVars.set(match[1] as string, blockAt(scan, (match.index ?? 0) + match[0].length - 1));
  }
  return { code, params, resources, modules, outputs, objectVars };
}

/** Keys at the top level of an object body (nested objects and arrays skipped). */
export function topLevelKeys(body: string): string[] {
  const scan = scanBicep(`{${body}}`);
  const keys: string[] = [];
  let depth = 0;
  const lines = scan.structure.split("\n");
  const codeLines = scan.code.split("\n");
  lines.forEach((line, lineIndex) => {
    if (depth === 1) {
      const key = /^\s*'?([\w$.-]+)'?\s*:/.exec(codeLines[lineIndex] ?? "");
      if (key) keys.push(key[1] as string);
    }
    for (const char of line) {
      if (char === "{" || char === "[" || char === "(") depth += 1;
      else if (char === "}" || char === "]" || char === ")") depth -= 1;
    }
  });
  return keys;
}

/** The body of the first `key: {` object inside a block. */
export function objectProperty(body: string, key: string): string {
  const scan = scanBicep(body);
  const match = new RegExp(`\\b${key}\\s*:\\s*\\{`).exec(scan.code);
  if (!match) throw new Error(`no object property '${key}'`);
  return blockAt(scan, match.index + match[0].length - 1);
}
