import { test } from "node:test";
import assert from "node:assert/strict";
import { InvocationContext } from "@azure/functions";
import { Writable } from "node:stream";
import {
  contextMethodFor,
  createCliLogger,
  createInvocationLogger,
  createRootLogger,
  redactText,
} from "../../shared/logging";

const JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sifQ.c2lnbmF0dXJlLXBhcnQ";
const PEM = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----";
const CONNECTION =
  "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0a2V5MTIzNDU2Nzg5MA==;EndpointSuffix=core.windows.net";

function capture(): {
  lines: () => Record<string, unknown>[];
  raw: () => string;
  destination: { write(line: string): void };
} {
  const written: string[] = [];
  return {
    destination: { write: (line: string) => void written.push(line) },
    lines: () => written.map((line) => JSON.parse(line) as Record<string, unknown>),
    raw: () => written.join(""),
  };
}

test("redactText removes credentials by shape and leaves the rest", () => {
  assert.equal(redactText(`Authorization: Bearer ${JWT}`), "Authorization: Bearer [Redacted]");
  assert.equal(redactText(`token ${JWT} expired`), "token [Redacted] expired");
  assert.equal(
    redactText(CONNECTION),
    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=[Redacted];EndpointSuffix=core.windows.net",
  );
  assert.equal(
    redactText(`key: ${PEM} end`),
    "key: -----BEGIN PRIVATE KEY-----[Redacted]-----END PRIVATE KEY----- end",
  );
  assert.equal(
    redactText("https://acct.queue.core.windows.net/q?sv=2024&sig=abc%2Fdef&se=1"),
    "https://acct.queue.core.windows.net/q?sv=2024&sig=[Redacted]&se=1",
  );
  assert.equal(redactText("Set-Mailbox failed for alice@contoso.com"), "Set-Mailbox failed for alice@contoso.com");
});

test("the root logger redacts by key and by shape, everywhere in the record", () => {
  const sink = capture();
  const logger = createRootLogger({ level: "debug", destination: sink.destination });
  logger.info(
    {
      request: { headers: { authorization: "Bearer abcdefghijkl", "client-request-id": "c-1" } },
      access_token: "plain-token-value",
      config: { clientSecret: "s3cr3t", storage: CONNECTION },
      nested: { deeper: { token: "t0k3n" } },
      certificate: PEM,
    },
    `calling with Bearer ${JWT}`,
  );
  logger.error({ err: new Error(`connection failed: ${CONNECTION}`) }, "boom");
  const raw = sink.raw();
  for (const secret of [
    "abcdefghijkl",
    "plain-token-value",
    "s3cr3t",
    "c2VjcmV0a2V5MTIzNDU2Nzg5MA==",
    "t0k3n",
    "MIGHAgEAMBMG",
    JWT,
  ]) {
    assert.ok(!raw.includes(secret), `leaked ${secret}`);
  }
  const [first, second] = sink.lines();
  assert.equal(
    (first?.["request"] as { headers: Record<string, string> }).headers["client-request-id"],
    "c-1",
    "non-secrets kept",
  );
  assert.equal(first?.["msg"], "calling with Bearer [Redacted]");
  assert.equal((first?.["config"] as Record<string, string>)["clientSecret"], "[Redacted]");
  assert.match(String((second?.["err"] as { message: string }).message), /AccountKey=\[Redacted\]/);
  assert.ok((second?.["err"] as { stack?: string }).stack, "errors are serialised with their stack");
});

test("the level gates output", () => {
  const sink = capture();
  const logger = createRootLogger({ level: "warn", destination: sink.destination });
  logger.info("hidden");
  logger.warn("shown");
  assert.deepEqual(
    sink.lines().map((line) => line["msg"]),
    ["shown"],
  );
});

test("contextMethodFor maps pino levels to InvocationContext methods", () => {
  assert.deepEqual([10, 20, 30, 40, 50, 60].map(contextMethodFor), [
    "trace",
    "debug",
    "info",
    "warn",
    "error",
    "error",
  ]);
});

test("the invocation logger forwards redacted lines to the InvocationContext with its bindings", () => {
  const received: { level: string; args: unknown[] }[] = [];
  const context = new InvocationContext({
    invocationId: "inv-42",
    functionName: "auditSweep",
    logHandler: (level, ...args) => received.push({ level, args }),
  });
  const logger = createInvocationLogger(context, { runId: "run-7", tenant: "contoso.onmicrosoft.com" }, "debug");
  logger.info({ mailbox: "m-1" }, "remediated");
  logger.warn({ authorization: "Bearer zzzzzzzzzzzz" }, "throttled");
  logger.error("failed");
  logger.debug("detail");
  assert.deepEqual(
    received.map((entry) => entry.level),
    ["information", "warning", "error", "debug"],
  );
  const first = JSON.parse(String(received[0]?.args[0])) as Record<string, unknown>;
  assert.equal(first["invocationId"], "inv-42");
  assert.equal(first["functionName"], "auditSweep");
  assert.equal(first["runId"], "run-7");
  assert.equal(first["tenant"], "contoso.onmicrosoft.com");
  assert.equal(first["mailbox"], "m-1");
  assert.equal(first["msg"], "remediated");
  assert.ok(!String(received[1]?.args[0]).includes("zzzzzzzzzzzz"));
});

function stream(): { destination: Writable; text: () => string } {
  let text = "";
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  return { destination, text: () => text };
}

test("createCliLogger writes readable, still redacted lines for a terminal and JSON otherwise", () => {
  const readable = stream();
  createCliLogger("info", { pretty: true, destination: readable.destination }).warn(
    { tenant: "contoso", token: JWT },
    "no Table Storage configured",
  );
  assert.match(readable.text(), /WARN.*no Table Storage configured/);
  assert.match(readable.text(), /tenant: "contoso"/);
  assert.ok(!readable.text().includes(JWT), "the token is redacted");
  assert.throws(() => JSON.parse(readable.text()) as unknown);

  const json = stream();
  createCliLogger("info", { pretty: false, destination: json.destination }).warn(
    { token: JWT },
    "no Table Storage configured",
  );
  const line = JSON.parse(json.text()) as Record<string, unknown>;
  assert.equal(line["msg"], "no Table Storage configured");
  assert.equal(line["token"], "[Redacted]");
});
