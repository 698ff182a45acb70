import { DefaultAzureCredential, ManagedIdentityCredential } from "@azure/identity";
import type { AlertChannel } from "../alerts/alert-channel";
import { emailChannel } from "../alerts/email-channel";
import { createSecretSource, type SecretSource } from "../alerts/secret-source";
import { webhookChannel } from "../alerts/webhook-channel";
import type { Runtime } from "../runtime";
import type { RunsApp } from "./runs-app";

const secretSources = new WeakMap<RunsApp, SecretSource>();

/** The app's own identity (the vault is in the app's tenant, whichever tenant the run is for). */
function appCredential(app: RunsApp) {
  const { managedIdentity, azureClientId } = app.config;
  if (!managedIdentity) return new DefaultAzureCredential();
  return azureClientId ? new ManagedIdentityCredential({ clientId: azureClientId }) : new ManagedIdentityCredential();
}

/**
 * The alert channels the settings configure: the webhook (URL from Key Vault, or ALERT_WEBHOOK_URL locally) and
 * mail through the tenant's Graph client. One secret source per app, so the URL is cached across runs.
 */
export function buildAlertChannels(app: RunsApp, runtime: Runtime): AlertChannel[] {
  const { alerts, keyVaultUrl } = app.config.runs;
  const channels: AlertChannel[] = [];
  if (alerts.webhook) {
    let secrets = secretSources.get(app);
    if (!secrets) {
      secrets = createSecretSource(keyVaultUrl ? { vaultUrl: keyVaultUrl, credential: appCredential(app) } : { env: process.env });
      secretSources.set(app, secrets);
    }
    channels.push(webhookChannel({ secrets, secretName: alerts.webhook.secretName, format: alerts.webhook.format }));
  }
  if (alerts.mail) channels.push(emailChannel({ sender: runtime.graph, from: alerts.mail.from, to: alerts.mail.to }));
  return channels;
}
