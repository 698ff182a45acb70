import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClientCertificateCredential, ManagedIdentityCredential } from "@azure/identity";
import { generateServerCertificate } from "../../emulator/certificate";
import { loadConfig } from "../../shared/config";
import { createCredential, CredentialConfigError, readExtraCaPem } from "../../shared/credentials";
import { EXCHANGE_SCOPE } from "../../shared/exchange/rest-transport";
import { withEmulator } from "../support/emulator";

const TENANT = "contoso.onmicrosoft.com";
const CLIENT = "6f1a2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b";

describe("createCredential", async () => {
  const { certificatePem, privateKeyPem } = await generateServerCertificate();
  const directory = await mkdtemp(join(tmpdir(), "credentials-"));
  const pemPath = join(directory, "app.pem");
  await writeFile(pemPath, `${certificatePem}\n${privateKeyPem}`);
  const caPath = join(directory, "ca.pem");
  await writeFile(caPath, certificatePem);

  it("uses the managed identity where the platform provides one, and it gets tokens from the endpoint", async () => {
    const emulator = await withEmulator();
    const config = loadConfig(emulator.env(), { requireStorage: false });
    const credential = await createCredential(config);
    assert.ok(credential instanceof ManagedIdentityCredential);
    Object.assign(process.env, emulator.env());
    const token = await credential.getToken(EXCHANGE_SCOPE);
    assert.ok(token && token.token.length > 20);
  });

  it("uses a user-assigned identity when AZURE_CLIENT_ID is set", async () => {
    const config = loadConfig(
      {
        TENANT_ID: TENANT,
        AZURE_CLIENT_ID: CLIENT,
        IDENTITY_ENDPOINT: "http://127.0.0.1:1/msi/token",
        IDENTITY_HEADER: "h",
      },
      { requireStorage: false },
    );
    assert.ok((await createCredential(config)) instanceof ManagedIdentityCredential);
  });

  it("uses the app certificate from a PEM file", async () => {
    const config = loadConfig(
      { TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT, AZURE_CLIENT_CERTIFICATE_PATH: pemPath },
      { requireStorage: false },
    );
    assert.ok((await createCredential(config)) instanceof ClientCertificateCredential);
  });

  it("uses the app certificate from Key Vault", async () => {
    const config = loadConfig(
      {
        TENANT_ID: TENANT,
        AZURE_CLIENT_ID: CLIENT,
        KEY_VAULT_URL: "https://kv.vault.azure.net",
        CERTIFICATE_SECRET_NAME: "app",
      },
      { requireStorage: false },
    );
    const asked: string[] = [];
    const credential = await createCredential(config, {
      readKeyVaultSecret: (vaultUrl, name) => {
        asked.push(`${vaultUrl}|${name}`);
        return Promise.resolve(`${certificatePem}${privateKeyPem}`);
      },
    });
    assert.ok(credential instanceof ClientCertificateCredential);
    assert.deepEqual(asked, ["https://kv.vault.azure.net|app"]);
  });

  it("explains what is missing or wrong", async () => {
    await assert.rejects(
      createCredential(loadConfig({ TENANT_ID: TENANT }, { requireStorage: false })),
      (error: unknown) => {
        assert.ok(error instanceof CredentialConfigError);
        assert.match(error.message, /IDENTITY_ENDPOINT.*AZURE_CLIENT_CERTIFICATE_PATH.*KEY_VAULT_URL/);
        return true;
      },
    );
    const certOnly = loadConfig(
      { TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT, AZURE_CLIENT_CERTIFICATE_PATH: caPath },
      { requireStorage: false },
    );
    await assert.rejects(createCredential(certOnly), /must be PEM holding both the certificate and its private key/);
    const missing = loadConfig(
      { TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT, AZURE_CLIENT_CERTIFICATE_PATH: join(directory, "nope.pem") },
      { requireStorage: false },
    );
    await assert.rejects(createCredential(missing), /Cannot read the certificate file/);
  });

  it("reads the extra CA", async () => {
    assert.equal(await readExtraCaPem({}), undefined);
    assert.equal(await readExtraCaPem({ extraCaCertPath: caPath }), certificatePem);
    await assert.rejects(readExtraCaPem({ extraCaCertPath: pemPath.replace("app.pem", "nothing") }));
  });
});
