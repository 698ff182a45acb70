import { generate } from "selfsigned";

export interface ServerCertificate {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

/**
 * A fresh self-signed certificate for `127.0.0.1` / `localhost`. Clients trust it explicitly (the PEM is its
 * own CA): core-rest-pipeline `tlsSettings: { ca }`, or `NODE_EXTRA_CA_CERTS` for a child process.
 */
export async function generateServerCertificate(now: Date = new Date()): Promise<ServerCertificate> {
  // Back-dated a day so a client whose clock is slightly behind still accepts it.
  const notBeforeDate = new Date(now.getTime() - 24 * 60 * 60 * 1000);
  const notAfterDate = new Date(now.getTime() + 30 * 24 * 60 * 60 * 1000);
  const pems = await generate([{ name: "commonName", value: "mailbox-audit-emulator" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", digitalSignature: true, keyCertSign: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 7, ip: "127.0.0.1" },
          { type: 2, value: "localhost" },
        ],
      },
    ],
  });
  return { certificatePem: pems.cert, privateKeyPem: pems.private };
}
