// OAuth 1.0a nonces on the Kysely store over SQLite, MariaDB and PostgreSQL (RFC 5849 section 3.3): a refused
// request writes no nonce row, and of fifty concurrent signed requests with one nonce, the store's
// unique key lets exactly one through.
import t, { type Test } from 'tap';
import type { Kysely } from 'kysely';
import {
  createOAuth1Provider,
  formatAuthorizationHeader,
  SecretBox,
  signRequest,
  type OAuthRequest,
} from '@portcullis/core';
import { createDatabase, createKyselyStorage, migrate, type Database } from '@portcullis/kysely';
import { createPostgresTestDatabase, mysqlTest, openMigratedMysql, openTempSqliteFile, postgresTest } from './helpers/databases.js';

const KEY = Buffer.alloc(32, 5);
const NOW = 1_800_000_000; // seconds

async function runNonceRace(t: Test, db: Kysely<Database>): Promise<void> {
  const storage = createKyselyStorage(db);
  const box = new SecretBox(KEY);
  const at = new Date(0);
  await storage.createClient({
    id: 'consumer', name: 'Consumer', type: 'confidential', secretDigest: null, redirectUris: [], scopes: ['read'],
    grantTypes: ['authorization_code'], responseTypes: ['code'], ownerId: null, oauth1Enabled: true,
    oauth1SecretEncrypted: box.encrypt('consumer-secret'), rsaPublicKey: null, resources: null, disabled: false, createdAt: at, updatedAt: at,
  });
  await storage.saveOAuth1AccessToken({
    id: 'tok-1', token: 'access-token-1', secretEncrypted: box.encrypt('token-secret'), clientId: 'consumer', userId: 'alice',
    scope: ['read'], issuedAt: at, expiresAt: null, revokedAt: null,
  });
  const provider = createOAuth1Provider({ storage, issuer: 'https://auth.example', secretKey: KEY, clock: () => new Date(NOW * 1000) });

  const sign = (url: URL, nonce: string, token?: { token: string; secret: string }, extra?: Record<string, string>) =>
    signRequest({
      method: url.pathname.endsWith('request_token') ? 'POST' : 'GET',
      url,
      consumerKey: 'consumer',
      signatureMethod: 'HMAC-SHA1',
      credentials: { consumerSecret: 'consumer-secret', ...(token ? { tokenSecret: token.secret } : {}) },
      ...(token ? { token: token.token } : {}),
      timestamp: NOW,
      nonce,
      ...(extra ? { extra } : {}),
    });

  await t.test('a forged or refused signed request writes no nonce row; the genuine one then passes', async (t) => {
    const url = new URL('https://auth.example/me');
    const send = (nonce: string, secret: string, scope: string[]) => {
      const header = formatAuthorizationHeader(sign(url, nonce, { token: 'access-token-1', secret }));
      return provider.verifySignedRequest({ method: 'GET', url, headers: { authorization: header }, secure: true }, scope).then(
        () => null,
        (error: { error?: string }) => error.error,
      );
    };
    t.equal(await send('forged-nonce', 'guessed-secret', ['read']), 'signature_invalid');
    t.equal(await send('narrow-nonce', 'token-secret', ['write']), 'insufficient_scope');
    t.strictSame(await db.selectFrom('portcullis_oauth1_nonces').selectAll().execute(), [], 'no nonce row');
    t.equal(await send('forged-nonce', 'token-secret', ['read']), null, 'the nonce is still the client\'s to use');
    t.equal((await db.selectFrom('portcullis_oauth1_nonces').selectAll().execute()).length, 1);
    await db.deleteFrom('portcullis_oauth1_nonces').execute();
  });

  await t.test('a signed resource request: one accepted, 49 nonce_used', async (t) => {
    const url = new URL('https://auth.example/me');
    const header = formatAuthorizationHeader(sign(url, 'the-one-nonce', { token: 'access-token-1', secret: 'token-secret' }));
    const request = (): OAuthRequest => ({ method: 'GET', url, headers: { authorization: header }, secure: true });
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () =>
        provider.verifySignedRequest(request(), ['read']).then(
          (grant) => ({ ok: true as const, grant }),
          (error: unknown) => ({ ok: false as const, error: error as { error?: string; status?: number } }),
        ),
      ),
    );
    const accepted = outcomes.filter((outcome) => outcome.ok);
    t.equal(accepted.length, 1, 'exactly one accepted');
    const first = accepted[0];
    if (first?.ok) t.match(first.grant, { clientId: 'consumer', userId: 'alice', tokenId: 'tok-1' });
    for (const outcome of outcomes) {
      if (outcome.ok) continue;
      t.equal(outcome.error.error, 'nonce_used');
      t.equal(outcome.error.status, 401);
    }
    const nonces = await db.selectFrom('portcullis_oauth1_nonces').selectAll().execute();
    t.equal(nonces.length, 1, 'one nonce row');
    t.equal(nonces[0]?.client_id, 'consumer');
  });

  await t.test('a request_token request: one 200, 49 x 401, one request token stored', async (t) => {
    const url = new URL('https://auth.example/oauth1/request_token');
    const header = formatAuthorizationHeader(sign(url, 'request-nonce', undefined, { oauth_callback: 'oob' }));
    const responses = await Promise.all(
      Array.from({ length: 50 }, () =>
        provider.handleRequestTokenRequest({ method: 'POST', url, headers: { authorization: header }, secure: true }),
      ),
    );
    t.equal(responses.filter((response) => response.status === 200).length, 1, 'exactly one accepted');
    for (const response of responses.filter((response) => response.status !== 200)) {
      t.equal(response.status, 401);
      t.match(response.body, { error: 'nonce_used' });
    }
    const tokens = await db.selectFrom('portcullis_oauth1_request_tokens').select('client_id').execute();
    t.equal(tokens.length, 1, 'one request token row');
    t.equal((await db.selectFrom('portcullis_oauth1_nonces').select('nonce_key').execute()).length, 2);
  });
}

t.test('SQLite file', async (t) => {
  const file = await openTempSqliteFile();
  const db = await createDatabase(file.url);
  t.teardown(async () => {
    await db.destroy();
    await file.remove();
  });
  await migrate(db);
  await runNonceRace(t, db);
});

await mysqlTest('MariaDB', async (t) => {
  const { db } = await openMigratedMysql(t, { prefix: 'portcullis_rel', database: { connectionLimit: 20 } });
  await runNonceRace(t, db);
});

await postgresTest('PostgreSQL', async (t) => {
  const database = await createPostgresTestDatabase('portcullis_rel');
  const db = await createDatabase(database.url, { connectionLimit: 20 });
  t.teardown(async () => {
    await db.destroy();
    await database.drop();
  });
  await migrate(db);
  await runNonceRace(t, db);
});
