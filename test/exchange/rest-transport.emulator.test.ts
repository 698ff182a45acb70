/** RestExchangeTransport against the local tenant emulator over HTTPS with the real ManagedIdentityCredential. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ManagedIdentityCredential } from "@azure/identity";
import type { RunningEmulator } from "../../emulator/server";
import { ExchangeError } from "../../shared/exchange/errors";
import {
  isNoChangeWarning,
  type ExchangeCall,
  RestExchangeTransport,
  type RestExchangeTransportOptions,
} from "../../shared/exchange/rest-transport";
import { createEmptyTenant, withEmulator } from "../support/emulator";
import { NO_CHANGE_WARNING, testCmdlets } from "../support/emulator-test-cmdlets";
import { staticCredential } from "../http/local-https-server";

describe("RestExchangeTransport against the emulator", async () => {
  const emulator: RunningEmulator = await withEmulator(createEmptyTenant(), { cmdlets: testCmdlets });
  Object.assign(process.env, emulator.env());
  const credential = new ManagedIdentityCredential();

  function transport(overrides: Partial<RestExchangeTransportOptions> = {}): RestExchangeTransport {
    return new RestExchangeTransport({
      tenantId: emulator.tenantId,
      baseUrl: emulator.exchangeBaseUrl,
      credential,
      extraCaPem: emulator.caCertificatePem,
      retryBudget: { baseDelayInMs: 20, maxDelayInMs: 100 },
      ...overrides,
    });
  }

  /** A `retryDelay` that records each decided wait and retries at once. */
  function recordedDelay(delays: number[]): (decidedDelayInMs: number) => number {
    return (decided) => {
      delays.push(decided);
      return 0;
    };
  }

  function exchangeFaultsCleared(): void {
    emulator.faults.clear();
    emulator.faults.setLatency(0);
  }

  it("pages through output page by page with $select, counting every page as a call", async () => {
    exchangeFaultsCleared();
    const client = transport();
    const pages: Record<string, unknown>[][] = [];
    for await (const page of client.pages(
      { cmdlet: "Get-TestItem", parameters: { Count: 25 }, select: ["Identity", "Index"] },
      { pageSize: 10 },
    )) {
      pages.push(page);
    }
    assert.deepEqual(
      pages.map((page) => page.length),
      [10, 10, 5],
    );
    assert.deepEqual(
      pages.flat().map((item) => item["Index"]),
      Array.from({ length: 25 }, (_, index) => index),
    );
    assert.deepEqual(Object.keys(pages[0]?.[0] ?? {}).sort(), ["Identity", "Index"]);
    assert.deepEqual(client.callCounts(), { "Get-TestItem": 3 });
    const result = await client.invoke({ cmdlet: "Get-TestItem", parameters: { Count: 2500 } });
    assert.equal(result.value.length, 2500);
    assert.equal(client.callCounts()["Get-TestItem"], 6, "1000 + 1000 + 500");
    assert.ok(result.requestId, "request-id of the last call");
  });

  it("sends a client-request-id the emulator records", async () => {
    exchangeFaultsCleared();
    const before = emulator.calls.records.length;
    const calls: ExchangeCall[] = [];
    await transport({ onCall: (call) => calls.push(call) }).invoke({
      cmdlet: "Get-TestItem",
      parameters: { Count: 1 },
    });
    const record = emulator.calls.records[before];
    assert.equal(record?.cmdlet, "Get-TestItem");
    assert.match(record?.clientRequestId ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.cmdlet, "Get-TestItem");
    assert.equal(calls[0]?.status, 200);
    assert.equal(calls[0]?.clientRequestId, record?.clientRequestId);
    assert.ok(calls[0]?.requestId, "Exchange's request-id is reported");
  });

  it("the 'no settings modified' warning is success", async () => {
    exchangeFaultsCleared();
    const result = await transport().invoke({
      cmdlet: "Set-TestItem",
      parameters: { Identity: "alpha", Enabled: true },
    });
    assert.deepEqual(result.value, []);
    assert.deepEqual(result.warnings, [NO_CHANGE_WARNING("alpha")]);
    assert.ok(result.warnings.every(isNoChangeWarning));
  });

  it("a cmdlet failure becomes an ExchangeError parsed from details[0].message", async () => {
    exchangeFaultsCleared();
    const error = await transport()
      .invoke({ cmdlet: "Set-TestItem", parameters: { Identity: "missing" } })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    assert.ok(error instanceof ExchangeError);
    assert.equal(error.errorId, "ManagementObjectNotFound");
    assert.equal(error.exceptionType, "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException");
    assert.match(error.text, /couldn't be found/);
    assert.equal(error.status, 404);
    assert.equal(error.cmdlet, "Set-TestItem");
    assert.ok(error.requestId);
  });

  it("an unknown cmdlet is an ExchangeError", async () => {
    exchangeFaultsCleared();
    await assert.rejects(transport().invoke({ cmdlet: "Get-Nothing" }), (error: unknown) => {
      assert.ok(error instanceof ExchangeError);
      assert.equal(error.exceptionType, "System.Management.Automation.CommandNotFoundException");
      assert.equal(error.status, 400);
      return true;
    });
  });

  it("a rejected token (non-JSON 401) is an ExchangeError naming the permission", async () => {
    exchangeFaultsCleared();
    await assert.rejects(
      transport({ credential: staticCredential("not-a-real-token") }).invoke({ cmdlet: "Get-TestItem" }),
      (error: unknown) => {
        assert.ok(error instanceof ExchangeError);
        assert.equal(error.status, 401);
        assert.equal(error.errorId, "Http401");
        assert.match(error.text, /Exchange\.ManageAsApp/);
        return true;
      },
    );
  });

  it("honours Retry-After on a throttled call", async () => {
    exchangeFaultsCleared();
    emulator.faults.add({ cmdlet: "Get-TestItem", status: 429, retryAfterInSeconds: 1, times: 1 });
    // The wait the retry policy decided, observed instead of slept (the budget's own backoff is at most 100 ms).
    const delays: number[] = [];
    const client = transport({ retryDelay: recordedDelay(delays) });
    const result = await client.invoke({ cmdlet: "Get-TestItem", parameters: { Count: 3 } });
    assert.equal(result.value.length, 3);
    assert.deepEqual(delays, [1_000]);
    assert.equal(client.callCounts()["Get-TestItem"], 2);
  });

  it("retries transient 5xx and a timed-out attempt", async () => {
    exchangeFaultsCleared();
    emulator.faults.add({ cmdlet: "Get-TestItem", status: 503, times: 1 });
    emulator.faults.add({ cmdlet: "Get-TestItem", status: 500, times: 1 });
    emulator.faults.add({ cmdlet: "Get-TestItem", kind: "timeout", times: 1 });
    const client = transport({ timeoutInMs: 300 });
    const result = await client.invoke({ cmdlet: "Get-TestItem", parameters: { Count: 1 } });
    assert.equal(result.value.length, 1);
    assert.equal(client.callCounts()["Get-TestItem"], 4);
  });

  it("gives up with the last error when the budget is spent", async () => {
    exchangeFaultsCleared();
    emulator.faults.add({ cmdlet: "Get-TestItem", status: 503, times: 10 });
    const client = transport({ retryBudget: { maxRetries: 2, baseDelayInMs: 5, maxDelayInMs: 10 } });
    await assert.rejects(client.invoke({ cmdlet: "Get-TestItem" }), { name: "ExchangeError", status: 503 });
    assert.equal(client.callCounts()["Get-TestItem"], 3);
    exchangeFaultsCleared();
  });

  it("$batch: splits into envelopes of 10, retries only throttled sub-requests, returns results in order", async () => {
    exchangeFaultsCleared();
    emulator.faults.add({ cmdlet: "Get-TestEcho", status: 429, retryAfterInSeconds: 1, times: 2, inBatch: true });
    emulator.faults.add({ cmdlet: "Get-TestItem", status: 503, times: 1, inBatch: true });
    const requests = Array.from({ length: 23 }, (_, index) =>
      index % 5 === 0
        ? { cmdlet: "Set-TestItem", parameters: { Identity: "missing" } }
        : index % 5 === 1
          ? { cmdlet: "Get-TestEcho", parameters: { Identity: `echo-${index}` } }
          : index % 5 === 2
            ? { cmdlet: "Get-TestItem", parameters: { Count: 1 } }
            : { cmdlet: "Set-TestItem", parameters: { Identity: `id-${index}` } },
    );
    const delays: number[] = [];
    const client = transport({ retryDelay: recordedDelay(delays), random: () => 0.5 });
    const before = emulator.calls.records.length;
    const results = await client.batch(requests);
    // Each throttled Get-TestEcho waits its sub-response's Retry-After; the 503 without one backs off (10 + 0.5 * 10).
    assert.deepEqual(
      [...delays].sort((a, b) => a - b),
      [15, 1_000, 1_000],
    );
    assert.equal(results.length, 23);
    results.forEach((result, index) => {
      if (index % 5 === 0) {
        assert.equal(result.ok, false, `request ${index}`);
        if (!result.ok) {
          assert.equal(result.error.errorId, "ManagementObjectNotFound");
          assert.equal(result.error.status, 404);
          assert.equal(result.error.cmdlet, "Set-TestItem");
        }
      } else {
        assert.equal(result.ok, true, `request ${index}`);
        if (!result.ok) return;
        if (index % 5 === 1) assert.equal(result.result.value[0]?.["Identity"], `echo-${index}`);
        if (index % 5 === 2) assert.equal(result.result.value.length, 1);
        if (index % 5 >= 3) assert.deepEqual(result.result.warnings, [NO_CHANGE_WARNING(`id-${index}`)]);
      }
    });
    const served = emulator.calls.records.slice(before);
    assert.equal(served.filter((call) => call.status === 429).length, 2);
    assert.equal(served.filter((call) => call.status === 503).length, 1);
    // Only the 3 throttled/transient sub-requests ran twice; the 404s were final.
    assert.equal(served.length, 23 + 3);
    assert.equal(served.filter((call) => call.cmdlet === "Set-TestItem" && call.status === 404).length, 5);
    assert.equal(client.callCounts()["$batch"], 4, "3 envelopes of 10/10/3, then one retry envelope");
  });

  it("$batch: a sub-request throttled beyond the budget is reported as failed", async () => {
    exchangeFaultsCleared();
    emulator.faults.add({ cmdlet: "Get-TestEcho", status: 503, times: 10, inBatch: true });
    const results = await transport({ retryBudget: { maxRetries: 1, baseDelayInMs: 5, maxDelayInMs: 10 } }).batch([
      { cmdlet: "Get-TestEcho", parameters: { Identity: "a" } },
      { cmdlet: "Get-TestItem", parameters: { Count: 2 } },
    ]);
    assert.equal(results[0]?.ok, false);
    if (results[0]?.ok === false) assert.equal(results[0].error.status, 503);
    assert.equal(results[1]?.ok, true);
    exchangeFaultsCleared();
  });

  it("never exceeds the per-tenant concurrency limit across transports and batches", async () => {
    exchangeFaultsCleared();
    emulator.faults.setLatency({ min: 5, max: 25 });
    const first = transport({ maxConcurrency: 3 });
    const second = transport({ maxConcurrency: 3 });
    const before = emulator.calls.records.length;
    await Promise.all([
      ...Array.from({ length: 20 }, (_, index) =>
        (index % 2 ? first : second).invoke({ cmdlet: "Get-TestItem", parameters: { Count: 15 } }, {}),
      ),
      ...Array.from({ length: 5 }, (_, index) => {
        const pages = first.pages({ cmdlet: "Get-TestItem", parameters: { Count: 30 } }, { pageSize: 10 });
        return pages[Symbol.asyncIterator]().next().then(() => index);
      }),
      first.batch(Array.from({ length: 25 }, () => ({ cmdlet: "Get-TestItem", parameters: { Count: 1 } }))),
    ]);
    assert.ok(emulator.maxObservedConcurrency >= 2, "the calls did overlap");
    assert.ok(emulator.maxObservedConcurrency <= 3, `peak ${emulator.maxObservedConcurrency}`);
    assert.equal(
      emulator.calls.records.slice(before).filter((call) => call.status === 429).length,
      0,
      "never refused for concurrency",
    );
    exchangeFaultsCleared();
  });

  it("holds the configured limit even where the service would allow more", async () => {
    const roomy = await withEmulator(createEmptyTenant(), {
      cmdlets: testCmdlets,
      maxConcurrentRequestsPerTenant: 100,
      latencyInMs: { min: 5, max: 20 },
    });
    const options = { tenantId: roomy.tenantId, baseUrl: roomy.exchangeBaseUrl, extraCaPem: roomy.caCertificatePem };
    const first = transport({ ...options, maxConcurrency: 2 });
    const second = transport({ ...options, maxConcurrency: 2 });
    await Promise.all(
      Array.from({ length: 16 }, (_, index) =>
        (index % 2 ? first : second).invoke({ cmdlet: "Get-TestItem", parameters: { Count: 25 } }, {}),
      ),
    );
    assert.equal(roomy.maxObservedConcurrency, 2);
  });
});
