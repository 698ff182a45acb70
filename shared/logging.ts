/**
 * Logging: pino loggers that never write a credential.
 *
 * Secrets are removed twice: by key (pino `redact`: authorization headers, tokens, client secrets, keys) and
 * by shape inside any string (bearer tokens, JWTs, PEM blocks, `AccountKey=` / `SharedAccessSignature=` /
 * `sig=`), because secrets also leak through error messages and connection strings.
 *
 * In a Function, use `createInvocationLogger(context)`: its lines go to the invocation context
 * (`context.info/warn/error/...`), which the host correlates with the invocation in Application Insights.
 */
import type { InvocationContext } from "@azure/functions";
import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";
import pretty from "pino-pretty";
import type { LogLevel } from "./config";

export type { Logger } from "pino";

const SECRET_KEYS = [
  "authorization",
  "Authorization",
  "token",
  "accessToken",
  "access_token",
  "refreshToken",
  "refresh_token",
  "id_token",
  "clientSecret",
  "client_secret",
  "password",
  "secret",
  "privateKey",
  "private_key",
  "certificate",
  "connectionString",
  "AzureWebJobsStorage",
  "x-identity-header",
  "X-IDENTITY-HEADER",
  "IDENTITY_HEADER",
];

/** Key paths redacted at the top level and up to three levels down (pino paths do not recurse). */
export const REDACTED_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) => {
  const segment = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
  const join = (prefix: string): string => (segment.startsWith("[") ? `${prefix}${segment}` : `${prefix}.${segment}`);
  return [segment, join("*"), join("*.*"), join("*.*.*")];
});

const CENSOR = "[Redacted]";

const TEXT_PATTERNS: readonly [RegExp, string][] = [
  [/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?(?:-----END \1-----|$)/g, `-----BEGIN $1-----${CENSOR}-----END $1-----`],
  [/\b(Bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${CENSOR}`],
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, CENSOR],
  [
    /\b(AccountKey|SharedAccessSignature|SharedAccessKey|sig|client_secret|access_token|refresh_token)=[^;&\s"']+/gi,
    `$1=${CENSOR}`,
  ],
];

/** Removes credentials recognisable by their shape from free text. */
export function redactText(text: string): string {
  return TEXT_PATTERNS.reduce((result, [pattern, replacement]) => result.replace(pattern, replacement), text);
}

function redactValue(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === "string") return redactText(value);
  if (typeof value !== "object" || value === null || depth > 8) return value;
  if (seen.has(value)) return value;
  seen.add(value);
  // formatters.log runs before serializers: serialise errors here so their message and stack are scrubbed too.
  if (value instanceof Error) return redactValue(pino.stdSerializers.err(value), depth + 1, seen);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1, seen));
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) result[key] = redactValue(item, depth + 1, seen);
  return result;
}

/** Shared pino options: level, redaction by key and by shape, and error serialisation. */
export function loggerOptions(level: LogLevel = "info"): LoggerOptions {
  return {
    level,
    redact: { paths: [...REDACTED_PATHS], censor: CENSOR },
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    formatters: {
      log: (object) => redactValue(object, 0, new WeakSet()) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        method.apply(
          this,
          args.map((arg) => (typeof arg === "string" ? redactText(arg) : arg)) as Parameters<typeof method>,
        );
      },
    },
  };
}

/** The process's root logger (stdout by default). */
export function createRootLogger(options: { level?: LogLevel; destination?: DestinationStream } = {}): Logger {
  return pino(loggerOptions(options.level), options.destination ?? pino.destination(1));
}

export interface CliLoggerOptions {
  /** Readable lines instead of JSON; default: when stderr is a terminal (a person reads it, not a collector). */
  readonly pretty?: boolean;
  /** Default stderr, so stdout carries only the command's output. */
  readonly destination?: NodeJS.WritableStream;
}

/** The CLI's logger: JSON lines on stderr, or readable ones (pino-pretty) when a person reads the terminal. */
export function createCliLogger(level: LogLevel = "info", options: CliLoggerOptions = {}): Logger {
  if (options.pretty ?? process.stderr.isTTY === true) {
    // Redaction happens in pino before the line reaches the formatter, so pretty lines are scrubbed too.
    return pino(
      loggerOptions(level),
      pretty({
        destination: options.destination ?? 2,
        sync: true,
        colorize: options.destination === undefined,
        ignore: "pid,hostname",
        translateTime: "SYS:HH:MM:ss",
      }),
    );
  }
  return pino(loggerOptions(level), options.destination ?? pino.destination({ fd: 2, sync: true }));
}

type ContextLogMethod = "trace" | "debug" | "info" | "warn" | "error";

/** pino level number -> InvocationContext method. */
export function contextMethodFor(level: number): ContextLogMethod {
  if (level >= 50) return "error";
  if (level >= 40) return "warn";
  if (level >= 30) return "info";
  if (level >= 20) return "debug";
  return "trace";
}

/** A pino destination that hands each (already redacted) JSON line to the invocation context. */
export function invocationContextDestination(context: Pick<InvocationContext, ContextLogMethod>): DestinationStream {
  return {
    write(line: string) {
      const text = line.trimEnd();
      let level = 30;
      try {
        const parsed = JSON.parse(text) as { level?: unknown };
        if (typeof parsed.level === "number") level = parsed.level;
      } catch {
        // Not JSON: pass the line through at info.
      }
      context[contextMethodFor(level)](text);
    },
  };
}

/**
 * A logger for one Function invocation, bound to its invocation id and function name plus the given
 * bindings (run id, tenant, ...), writing through the invocation context.
 */
export function createInvocationLogger(
  context: Pick<InvocationContext, ContextLogMethod | "invocationId" | "functionName">,
  bindings: { readonly runId?: string; readonly tenant?: string; readonly [key: string]: unknown } = {},
  level: LogLevel = "info",
): Logger {
  return pino(loggerOptions(level), invocationContextDestination(context)).child({
    invocationId: context.invocationId,
    functionName: context.functionName,
    ...bindings,
  });
}
