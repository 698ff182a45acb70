import type { OutcomeError } from "../domain/outcome";
import { ensureError, ExchangeError } from "./errors";

/**
 * The outcome error of a failed call: Exchange's error id (or exception type), its text, status and request id;
 * anything else under `fallbackCode` with its message.
 */
export function outcomeErrorOf(error: unknown, fallbackCode = "Error"): OutcomeError {
  if (error instanceof ExchangeError) {
    return {
      code: error.errorId || error.exceptionType || "ExchangeError",
      message: error.cmdlet ? `${error.cmdlet}: ${error.text}` : error.text,
      status: error.status,
      ...(error.requestId !== undefined ? { requestId: error.requestId } : {}),
    };
  }
  return { code: fallbackCode, message: ensureError(error).message };
}
