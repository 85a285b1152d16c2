import type { IssuedTokens, RegisterClientInput, RegisteredClient } from '@portcullis/core';

/** The Portcullis operations the demo's pages and CLI use, as `fastify.oauth` offers them. */
export interface OAuthOperations {
  registerClient(input: RegisterClientInput): Promise<RegisteredClient>;
  issueTokens(input: { clientId: string; userId: string | null; scope?: string[]; withRefreshToken?: boolean }): Promise<IssuedTokens>;
  /** Deletes a client after revoking its tokens, as RFC 7592's DELETE does; whether it existed. */
  deleteClient(clientId: string): Promise<boolean>;
  /** Disables or enables a client; disabling revokes its live tokens (the count), null for an unknown client. */
  setClientDisabled(clientId: string, disabled: boolean): Promise<number | null>;
  /** Every token a user gave a client, OAuth 2 and OAuth 1.0a. */
  revokeGrant(userId: string, clientId: string): Promise<number>;
  /** Forgets what a user approved for a client (its tokens stay): the next authorization asks again. */
  revokeConsent(userId: string, clientId: string): Promise<boolean>;
  /** The scopes the routes declare with requireScope. */
  declaredScopes(): string[];
  /** Seals a secret for OAuth 1.0a (the consumer secret is an HMAC key); null without a secret key. */
  sealSecret: ((secret: string) => string) | null;
}
