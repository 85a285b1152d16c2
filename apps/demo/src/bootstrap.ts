import type { GrantType } from '@portcullis/core';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createPoll, listPolls } from './polls.js';
import { RP_CLIENT_ID, RP_CLIENT_NAME, RP_SCOPE, relyingPartyPostLogoutUri, relyingPartyRedirectUri } from './relying-party.js';
import { createUser, countUsers } from './users.js';

export interface FirstStartCredentials {
  admin: { username: string; password: string };
  client: { name: string; clientId: string; clientSecret: string; redirectUri: string };
}

export const SAMPLE_CLIENT_NAME = 'Polls sample client';

/** The public client the demo CLI's `login` uses, by the device flow (RFC 8628). */
export const CLI_CLIENT_ID = 'polls-cli';
export const CLI_CLIENT_NAME = 'Polls command line';

/**
 * The sample client's grants: what the README's walkthrough uses. The implicit and password
 * grants, which RFC 9700 (sections 2.1.2 and 2.4) advises against, only in development, where the
 * walkthrough shows them; a production start leaves them off, as registration does by default.
 */
export function sampleClientGrants(development: boolean): GrantType[] {
  return development
    ? ['authorization_code', 'implicit', 'password', 'client_credentials', 'refresh_token']
    : ['authorization_code', 'client_credentials', 'refresh_token'];
}

/**
 * On a fresh database: an admin with a random password, a sample client (`sampleClientGrants`,
 * and OAuth 1.0a when a key is configured), the CLI's device flow client, the example relying
 * party's client (its URIs under `issuer`, the public URL), and two polls. Returns the credentials
 * to print once, or null when the database had users already.
 */
export async function bootstrapFirstStart(
  fastify: FastifyInstance,
  baseUrl: string,
  development: boolean,
  issuer: string = baseUrl,
): Promise<FirstStartCredentials | null> {
  const { db, scopes, oauthOperations } = fastify.demo;
  if ((await countUsers(db)) > 0) return null;
  const password = randomBytes(12).toString('base64url');
  const admin = await createUser(db, { username: 'admin', password, isAdmin: true });
  const redirectUri = `${baseUrl}/callback`;
  const registered = await oauthOperations.registerClient({
    name: SAMPLE_CLIENT_NAME,
    redirectUris: [redirectUri],
    scopes: scopes.list().map((s) => s.name),
    grantTypes: sampleClientGrants(development),
    type: 'confidential',
    ownerId: admin.id,
    oauth1Enabled: oauthOperations.sealSecret !== null,
  });
  await oauthOperations.registerClient({
    name: CLI_CLIENT_NAME,
    clientId: CLI_CLIENT_ID,
    scopes: ['polls:read', 'polls:vote'],
    grantTypes: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
    type: 'public',
    ownerId: admin.id,
  });
  // "Sign in with Portcullis" (relying-party.ts): a public client, the code flow with PKCE.
  await oauthOperations.registerClient({
    name: RP_CLIENT_NAME,
    clientId: RP_CLIENT_ID,
    redirectUris: [relyingPartyRedirectUri(issuer)],
    postLogoutRedirectUris: [relyingPartyPostLogoutUri(issuer)],
    scopes: RP_SCOPE.split(' '),
    grantTypes: ['authorization_code'],
    type: 'public',
    ownerId: admin.id,
  });
  if ((await listPolls(db)).length === 0) {
    await createPoll(db, "What's up?", ['Not much', 'The sky', 'Just hacking again']);
    await createPoll(db, 'Which grant do you use most?', ['Authorization code', 'Client credentials', 'Password', 'Implicit']);
  }
  return {
    admin: { username: admin.username, password },
    client: { name: SAMPLE_CLIENT_NAME, clientId: registered.client.id, clientSecret: registered.clientSecret ?? '', redirectUri },
  };
}
