import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  tlsPolicy,
} from "@azure/core-rest-pipeline";
import { ManagedIdentityCredential } from "@azure/identity";
import { createEmptyTenant, withEmulator } from "../support/emulator";
import { testCmdlets } from "../support/emulator-test-cmdlets";

describe("emulator with @azure/core-rest-pipeline", async () => {
  const emulator = await withEmulator(createEmptyTenant(), { cmdlets: testCmdlets });

  it("serves a pipeline that trusts the CA through tlsPolicy and authenticates with ManagedIdentityCredential", async () => {
    const saved = { endpoint: process.env["IDENTITY_ENDPOINT"], header: process.env["IDENTITY_HEADER"] };
    process.env["IDENTITY_ENDPOINT"] = emulator.identityEndpoint;
    process.env["IDENTITY_HEADER"] = emulator.identityHeader;
    try {
      const pipeline = createEmptyPipeline();
      // createPipelineRequest ignores a tlsSettings option (core-rest-pipeline 1.24); the policy sets it.
      pipeline.addPolicy(tlsPolicy({ ca: emulator.caCertificatePem }));
      pipeline.addPolicy(
        bearerTokenAuthenticationPolicy({ credential: new ManagedIdentityCredential(), scopes: "https://outlook.office365.com/.default" }),
      );
      const request = createPipelineRequest({
        url: `${emulator.exchangeBaseUrl}/adminapi/beta/${emulator.state.initialDomain}/InvokeCommand`,
        method: "POST",
        headers: createHttpHeaders({ "content-type": "application/json", prefer: "odata.maxpagesize=2" }),
        body: JSON.stringify({ CmdletInput: { CmdletName: "Get-TestItem", Parameters: { Count: 3 } } }),
      });
      const response = await pipeline.sendRequest(createDefaultHttpClient(), request);
      assert.equal(response.status, 200);
      const body = JSON.parse(response.bodyAsText ?? "{}") as { value: unknown[]; "@odata.nextLink"?: string };
      assert.equal(body.value.length, 2);
      assert.ok(body["@odata.nextLink"]?.includes(`/adminapi/beta/${emulator.state.initialDomain}/InvokeCommand?`));
      assert.ok(response.headers.get("request-id"));
    } finally {
      if (saved.endpoint === undefined) delete process.env["IDENTITY_ENDPOINT"];
      else process.env["IDENTITY_ENDPOINT"] = saved.endpoint;
      if (saved.header === undefined) delete process.env["IDENTITY_HEADER"];
      else process.env["IDENTITY_HEADER"] = saved.header;
    }
  });
});
