import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DemoSecrets {
  /** Signs the session cookie (at least 32 characters). */
  sessionSecret: string;
  /** Seals OAuth 1.0a secrets (AES-256-GCM key, 64 hex characters). */
  secretKey: string;
}

const SECRETS_FILE = 'secrets.json';

/**
 * The session secret and the OAuth 1.0a key, from SESSION_SECRET and PORTCULLIS_SECRET_KEY. In
 * development, whichever is missing is generated once and kept in the data folder (mode 0600), so
 * a restart keeps sessions and sealed secrets working. In production both must come from the
 * environment: a key written next to the database would protect nothing.
 */
export function loadSecrets(options: { dataDir: string; development: boolean; env?: NodeJS.ProcessEnv }): DemoSecrets {
  const env = options.env ?? process.env;
  const fromEnv = { sessionSecret: env.SESSION_SECRET, secretKey: env.PORTCULLIS_SECRET_KEY };
  if (fromEnv.sessionSecret !== undefined && fromEnv.sessionSecret.length < 32) throw new Error('SESSION_SECRET must have at least 32 characters');
  if (fromEnv.secretKey !== undefined && !/^[0-9a-fA-F]{64}$/.test(fromEnv.secretKey) && !/^[\w-]{43}$/.test(fromEnv.secretKey)) {
    throw new Error('PORTCULLIS_SECRET_KEY must be 32 bytes as 64 hex characters or 43 base64url characters');
  }
  if (fromEnv.sessionSecret && fromEnv.secretKey) return { sessionSecret: fromEnv.sessionSecret, secretKey: fromEnv.secretKey };
  if (!options.development) throw new Error('in production, set SESSION_SECRET and PORTCULLIS_SECRET_KEY');

  const path = join(options.dataDir, SECRETS_FILE);
  let stored: Partial<DemoSecrets> = {};
  try {
    stored = JSON.parse(readFileSync(path, 'utf8')) as Partial<DemoSecrets>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${path}`, { cause: error });
  }
  const secrets: DemoSecrets = {
    sessionSecret: stored.sessionSecret ?? randomBytes(32).toString('base64url'),
    secretKey: stored.secretKey ?? randomBytes(32).toString('hex'),
  };
  if (stored.sessionSecret !== secrets.sessionSecret || stored.secretKey !== secrets.secretKey) {
    writeFileSync(path, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
    chmodSync(path, 0o600);
  }
  return { sessionSecret: fromEnv.sessionSecret ?? secrets.sessionSecret, secretKey: fromEnv.secretKey ?? secrets.secretKey };
}
