import t from 'tap';
import { createAuthorizationServer } from '../src/index.js';
import { authenticateClient } from '../src/oauth2/client-authentication.js';
import { readFormParameters } from '../src/oauth2/form-request.js';
import { resolveOptions } from '../src/oauth2/options.js';
import { withClientCache } from '../src/storage/client-cache.js';
import { MemoryStorage } from '../src/storage/memory-store.js';
import type { OAuthStorage } from '../src/storage/port.js';
import { basicAuthorization, createFormRequest, errorLike, ISSUER, REDIRECT_URI } from './oauth2-fixtures.js';

// How a client is authenticated is seen from the endpoints' answers elsewhere; this checks that
// the answer is always a promise, behind a cache or not: a client the cache holds is answered, and
// refused, through the same promise as one looked up in the store.

const inner = new MemoryStorage();
const registered = await createAuthorizationServer({ storage: inner, issuer: ISSUER }).registerClient({
  name: 'Cached client',
  redirectUris: [REDIRECT_URI],
  grantTypes: ['client_credentials'],
});
const clientId = registered.client.id;
const secret = registered.clientSecret!;

/** A fresh cache in front of the same store: its first lookup of the client is a miss. */
function freshContext(): { storage: OAuthStorage; authenticate: (password: string) => ReturnType<typeof authenticateClient> } {
  const storage = withClientCache(inner);
  const context = resolveOptions({ storage, issuer: ISSUER });
  return {
    storage,
    authenticate: (password) => {
      const request = createFormRequest('/oauth/token', { grant_type: 'client_credentials' }, { authorization: basicAuthorization(clientId, password) });
      return authenticateClient(context, request, readFormParameters(context, request, 'token'));
    },
  };
}

t.test('a miss and a cached client are both answered with a promise', async (t) => {
  const { authenticate } = freshContext();
  const first = authenticate(secret);
  t.ok(first instanceof Promise, 'the first lookup goes to the store');
  t.equal((await first).client.id, clientId);

  const second = authenticate(secret);
  t.ok(second instanceof Promise, 'the cached client too');
  t.match(await second, { client: { id: clientId }, method: 'client_secret_basic' });
});

t.test('a wrong secret is a rejected promise, for a miss and for a cached client alike', async (t) => {
  const { authenticate } = freshContext();
  const refused = { error: 'invalid_client', status: 401, headers: { 'www-authenticate': 'Basic realm="https://auth.example.com"' } };

  for (const round of ['a miss', 'the cached client']) {
    let answer: unknown;
    t.doesNotThrow(() => {
      answer = authenticate(`${secret}x`);
    }, `nothing thrown synchronously, ${round}`);
    t.ok(answer instanceof Promise, `a promise, ${round}`);
    await t.rejects(answer as Promise<unknown>, errorLike(refused), `that rejects with invalid_client, ${round}`);
  }
  t.ok((await authenticate(secret).catch(() => null)) !== null, 'the right secret still authenticates');
});

t.test('headers as Node gives them: an array is one header repeated, never one credential', async (t) => {
  const server = createAuthorizationServer({ storage: inner, issuer: ISSUER });
  const good = basicAuthorization(clientId, secret);
  const form = { grant_type: 'client_credentials' };
  const single = await server.handleTokenRequest(createFormRequest('/oauth/token', form, { authorization: [good] }));
  t.equal(single.status, 200, 'a one-element array is that header');
  const repeated = await server.handleTokenRequest(createFormRequest('/oauth/token', form, { authorization: [good, good] }));
  t.equal(repeated.status, 401);
  t.match(repeated.body, { error: 'invalid_client' });
  const type = await server.handleTokenRequest({
    ...createFormRequest('/oauth/token', form, { authorization: good }),
    headers: { authorization: good, 'content-type': ['application/x-www-form-urlencoded'] },
  });
  t.equal(type.status, 200, 'content-type read the same way');
});
