/**
 * The webhook's signing secret, from a file readable by its owner only or from an environment variable, never
 * from the config file or a command line. Errors name the file or variable, never the value.
 */
import { FedwardenError, readOwnerOnlyFile } from '@fedwarden/shared';

export interface SecretSource {
  readonly secretFile?: string | undefined;
  readonly secretEnv?: string | undefined;
}

/** The secret (surrounding whitespace trimmed), or undefined when neither source is configured. Throws BAD_CONFIG. */
export function readWebhookSecret(source: SecretSource, env: NodeJS.ProcessEnv = process.env): string | undefined {
  let secret: string;
  let where: string;
  if (source.secretFile !== undefined) {
    where = `alerting.webhook.secretFile ${source.secretFile}`;
    try {
      secret = readOwnerOnlyFile(source.secretFile, 'webhook secret file');
    } catch (err) {
      if (err instanceof FedwardenError) throw err;
      throw new FedwardenError('BAD_CONFIG', `cannot read ${where}: ${(err as Error).message}`, { cause: err });
    }
  } else if (source.secretEnv !== undefined) {
    where = `$${source.secretEnv} (alerting.webhook.secretEnv)`;
    const value = env[source.secretEnv];
    if (value === undefined) throw new FedwardenError('BAD_CONFIG', `${where} is not set`);
    secret = value;
  } else {
    return undefined;
  }
  secret = secret.trim();
  if (secret.length === 0) throw new FedwardenError('BAD_CONFIG', `${where} is empty`);
  return secret;
}
