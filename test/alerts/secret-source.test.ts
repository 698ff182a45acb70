import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  cachedSecretSource,
  createSecretSource,
  environmentSecretSource,
  keyVaultSecretSource,
  secretVariableName,
  type SecretSource,
} from "../../shared/alerts/secret-source";

/** Counts reads; each read returns `value-<n>` so a re-read is visible. */
function countingSource(): SecretSource & { reads: number; failNext: boolean } {
  const source = {
    reads: 0,
    failNext: false,
    getSecret(name: string): Promise<string> {
      source.reads += 1;
      if (source.failNext) {
        source.failNext = false;
        return Promise.reject(new Error("vault unavailable"));
      }
      return Promise.resolve(`${name}-value-${source.reads}`);
    },
  };
  return source;
}

describe("cachedSecretSource", () => {
  it("reuses a value within the TTL and reads again after it", async () => {
    let nowInMs = 1_000;
    const inner = countingSource();
    const cached = cachedSecretSource(inner, { ttlInMs: 60_000, nowInMs: () => nowInMs });
    assert.equal(await cached.getSecret("hook"), "hook-value-1");
    nowInMs += 59_999;
    assert.equal(await cached.getSecret("hook"), "hook-value-1");
    assert.equal(inner.reads, 1);
    nowInMs += 1;
    assert.equal(await cached.getSecret("hook"), "hook-value-2");
    assert.equal(inner.reads, 2);
  });

  it("caches per secret name", async () => {
    const inner = countingSource();
    const cached = cachedSecretSource(inner, { ttlInMs: 60_000 });
    await cached.getSecret("a");
    await cached.getSecret("b");
    await cached.getSecret("a");
    assert.equal(inner.reads, 2);
  });

  it("concurrent reads share one fetch", async () => {
    const inner = countingSource();
    const cached = cachedSecretSource(inner, { ttlInMs: 60_000 });
    const values = await Promise.all([cached.getSecret("hook"), cached.getSecret("hook"), cached.getSecret("hook")]);
    assert.deepEqual(new Set(values), new Set(["hook-value-1"]));
    assert.equal(inner.reads, 1);
  });

  it("does not cache a failure", async () => {
    const inner = countingSource();
    inner.failNext = true;
    const cached = cachedSecretSource(inner, { ttlInMs: 60_000 });
    await assert.rejects(cached.getSecret("hook"), /vault unavailable/);
    assert.equal(await cached.getSecret("hook"), "hook-value-2");
  });
});

describe("keyVaultSecretSource", () => {
  it("returns the secret's value and rejects a secret without one", async () => {
    const requested: string[] = [];
    const source = keyVaultSecretSource({
      getSecret: (name: string) => {
        requested.push(name);
        return Promise.resolve({
          name,
          value: name === "empty" ? undefined : "https://hooks.example/x",
          properties: { name, vaultUrl: "https://kv" },
        });
      },
    });
    assert.equal(await source.getSecret("alert-webhook-url"), "https://hooks.example/x");
    await assert.rejects(source.getSecret("empty"), /has no value/);
    assert.deepEqual(requested, ["alert-webhook-url", "empty"]);
  });
});

describe("environmentSecretSource", () => {
  it("maps the secret name to a variable", () => {
    assert.equal(secretVariableName("alert-webhook-url"), "ALERT_WEBHOOK_URL");
  });

  it("reads the variable, else the file it names, else fails naming both", async () => {
    const directory = await mkdtemp(join(tmpdir(), "secret-"));
    try {
      const file = join(directory, "hook");
      await writeFile(file, "https://hooks.example/from-file\n");
      assert.equal(
        await environmentSecretSource({ ALERT_WEBHOOK_URL: "https://hooks.example/env" }).getSecret(
          "alert-webhook-url",
        ),
        "https://hooks.example/env",
      );
      assert.equal(
        await environmentSecretSource({ ALERT_WEBHOOK_URL_FILE: file }).getSecret("alert-webhook-url"),
        "https://hooks.example/from-file",
      );
      await assert.rejects(
        environmentSecretSource({}).getSecret("alert-webhook-url"),
        /ALERT_WEBHOOK_URL or ALERT_WEBHOOK_URL_FILE/,
      );
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe("createSecretSource", () => {
  it("without a vault: the environment, cached", async () => {
    const env: Record<string, string> = { ALERT_WEBHOOK_URL: "https://hooks.example/one" };
    const source = createSecretSource({ env, ttlInMs: 60_000 });
    assert.equal(await source.getSecret("alert-webhook-url"), "https://hooks.example/one");
    env["ALERT_WEBHOOK_URL"] = "https://hooks.example/two";
    assert.equal(await source.getSecret("alert-webhook-url"), "https://hooks.example/one");
  });

  it("a vault needs a credential", () => {
    assert.throws(() => createSecretSource({ vaultUrl: "https://kv.vault.azure.net" }), TypeError);
  });
});
