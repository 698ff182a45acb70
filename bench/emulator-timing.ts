/**
 * Timing of the tenant emulator itself, kept out of the test suite (tests assert behaviour, never wall-clock
 * durations): how long generating a 100,000-mailbox tenant takes, and that injected latency is paid per execution
 * (a call with latency L takes at least L, a batch of n sub-requests at least n x L, and a call at latency 0 is much
 * faster). Prints one line per measurement and exits 1 when one is outside its bound on this machine.
 *
 * Usage: npm run bench:emulator
 */
import { performance } from "node:perf_hooks";
import { generateTenant } from "../emulator/generate";
import { startEmulator, type RunningEmulator } from "../emulator/server";
import { request as httpsRequest } from "node:https";
import { issueAccessToken, EXCHANGE_AUDIENCE } from "../emulator/access-token";

interface Measurement {
  readonly name: string;
  readonly valueInMs: number;
  readonly bound: string;
  readonly ok: boolean;
}

function time<T>(work: () => T): [T, number] {
  const started = performance.now();
  const result = work();
  return [result, performance.now() - started];
}

async function timeAsync(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

function invoke(emulator: RunningEmulator, body: unknown, path = "InvokeCommand"): Promise<number> {
  const { token } = issueAccessToken({ resource: EXCHANGE_AUDIENCE, clientId: "bench" });
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      `${emulator.exchangeBaseUrl}/adminapi/beta/${emulator.tenantId}/${path}`,
      { method: "POST", ca: emulator.caCertificatePem, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(payload);
  });
}

async function main(): Promise<void> {
  const results: Measurement[] = [];
  const [tenant, generationInMs] = time(() =>
    generateTenant({ seed: 1, counts: { user: 90_000, shared: 5_000, room: 3_000, equipment: 1_000, group: 1_000 }, driftShare: 0.1, auditPremiumShare: 0.3 }),
  );
  results.push({ name: `generate ${tenant.mailboxes.size} mailboxes`, valueInMs: generationInMs, bound: "< 4000 ms", ok: generationInMs < 4_000 });

  const emulator = await startEmulator({ tenant: generateTenant({ seed: 2, counts: { user: 3 } }) });
  try {
    const getOrganization = { CmdletInput: { CmdletName: "Get-OrganizationConfig", Parameters: {} } };
    await invoke(emulator, getOrganization); // warm up (TLS, token)
    emulator.faults.setLatency(400);
    const slowInMs = await timeAsync(() => invoke(emulator, getOrganization));
    emulator.faults.setLatency(0);
    const fastInMs = await timeAsync(() => invoke(emulator, getOrganization));
    results.push({ name: "call at latency 400 ms", valueInMs: slowInMs, bound: ">= 395 ms", ok: slowInMs >= 395 });
    results.push({ name: "call at latency 0", valueInMs: fastInMs, bound: `< slow - 200 ms (${(slowInMs - 200).toFixed(0)})`, ok: fastInMs < slowInMs - 200 });

    emulator.faults.setLatency(60);
    const subRequest = (id: string) => ({
      id,
      method: "POST",
      url: `${emulator.exchangeBaseUrl}/adminapi/beta/${emulator.tenantId}/InvokeCommand`,
      headers: { "content-type": "application/json" },
      body: getOrganization,
    });
    const batchInMs = await timeAsync(() => invoke(emulator, { requests: ["1", "2", "3"].map(subRequest) }, "$batch"));
    emulator.faults.setLatency(0);
    results.push({ name: "batch of 3 sub-requests at latency 60 ms", valueInMs: batchInMs, bound: ">= 175 ms", ok: batchInMs >= 175 });
  } finally {
    await emulator.stop();
  }

  for (const result of results) {
    console.log(`${result.ok ? "ok  " : "FAIL"} ${result.name}: ${result.valueInMs.toFixed(0)} ms (${result.bound})`);
  }
  if (results.some((result) => !result.ok)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
