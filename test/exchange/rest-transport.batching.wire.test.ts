/**
 * How RestExchangeTransport schedules `$batch` envelopes, against a tiny local HTTPS server that holds and answers
 * each envelope on the test's cue: what goes into which envelope, and what is in flight when, is observed directly.
 * Nothing here asserts how long anything took.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { sharedConcurrencyLimiter } from "../../shared/http/concurrency";
import { RestExchangeTransport, type RestExchangeTransportOptions } from "../../shared/exchange/rest-transport";
import type { BatchHalt, BatchItemResult, CmdletRequest } from "../../shared/exchange/transport";
import { sendJson, startLocalHttpsServer, staticCredential, type LocalHttpsServer } from "../http/local-https-server";

let server: LocalHttpsServer;
before(async () => {
  server = await startLocalHttpsServer();
});
after(() => server.close());

function transport(overrides: Partial<RestExchangeTransportOptions> = {}): RestExchangeTransport {
  return new RestExchangeTransport({
    tenantId: randomUUID(),
    baseUrl: server.baseUrl,
    credential: staticCredential(),
    extraCaPem: server.caPem,
    retryBudget: { baseDelayInMs: 5, maxDelayInMs: 10 },
    retryDelay: () => 0,
    ...overrides,
  });
}

/** `Set-Mailbox` for mailboxes m0, m1, …: each request's identity says where it is in the call. */
function mailboxes(count: number): CmdletRequest[] {
  return Array.from({ length: count }, (_, index) => ({ cmdlet: "Set-Mailbox", parameters: { Identity: `m${index}` } }));
}

/** A `$batch` envelope the server received, held until the test answers it. */
interface Envelope {
  /** The identities of its sub-requests, in order. */
  readonly identities: readonly string[];
  answered: boolean;
  /** Answers each sub-request with 200 echoing its identity, or 429 with `Retry-After` for the identities throttled. */
  answer(throttled?: readonly string[], retryAfter?: string): void;
}

interface SubRequest {
  readonly id: string;
  readonly body: { CmdletInput: { Parameters: { Identity: string } } };
}

/** Every envelope the server receives from now on, in order of arrival; `onEnvelope` may answer it at once. */
function envelopes(onEnvelope: (envelope: Envelope, received: readonly Envelope[]) => void): Envelope[] {
  const received: Envelope[] = [];
  server.handle((request, response) => {
    const { requests } = JSON.parse(request.body) as { requests: SubRequest[] };
    const envelope: Envelope = {
      identities: requests.map((sub) => sub.body.CmdletInput.Parameters.Identity),
      answered: false,
      answer(throttled = [], retryAfter = "1") {
        if (envelope.answered) return;
        envelope.answered = true;
        sendJson(response, 200, {
          responses: requests.map(({ id, body }) => {
            const identity = body.CmdletInput.Parameters.Identity;
            return throttled.includes(identity)
              ? { id, status: 429, headers: { "Retry-After": retryAfter }, body: { error: { code: "TooManyRequests", message: "Too many requests" } } }
              : { id, status: 200, body: { value: [{ Identity: identity }] } };
          }),
        });
      },
    };
    received.push(envelope);
    onEnvelope(envelope, received);
  });
  return received;
}

/** How many times `identity` was sent. */
function sends(received: readonly Envelope[], identity: string): number {
  return received.filter((envelope) => envelope.identities.includes(identity)).length;
}

/** Waits (without asserting how long) until `condition` holds; fails rather than hang. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; !condition(); await sleep(2)) {
    if (Date.now() > deadline) assert.fail(`never came to pass: ${what}`);
  }
}

/** The identity each successful result echoes, or the error id of a failed one. */
function echoed(results: readonly BatchItemResult[]): string[] {
  return results.map((result) => (result.ok ? String(result.result.value[0]?.["Identity"]) : result.error.errorId));
}

function identities(from: number, to: number): string[] {
  return Array.from({ length: to - from }, (_, index) => `m${from + index}`);
}

