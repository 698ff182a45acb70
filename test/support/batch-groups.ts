/**
 * `ExchangeTransport.batch`'s groups and gate for fakes that answer one request at a time: each group goes out after
 * its `beforeGroup`, and a halt leaves that group and every later one unsent (`notSentError`), as the REST
 * transport does.
 */
import { notSentError, type BatchHalt, type BatchItemResult, type BatchOptions, type CmdletRequest } from "../../shared/exchange/transport";

export async function answerInGroups<T>(
  requests: readonly CmdletRequest[],
  options: BatchOptions,
  answer: (request: CmdletRequest) => BatchItemResult<T> | Promise<BatchItemResult<T>>,
): Promise<BatchItemResult<T>[]> {
  const results: BatchItemResult<T>[] = [];
  let halt: BatchHalt | undefined;
  for (const [groupIndex, size] of (options.groups ?? requests.map(() => 1)).entries()) {
    if (!halt) halt = await options.beforeGroup?.(groupIndex);
    for (const request of requests.slice(results.length, results.length + size)) {
      results.push(halt ? { ok: false, error: notSentError(request.cmdlet, halt) } : await answer(request));
    }
  }
  return results;
}
