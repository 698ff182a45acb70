/**
 * The one credential factory. The token credential the tenant clients (Exchange, Graph) use, chosen from the
 * configuration:
 * - in Azure (App Service / Functions set IDENTITY_ENDPOINT + IDENTITY_HEADER; so does the local emulator):
 *   `ManagedIdentityCredential`, user-assigned when AZURE_CLIENT_ID is set;
 * - elsewhere (the CLI against a real tenant): the app registration's certificate (`ClientCertificateCredential`),
 *   PEM read from AZURE_CLIENT_CERTIFICATE_PATH or from a Key Vault secret.
 * And the app's own identity for its own resources (`appIdentityCredential`).
 */
import { readFile } from "node:fs/promises";
import type { TokenCredential } from "@azure/core-auth";
import { ClientCertificateCredential, DefaultAzureCredential, ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import type { AppConfig } from "./config";

/** No usable credential could be built from the configuration. */
export class CredentialConfigError extends Error {
  override readonly name = "CredentialConfigError";
}

export interface CredentialDependencies {
  /** Reads a Key Vault secret's value; default: `SecretClient` with `DefaultAzureCredential`. */
  readonly readKeyVaultSecret?: (vaultUrl: string, secretName: string) => Promise<string | undefined>;
  readonly readTextFile?: (path: string) => Promise<string>;
}

/**
 * The app's own identity, for its own resources (Storage, Key Vault: in the app's tenant, whichever tenant a run is
 * for): the managed identity in Azure (user-assigned when `clientId` is set), else the environment's default chain
 * (a developer's or administrator's own sign-in).
 */
export function appIdentityCredential(identity: { readonly managedIdentity: boolean; readonly clientId?: string | undefined }): TokenCredential {
  if (!identity.managedIdentity) return new DefaultAzureCredential();
  return identity.clientId ? new ManagedIdentityCredential({ clientId: identity.clientId }) : new ManagedIdentityCredential();
}

export async function createCredential(
  config: AppConfig,
  dependencies: CredentialDependencies = {},
): Promise<TokenCredential> {
  if (config.managedIdentity) return appIdentityCredential({ managedIdentity: true, clientId: config.azureClientId });
  const source = config.certificate;
  if (!source || !config.azureClientId) {
    throw new CredentialConfigError(
      "No credential configured: run in Azure with a managed identity (IDENTITY_ENDPOINT/IDENTITY_HEADER), or set AZURE_CLIENT_ID " +
        "with AZURE_CLIENT_CERTIFICATE_PATH or KEY_VAULT_URL + CERTIFICATE_SECRET_NAME.",
    );
  }
  let pem: string | undefined;
  let origin: string;
  if (source.kind === "file") {
    origin = `certificate file ${source.path}`;
    try {
      pem = await (dependencies.readTextFile ?? ((path) => readFile(path, "utf8")))(source.path);
    } catch (error) {
      throw new CredentialConfigError(`Cannot read the ${origin}: ${(error as Error).message}`);
    }
  } else {
    origin = `Key Vault secret ${source.secretName} in ${source.vaultUrl}`;
    try {
      const read = dependencies.readKeyVaultSecret ?? ((vaultUrl: string, secretName: string) => readKeyVaultSecret(vaultUrl, secretName, appIdentityCredential({ managedIdentity: false })));
      pem = await read(source.vaultUrl, source.secretName);
    } catch (error) {
      throw new CredentialConfigError(`Cannot read the ${origin}: ${(error as Error).message}`);
    }
  }
  if (
    !pem ||
    !/-----BEGIN CERTIFICATE-----/.test(pem) ||
    !/-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(pem)
  ) {
    throw new CredentialConfigError(`The ${origin} must be PEM holding both the certificate and its private key.`);
  }
  return new ClientCertificateCredential(config.tenantId, config.azureClientId, { certificate: pem });
}

async function readKeyVaultSecret(vaultUrl: string, secretName: string, credential: TokenCredential): Promise<string | undefined> {
  const secret = await new SecretClient(vaultUrl, credential).getSecret(secretName);
  return secret.value;
}

/** The extra CA PEM to trust (EXTRA_CA_CERT_PATH), if configured. */
export async function readExtraCaPem(config: Pick<AppConfig, "extraCaCertPath">): Promise<string | undefined> {
  if (!config.extraCaCertPath) return undefined;
  const pem = await readFile(config.extraCaCertPath, "utf8");
  if (!pem.includes("-----BEGIN CERTIFICATE-----"))
    throw new CredentialConfigError(`EXTRA_CA_CERT_PATH ${config.extraCaCertPath} is not a PEM certificate.`);
  return pem;
}
