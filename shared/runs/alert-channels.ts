import type { AlertChannel } from "../alerts/alert-channel";
import { emailChannel } from "../alerts/email-channel";
import { createSecretSource, type SecretSource } from "../alerts/secret-source";
import { webhookChannel } from "../alerts/webhook-channel";
import { appIdentityCredential } from "../credentials";
import type { Runtime } from "../runtime";
import type { RunsApp } from "./runs-app";

const secretSources = new WeakMap<RunsApp, SecretSource>();


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
      secrets = createSecretSource(keyVaultUrl ? { vaultUrl: keyVaultUrl, credential: appIdentityCredential({ managedIdentity: app.config.managedIdentity !== undefined, clientId: app.config.azureClientId }) } : { env: process.env });
      secretSources.set(app, secrets);
    }
    channels.push(webhookChannel({ secrets, secretName: alerts.webhook.secretName, format: alerts.webhook.format }));
  }
  if (alerts.mail) channels.push(emailChannel({ sender: runtime.graph, from: alerts.mail.from, to: alerts.mail.to }));
  return channels;
}
