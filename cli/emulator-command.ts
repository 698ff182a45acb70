/** `mailbox-audit emulator`: the local Exchange Online / Graph / managed identity emulator in the foreground. */
import { readFile } from "node:fs/promises";
import { createServicePrincipal } from "../emulator/app-permissions";
import type { AuditSearchSettings } from "../emulator/audit-search";
import { generateTenant, loadTenantFixture } from "../emulator/generate";
import { runEmulatorCli } from "../emulator/main";

export async function runEmulator(options: {
  fixture?: string;
  mailboxes: number;
  drift: number;
  port: number;
  missingPermissions: readonly string[];
  missingRoles: readonly string[];
  auditSearch: Partial<AuditSearchSettings>;
}): Promise<void> {
  const tenant = options.fixture
    ? loadTenantFixture(JSON.parse(await readFile(options.fixture, "utf8")) as unknown)
    : generateTenant({
        seed: 1,
        counts: { user: options.mailboxes, shared: options.mailboxes, room: options.mailboxes, equipment: options.mailboxes, discovery: 1, group: options.mailboxes },
        driftShare: options.drift,
        bypassCount: 2,
        auditPremiumShare: 0.5,
      });
  tenant.servicePrincipal = createServicePrincipal({ missingPermissions: options.missingPermissions, missingRoles: options.missingRoles });
  await runEmulatorCli({ tenant, port: options.port, auditSearch: options.auditSearch });
}
