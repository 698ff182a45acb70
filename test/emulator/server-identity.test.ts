import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { ManagedIdentityCredential } from "@azure/identity";
import type { RunningEmulator } from "../../emulator/server";
import { createEmptyTenant, rawRequest, withEmulator } from "../support/emulator";
import { testCmdlets } from "../support/emulator-test-cmdlets";

const EXCHANGE_SCOPE = "https://outlook.office365.com/.default";
const GRAPH_SCOPE = "https://graph.microsoft.com/.default";

/** Sets the variables the Functions host would set, for the duration of `body` (credentials read them when built). */
async function withIdentityEnvironment<T>(emulator: RunningEmulator, body: () => Promise<T>): Promise<T> {
  const env = emulator.env();
  const saved = { IDENTITY_ENDPOINT: process.env["IDENTITY_ENDPOINT"], IDENTITY_HEADER: process.env["IDENTITY_HEADER"] };
  process.env["IDENTITY_ENDPOINT"] = env["IDENTITY_ENDPOINT"];
  process.env["IDENTITY_HEADER"] = env["IDENTITY_HEADER"];
  try {
    return await body();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

function invokeWith(emulator: RunningEmulator, token: string) {
  return rawRequest(emulator, {
    url: `${emulator.exchangeBaseUrl}/adminapi/beta/${emulator.tenantId}/InvokeCommand`,
    headers: { authorization: `Bearer ${token}` },
    body: { CmdletInput: { CmdletName: "Get-TestItem", Parameters: { Count: 1 } } },
  });
}

function getGraphSkus(emulator: RunningEmulator, token: string) {
  return rawRequest(emulator, {
    method: "GET",
    url: `${emulator.graphBaseUrl}/v1.0/subscribedSkus`,
    headers: { authorization: `Bearer ${token}` },
  });
}

function getIdentity(url: string, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown> }),
      );
    })
      .on("error", reject)
      .end();
  });
}

describe("emulator managed identity endpoint", async () => {
  const emulator = await withEmulator(createEmptyTenant(), { cmdlets: testCmdlets });

  it("answers the App Service protocol (api-version 2019-08-01) only with the right X-IDENTITY-HEADER", async () => {
    const url = (query: string): string => `${emulator.identityEndpoint}?${query}`;
    const ok = await getIdentity(url("resource=https://outlook.office365.com&api-version=2019-08-01&client_id=abc"), {
      "X-IDENTITY-HEADER": emulator.identityHeader,
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.body["token_type"], "Bearer");
    assert.equal(ok.body["resource"], "https://outlook.office365.com");
    assert.equal(ok.body["client_id"], "abc");
    assert.match(String(ok.body["expires_on"]), /^\d+$/);
    assert.ok(Number(ok.body["expires_on"]) > Date.now() / 1000);
    assert.equal((await invokeWith(emulator, String(ok.body["access_token"]))).status, 200);

    const noHeader = await getIdentity(url("resource=https://outlook.office365.com&api-version=2019-08-01"), {});
    assert.equal(noHeader.status, 401);
    const wrongVersion = await getIdentity(url("resource=https://outlook.office365.com&api-version=2017-09-01"), {
      "X-IDENTITY-HEADER": emulator.identityHeader,
    });
    assert.equal(wrongVersion.status, 400);
  });

  it("gives the production ManagedIdentityCredential (system-assigned) tokens the emulator accepts", async () => {
    const token = await withIdentityEnvironment(emulator, async () => {
      const credential = new ManagedIdentityCredential();
      return credential.getToken(EXCHANGE_SCOPE);
    });
    assert.ok(token.expiresOnTimestamp > Date.now());
    assert.equal((await invokeWith(emulator, token.token)).status, 200);
    // An Exchange token is not a Graph token.
    assert.equal((await getGraphSkus(emulator, token.token)).status, 401);
  });

  it("gives a user-assigned ManagedIdentityCredential({ clientId }) tokens, for Graph too", async () => {
    const clientId = "6f1d3c5e-0000-4000-8000-00000000abcd";
    const tokens = await withIdentityEnvironment(emulator, async () => {
      const credential = new ManagedIdentityCredential({ clientId });
      return { exchange: await credential.getToken(EXCHANGE_SCOPE), graph: await credential.getToken(GRAPH_SCOPE) };
    });
    assert.equal((await invokeWith(emulator, tokens.exchange.token)).status, 200);
    assert.equal((await getGraphSkus(emulator, tokens.graph.token)).status, 200);
    const claims = JSON.parse(Buffer.from(tokens.graph.token.split(".")[1] ?? "", "base64url").toString("utf8")) as { appid: string };
    assert.equal(claims.appid, clientId);
  });

  it("keeps working for a second emulator in the same process, despite msal's process-wide caches", async () => {
    const second = await withEmulator(createEmptyTenant(), { cmdlets: testCmdlets });
    await emulator.stop();
    assert.equal(second.identityEndpoint, emulator.identityEndpoint);
    const token = await withIdentityEnvironment(second, async () => new ManagedIdentityCredential().getToken(EXCHANGE_SCOPE));
    assert.equal((await invokeWith(second, token.token)).status, 200);
  });
});
