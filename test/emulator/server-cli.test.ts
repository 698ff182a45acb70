import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { get } from "node:https";
import { runEmulatorCli } from "../../emulator/main";
import { createEmptyTenant } from "../support/emulator";

describe("runEmulatorCli", () => {
  it("writes the CA certificate, prints the client environment, serves until told to stop", async () => {
    const directory = await mkdtemp(join(tmpdir(), "emulator-cli-"));
    let stop: () => void = () => undefined;
    const until = new Promise<void>((resolve) => (stop = resolve));
    try {
      const caCertificatePath = join(directory, "ca.pem");
      let output = "";
      let ready = (): void => undefined;
      const serving = new Promise<void>((resolve) => (ready = resolve));
      const write = (text: string): void => {
        output += text;
        if (output.includes("Ctrl+C")) ready();
      };
      const running = runEmulatorCli({ tenant: createEmptyTenant(), caCertificatePath, until, write });
      await serving;

      const env = Object.fromEntries(
        output
          .split("\n")
          .filter((line) => /^[A-Z_]+=/.test(line))
          .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
      );
      assert.deepEqual(Object.keys(env).sort(), [
        "AZURE_CLIENT_ID",
        "EXCHANGE_BASE_URL",
        "EXTRA_CA_CERT_PATH",
        "GRAPH_BASE_URL",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "NODE_EXTRA_CA_CERTS",
        "TENANT_ID",
      ]);
      assert.equal(env["NODE_EXTRA_CA_CERTS"], caCertificatePath);
      assert.equal(env["EXTRA_CA_CERT_PATH"], caCertificatePath);
      assert.match(await readFile(caCertificatePath, "utf8"), /-----BEGIN CERTIFICATE-----/);
      const ca = await readFile(caCertificatePath, "utf8");
      const status = await new Promise<number | undefined>((resolve, reject) => {
        get(`${env["EXCHANGE_BASE_URL"]}/`, { ca }, (response) => resolve(response.resume().statusCode)).on("error", reject);
      });
      assert.equal(status, 404, "the server is up and trusted through the written certificate");

      stop();
      const emulator = await running;
      assert.equal(emulator.exchangeBaseUrl, env["EXCHANGE_BASE_URL"]);
    } finally {
      stop();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
