import { readFile } from "node:fs/promises";
import type { TokenCredential } from "@azure/core-auth";
import { SecretClient } from "@azure/keyvault-secrets";

/**
 * Port: where secrets (the alert webhook URL) come from. Key Vault in Azure; an environment variable or a
 * file for local development. Values are never logged.
 */
export interface SecretSource {
  /** The current value of the named secret; rejects when it does not exist or has no value. */
  getSecret(name: string): Promise<string>;
}

/** Key Vault, through the SDK's `SecretClient` (authenticated with the app's managed identity). */
export function keyVaultSecretSource(client: Pick<SecretClient, "getSecret">): SecretSource {
  return {
    async getSecret(name) {
      const secret = await client.getSecret(name);
      if (!secret.value) throw new Error(`Key Vault secret ${name} has no value`);
      return secret.value;
    },
  };
}

/** `alert-webhook-url` -> `ALERT_WEBHOOK_URL`. */
export function secretVariableName(secretName: string): string {
  return secretName.toUpperCase().replace(/[^A-Z0-9]+/g, "_");
}

/**
 * Development alternative to Key Vault: secret `alert-webhook-url` is the value of `ALERT_WEBHOOK_URL`, or the
 * trimmed content of the file named by `ALERT_WEBHOOK_URL_FILE` (kept out of shell history and settings files).
 */
export function environmentSecretSource(env: Readonly<Record<string, string | undefined>> = process.env): SecretSource {
  return {
    async getSecret(name) {
      const variable = secretVariableName(name);
      const value = env[variable];
      if (value) return value;
      const file = env[`${variable}_FILE`];
      if (file) {
        const content = (await readFile(file, "utf8")).trim();
        if (content) return content;
        throw new Error(`Secret file for ${name} (${variable}_FILE) is empty`);
      }
      throw new Error(`Secret ${name} is not set: set ${variable} or ${variable}_FILE`);
    },
  };
}

export interface CachedSecretSourceOptions {
  /** How long a value is reused before it is read again (rotation takes effect within this time). */
  readonly ttlInMs: number;
  /** Clock in epoch ms (tests). */
  readonly nowInMs?: () => number;
}

export const DEFAULT_SECRET_TTL_IN_MS = 5 * 60_000;

/**
 * Caches another source's values for `ttlInMs`. Concurrent reads of the same secret share one fetch; a failed
 * fetch is not cached, so the next read tries again.
 */
export function cachedSecretSource(inner: SecretSource, options: CachedSecretSourceOptions): SecretSource {
  const nowInMs = options.nowInMs ?? Date.now;
  const cache = new Map<string, { readonly value: Promise<string>; readonly fetchedAtInMs: number }>();
  return {
    getSecret(name) {
      const cached = cache.get(name);
      if (cached && nowInMs() - cached.fetchedAtInMs < options.ttlInMs) return cached.value;
      const value = inner.getSecret(name);
      const entry = { value, fetchedAtInMs: nowInMs() };
      cache.set(name, entry);
      value.catch(() => {
        if (cache.get(name) === entry) cache.delete(name);
      });
      return value;
    },
  };
}

export interface SecretSourceOptions {
  /** `https://<vault>.vault.azure.net`; when absent, secrets come from the environment (development). */
  readonly vaultUrl?: string;
  /** Required with `vaultUrl`: the app's managed identity. */
  readonly credential?: TokenCredential;
  /** Default 5 minutes. */
  readonly ttlInMs?: number;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The app's secret source: Key Vault when a vault is configured, else the environment; cached either way. */
export function createSecretSource(options: SecretSourceOptions): SecretSource {
  let inner: SecretSource;
  if (options.vaultUrl) {
    if (!options.credential) throw new TypeError("A Key Vault secret source needs a credential");
    inner = keyVaultSecretSource(new SecretClient(options.vaultUrl, options.credential));
  } else {
    inner = environmentSecretSource(options.env);
  }
  return cachedSecretSource(inner, { ttlInMs: options.ttlInMs ?? DEFAULT_SECRET_TTL_IN_MS });
}