test("a throttled sub-request waits in the queue, not in its envelope: the envelopes in flight go on, and it joins a later one", async () => {
  // m10's and m20's envelopes are held until m0 is sent again (or, failing that, a while later).
  let released = "";
  const held: Envelope[] = [];
  const release = (reason: string) => {
    released ||= reason;
    held.forEach((envelope) => envelope.answer());
  };
  const received = envelopes((envelope, all) => {
    const firstOf = (identity: string) => envelope.identities.includes(identity) && sends(all, identity) === 1;
    if (firstOf("m0")) return envelope.answer(["m0"]);
    if (firstOf("m10") || firstOf("m20")) return void held.push(envelope);
    envelope.answer();
    if (sends(all, "m0") === 2) release("m0 was sent again");
  });
  const safety = setTimeout(() => release("m0 was not sent again while the others were in flight"), 3_000);
  const delays: number[] = [];
  const retryDelay = (decided: number) => {
    delays.push(decided);
    return 0;
  };
  const results = await transport({ retryDelay }).batch(mailboxes(50));
  clearTimeout(safety);

  assert.deepEqual(echoed(results), identities(0, 50), "one result per request, in order");
  assert.deepEqual(delays, [1_000], "the sub-response's Retry-After was the decided wait");
  assert.equal(released, "m0 was sent again", "the retry did not wait for the slowest envelope");
  const retry = received.filter((envelope) => envelope.identities.includes("m0"))[1];
  assert.ok(retry && retry.identities.some((identity) => identity !== "m0" && sends(received, identity) === 1), "m0 went out again with later requests' first attempts");
  assert.deepEqual(identities(0, 50).filter((identity) => sends(received, identity) !== 1), ["m0"], "only m0 was sent twice");
});

test("at most maxConcurrency envelopes of one call are in flight, and a sub-request is put into an envelope only when it is sent", async () => {
  const tenantId = randomUUID();
  let answerAtOnce = false;
  let peak = 0;
  const received = envelopes((envelope, all) => {
    peak = Math.max(peak, all.filter((candidate) => !candidate.answered).length);
    if (answerAtOnce) envelope.answer();
  });
  const pending = transport({ tenantId, maxConcurrency: 2 }).batch(mailboxes(40));
  await until(() => received.length === 2, "two envelopes are in flight");
  await sleep(20);
  assert.equal(received.length, 2, "no third envelope while two are in flight");
  assert.equal(sharedConcurrencyLimiter(tenantId, "exchange", 2).waiting, 0, "no envelope was formed to wait for a slot");

  received[0]?.answer(["m0"]);
  await until(() => received.length === 3, "a third envelope is sent once a slot is free");
  assert.ok(received[2]?.identities.includes("m0"), "the third envelope was formed when it was sent: it carries m0's retry");
  assert.equal(received[1]?.answered, false);

  answerAtOnce = true;
  received.forEach((envelope) => envelope.answer());
  const results = await pending;
  assert.deepEqual(echoed(results), identities(0, 40));
  assert.equal(peak, 2, "never more than 2 envelopes in flight");
});

test("each sub-request spends its own retry budget while the others go on: one throttled past maxRetries ends with its error", async () => {
  // m20's envelope is held until m5 has been sent three times (or, failing that, a while later).
  let released = "";
  let held: Envelope | undefined;
  const release = (reason: string) => {
    released ||= reason;
    held?.answer();
  };
  const received = envelopes((envelope, all) => {
    if (envelope.identities.includes("m20")) return void (held = envelope);
    envelope.answer(envelope.identities.filter((identity) => identity === "m5" || (identity === "m15" && sends(all, "m15") === 1)));
    if (sends(all, "m5") === 3) release("m5 spent its budget");
  });
  const safety = setTimeout(() => release("m5 was not retried while m20's envelope was in flight"), 3_000);
  const results = await transport({ retryBudget: { maxRetries: 2, baseDelayInMs: 5, maxDelayInMs: 10 }, retryDelay: () => 5 }).batch(mailboxes(30));
  clearTimeout(safety);

  assert.equal(released, "m5 spent its budget", "m5's retries went on while m20's envelope was in flight");
  assert.deepEqual(echoed(results), identities(0, 30).map((identity) => (identity === "m5" ? "TooManyRequests" : identity)));
  const [m5] = results.slice(5, 6);
  assert.ok(m5 && !m5.ok && m5.error.status === 429);
  assert.deepEqual([sends(received, "m5"), sends(received, "m15"), sends(received, "m20")], [3, 2, 1], "m5: first attempt and 2 retries; m15: one retry");
});

