import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { OutcomeLinesStore, withOutFile } from "../../cli/outcome-lines";
import type { TargetOutcome } from "../../shared/domain/outcome";
import type { EnforcementServices } from "../../shared/enforcement";
import { MemoryOutcomeStore } from "../../shared/storage/memory-outcome-store";

const TENANT = "contoso.onmicrosoft.com";
const STARTED = "2026-06-01T00:00:00.000Z";

function outcomes(count: number, prefix = "m"): TargetOutcome[] {
  return Array.from({ length: count }, (_, index) => ({
    kind: "mailbox",
    targetId: `${prefix}${index}`,
    displayName: `user${index}@contoso.com`,
    status: "compliant",
    findings: [],
  }));
}

describe("OutcomeLinesStore", () => {
  it("writes each chunk as JSON lines before the store records it, and records what the store would", async () => {
    const events: string[] = [];
    const inner = new MemoryOutcomeStore();
    const record = inner.recordOutcomes.bind(inner);
    inner.recordOutcomes = (...args) => {
      events.push(`record ${args[3].length}`);
      return record(...args);
    };
    const writes: string[] = [];
    const store = new OutcomeLinesStore(inner, {
      write: (text) => {
        events.push(`write ${text.split("\n").length - 1}`);
        writes.push(text);
        return Promise.resolve();
      },
    });
    await store.recordOutcomes(TENANT, "r1", STARTED, outcomes(3));
    await store.recordOutcomes(TENANT, "r1", STARTED, []);
    await store.recordOutcomes(TENANT, "r1", STARTED, outcomes(2, "n"));
    assert.deepEqual(events, ["write 3", "record 3", "record 0", "write 2", "record 2"]);
    assert.equal(store.lineCount, 5);
    const lines = writes.join("").trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(lines[0], { tenantId: TENANT, runId: "r1", runStartedAt: STARTED, ...outcomes(1)[0] });
    let latest = 0;
    for await (const recorded of store.listLatest(TENANT)) latest += recorded.runId === "r1" ? 1 : 0;
    assert.equal(latest, 5, "reads go to the wrapped store");
  });

  it("a write that fails fails the recording and the store is not asked (the run then stops changing)", async () => {
    const inner = new MemoryOutcomeStore();
    const store = new OutcomeLinesStore(inner, { write: () => Promise.reject(new Error("ENOSPC")) });
    await assert.rejects(store.recordOutcomes(TENANT, "r1", STARTED, outcomes(1)), /ENOSPC/);
    assert.equal(store.lineCount, 0);
    for await (const recorded of inner.listLatest(TENANT)) assert.fail(`recorded ${recorded.targetId}`);
  });
});

describe("withOutFile", async () => {
  const directory = await mkdtemp(join(tmpdir(), "outcome-lines-"));
  after(() => rm(directory, { recursive: true, force: true }));
  const services = { store: new MemoryOutcomeStore() } as unknown as EnforcementServices;

  it("without a path, the services as they are", async () => {
    const out = await withOutFile(services, undefined);
    assert.equal(out.services, services);
    assert.equal(out.lines, undefined);
    await out.close();
  });

  it("with a path, truncates the file and writes through the store", async () => {
    const path = join(directory, "out.jsonl");
    const out = await withOutFile(services, path);
    await out.services.store.recordOutcomes(TENANT, "r1", STARTED, outcomes(2));
    await out.close();
    assert.equal((await readFile(path, "utf8")).split("\n").filter(Boolean).length, 2);
    const again = await withOutFile(services, path);
    await again.close();
    assert.equal(await readFile(path, "utf8"), "", "a new run starts the file afresh");
  });

  it("a path that cannot be written is refused before the run, naming it", async () => {
    const path = join(directory, "missing", "out.jsonl");
    await assert.rejects(withOutFile(services, path), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.equal(error.message, `--out ${path}: cannot be written (ENOENT)`);
      return true;
    });
  });
});
