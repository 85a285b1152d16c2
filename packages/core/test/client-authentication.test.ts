import t from 'tap';
import { createAuthorizationServer, OAuthError } from '../src/index.js';
import { authenticateClient } from '../src/oauth2/client-authentication.js';
import { readFormParameters } from '../src/oauth2/form-request.js';
import { resolveOptions } from '../src/oauth2/options.js';
import { withClientCache } from '../src/storage/client-cache.js';
import { MemoryStorage } from '../src/storage/memory-store.js';
import type { OAuthStorage } from '../src/storage/port.js';
import { basicAuthorization, createFormRequest, errorLike, ISSUER, REDIRECT_URI } from './oauth2-fixtures.js';

// How a client is authenticated is seen from the endpoints' answers elsewhere; this checks when:
// a client the cache holds is answered (or refused) synchronously, without a promise.

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

t.test('a miss is looked up asynchronously; the cached client is then checked at once', async (t) => {
  const { authenticate } = freshContext();
  const first = authenticate(secret);
  t.ok(first instanceof Promise, 'the first lookup goes to the store');
  t.equal((await first).client.id, clientId);

  const second = authenticate(secret);
  t.notOk(second instanceof Promise, 'the cached client is answered synchronously');
  t.match(second, { client: { id: clientId }, method: 'client_secret_basic' });
});

t.test('a wrong secret for a cached client throws at once; for a miss the promise rejects', async (t) => {
  const { authenticate } = freshContext();
  const refused = { error: 'invalid_client', status: 401, headers: { 'www-authenticate': 'Basic realm="https://auth.example.com"' } };

  const miss = authenticate(`${secret}x`);
  t.ok(miss instanceof Promise);
  await t.rejects(Promise.resolve(miss), errorLike(refused));

  // The refused lookup still cached the client record: the next refusal is synchronous.
  let thrown: unknown;
  try {
    authenticate(`${secret}x`);
  } catch (error) {
    thrown = error;
  }
  t.ok(thrown instanceof OAuthError, 'thrown synchronously, not returned as a rejected promise');
  t.match(thrown, refused);
});
