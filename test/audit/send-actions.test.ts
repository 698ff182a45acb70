/** The apply phase's sending: one `$batch` call per call, gated by the recorder's checkpoint once per 60 changes. */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { PlannedAction } from "../../shared/audit/plan";
import { ExchangeError } from "../../shared/exchange/errors";
import type { BatchItemResult, BatchOptions, CmdletRequest, CmdletResult, ExchangeTransport } from "../../shared/exchange/transport";
import { sendActions, type ApplyDeps } from "../../shared/reconcile/apply";
import { RunRecorder } from "../../shared/reconcile/recorder";
import { answerInGroups } from "../support/batch-groups";
import { FakeClock, FakeStore } from "./fake-exchange";

/** Answers batch requests one at a time, remembering each call and each request sent; `failing` identities fail. */
class RecordingTransport implements ExchangeTransport {
  readonly batchCalls: number[] = [];
  readonly sent: CmdletRequest[] = [];
  readonly failing = new Map<string, ExchangeError>();
  throwing: Error | undefined;

  pages<T>(): AsyncIterable<T[]> {
    throw new Error("not used");
  }

  invoke<T>(): Promise<CmdletResult<T>> {
    return Promise.reject(new Error("not used"));
  }

  batch<T>(requests: readonly CmdletRequest[], options: BatchOptions = {}): Promise<BatchItemResult<T>[]> {
    this.batchCalls.push(requests.length);
    if (this.throwing) return Promise.reject(this.throwing);
    return answerInGroups<T>(requests, options, (request) => {
      this.sent.push(request);
      const error = this.failing.get(`${request.cmdlet} ${identityOf(request)}`);
      return error ? { ok: false, error } : { ok: true, result: { value: [], warnings: [] } };
    });
  }

  /** How many changes had requests sent. */
  changesSent(): number {
    return new Set(this.sent.map(identityOf)).size;
  }
}

/** The run's recorder, noting how many changes had gone out at each checkpoint. */
class NotingRecorder extends RunRecorder {
  readonly checkpoints: number[] = [];

  constructor(
    private readonly changesSent: () => number,
    probe?: () => Promise<unknown>,
  ) {
    super({ store: new FakeStore(), tenantId: "contoso.onmicrosoft.com", runId: "run-1", runStartedAt: "2026-06-01T00:00:00.000Z", ...(probe ? { probe } : {}) });
  }

  override checkpoint(): ReturnType<RunRecorder["checkpoint"]> {
    this.checkpoints.push(this.changesSent());
    return super.checkpoint();
  }
}

function identityOf(request: CmdletRequest): string {
  return String(request.parameters?.["Identity"]);
}

/** Change `index`: a Set-Mailbox, and every 7th also a bypass association change (two requests). */
function actions(count: number): PlannedAction[] {
  return Array.from({ length: count }, (_, index) => ({
    targetKind: "mailbox",
    targetId: `m${index}`,
    requests: [
      { cmdlet: "Set-Mailbox", parameters: { Identity: `m${index}`, AuditEnabled: true } },
      ...(index % 7 === 0 ? [{ cmdlet: "Set-MailboxAuditBypassAssociation", parameters: { Identity: `m${index}`, AuditBypassEnabled: false } }] : []),
    ],
  }));
}

function setup(probe?: () => Promise<unknown>) {
  const transport = new RecordingTransport();
  const recorder = new NotingRecorder(() => transport.changesSent(), probe);
  const progress: number[] = [];
  const deps: ApplyDeps = { transport, recorder, clock: new FakeClock(new Date("2026-06-01T00:00:00Z")), onProgress: (_phase, sent) => progress.push(sent) };
  return { transport, recorder, progress, deps };
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

test("every change of a call goes through one batch call, with a checkpoint before changes 0, 60, 120, …", async () => {
  const { transport, recorder, progress, deps } = setup();
  const planned = actions(130);
  const results = await sendActions(deps, planned);
  assert.deepEqual(transport.batchCalls, [sum(planned.map((action) => action.requests.length))], "one batch call with every request");
  assert.deepEqual(recorder.checkpoints, [0, 60, 120], "changes sent before each checkpoint");
  assert.equal(transport.sent.length, sum(planned.map((action) => action.requests.length)));
  assert.deepEqual(results, planned.map(() => ({})));
  assert.equal(sum(progress), 130, "every change sent was reported");
});

test("once a checkpoint fails nothing more is sent, and the remaining changes fail as not sent", async () => {
  // The store is gone: the fifth checkpoint in a row without a store answer probes it, and the probe fails.
  const { transport, recorder, progress, deps } = setup(() => Promise.reject(new Error("storage gone")));
  const results = await sendActions(deps, actions(300));
  assert.deepEqual(recorder.checkpoints, [0, 60, 120, 180, 240]);
  assert.equal(transport.changesSent(), 240, "nothing of change 240 or later was sent");
  assert.deepEqual(transport.batchCalls.length, 1);
  assert.deepEqual(results.slice(0, 240), Array.from({ length: 240 }, () => ({})));
  const notSent = { error: { code: "NotSent", message: "Not sent: Outcomes could not be recorded: storage gone" } };
  assert.deepEqual(results.slice(240), Array.from({ length: 60 }, () => notSent));
  assert.equal(sum(progress), 240, "only the changes sent were reported");
});

test("a change's error is the first failure among its requests; a batch call that throws fails every change", async () => {
  const { transport, deps } = setup();
  const licence = new ExchangeError({ errorId: "0x1A2B", exceptionType: "InvalidOperationException", text: "needs a licence", status: 400, cmdlet: "Set-MailboxAuditBypassAssociation" });
  transport.failing.set("Set-MailboxAuditBypassAssociation m7", licence);
  const results = await sendActions(deps, actions(9));
  assert.deepEqual(results[7], { error: { code: "0x1A2B", message: "Set-MailboxAuditBypassAssociation: needs a licence", status: 400 } });
  assert.deepEqual(results.filter((result) => result.error !== undefined).length, 1);

  transport.throwing = new Error("socket hang up");
  assert.deepEqual(await sendActions(deps, actions(3)), Array.from({ length: 3 }, () => ({ error: { code: "Error", message: "socket hang up" } })));
});
