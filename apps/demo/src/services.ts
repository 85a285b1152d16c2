import type { OAuthStorage, SecretBox } from '@portcullis/core';
import type { ScopeRegistry } from '@portcullis/scopes';
import type { AccountThrottle } from './account-throttle.js';
import type { DemoDb } from './db/database.js';

/** What the demo's routes share: its tables, Portcullis's storage, the scope registry. */
export interface DemoServices {
  db: DemoDb;
  storage: OAuthStorage;
  scopes: ScopeRegistry;
  /** Whether OAuth 1.0a secrets can be sealed (a secret key is configured). */
  oauth1Available: boolean;
  /** Seals secrets shown once while they wait in the session for the next page (respond.ts). */
  flashBox: SecretBox;
  /** TLS required (outside development): redirect URIs must be https, or http on loopback. */
  enforceSecure: boolean;
  /** Wrong passwords counted per account, for the login form and the password grant alike. */
  accountThrottle: AccountThrottle;
}