test("a sub-request's time budget counts from its own first attempt, not from the start of a gated call", async () => {
  const received = envelopes((envelope, all) => envelope.answer(envelope.identities.filter((identity) => identity === "m1" && sends(all, "m1") === 1), "0"));
  const gates: number[] = [];
  const results = await transport({ retryBudget: { maxElapsedInMs: 1_000, baseDelayInMs: 5, maxDelayInMs: 10 } }).batch(mailboxes(2), {
    beforeGroup: async (group) => {
      gates.push(group);
      // m1 goes out later than the call's whole time budget after the call started.
      if (group === 1) await sleep(1_100);
      return undefined;
    },
  });
  assert.deepEqual(gates, [0, 1]);
  assert.deepEqual(echoed(results), ["m0", "m1"]);
  assert.equal(sends(received, "m1"), 2, "m1 was retried");
});

test("a gated batch: a group's gate is awaited while the envelopes in flight go on; a halt sends nothing of that group or any later one", async () => {
  const received = envelopes((envelope) => {
    if (!envelope.identities.includes("m0")) envelope.answer();
  });
  const groups = Array.from({ length: 12 }, () => 3);
  const gates: number[] = [];
  let openGate: ((halt: BatchHalt | undefined) => void) | undefined;
  const pending = transport().batch(mailboxes(36), {
    groups,
    beforeGroup: (group) => {
      gates.push(group);
      return group === 4 ? new Promise((resolve) => (openGate = resolve)) : Promise.resolve(undefined);
    },
  });
  await until(() => received.length === 1 && openGate !== undefined, "the first envelope is in flight and group 4's gate is pending");
  // The first envelope holds groups 0-2 and part of 3: it comes back while the gate is still pending.
  assert.deepEqual(received[0]?.identities, identities(0, 10));
  received[0]?.answer();
  await sleep(20);
  openGate?.({ message: "Outcomes could not be recorded: gone" });
  const results = await pending;

  assert.deepEqual(gates, [0, 1, 2, 3, 4], "no gate after the halt");
  assert.deepEqual(received.flatMap((envelope) => envelope.identities).sort(), identities(0, 12).sort(), "groups 0-3 went out whole, nothing of group 4 or later");
  assert.deepEqual(echoed(results), [...identities(0, 12), ...Array.from({ length: 24 }, () => "NotSent")]);
  for (const result of results.slice(12)) {
    assert.ok(!result.ok);
    assert.equal(result.error.text, "Not sent: Outcomes could not be recorded: gone");
    assert.equal(result.error.cmdlet, "Set-Mailbox");
  }
});

test("a halt at the first gate sends nothing", async () => {
  const received = envelopes((envelope) => envelope.answer());
  const results = await transport().batch(mailboxes(3), { groups: [2, 1], beforeGroup: () => Promise.resolve({ message: "stop" }) });
  assert.deepEqual(echoed(results), ["NotSent", "NotSent", "NotSent"]);
  assert.equal(received.length, 0);
});

test("an abort while only waiting sub-requests remain ends the call", async () => {
  const abort = new AbortController();
  envelopes((envelope) => {
    envelope.answer(["m0"]);
    abort.abort();
  });
  await assert.rejects(transport({ retryDelay: () => 60_000 }).batch(mailboxes(1), { abortSignal: abort.signal }), { name: "AbortError" });
});
