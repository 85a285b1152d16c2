import type { ContractCase, StorageUnderTest } from './contract-case.js';
import { contractTime } from './storage-fixtures.js';
import type { StorageFixtures } from './storage-fixtures.js';

const DIGEST = /^[A-Za-z0-9_-]{43}$/;
// A code's or token's key: the time it was made, then its digest (`tokenDigest`).
const TOKEN_KEY = /^[0-9A-HJKMNP-TV-Z]{10}[A-Za-z0-9_-]{43}$/;

/** Without a raw dump from the factory, the port's own read operations are the dump. */
async function dumpThroughPort(
  { storage }: StorageUnderTest,
  handles: { requestToken: string; oauth1Token: string; accessDigest: string; refreshDigest: string },
): Promise<unknown> {
  return {
    clients: await storage.listClients(),
    scopes: await storage.listScopes(),
    codes: await storage.listAuthorizationCodes({}),
    accessTokens: await storage.listAccessTokens({}),
    access: await storage.findAccessToken(handles.accessDigest),
    refresh: await storage.findRefreshToken(handles.refreshDigest),
    requestToken: await storage.findRequestToken(handles.requestToken),
    oauth1Token: await storage.findOAuth1AccessToken(handles.oauth1Token),
    grants: await storage.listGrants('user-1', contractTime(0)),
  };
}

async function fillStore(store: StorageUnderTest, fx: StorageFixtures) {
  const { storage } = store;
  const client = fx.client({ oauth1Enabled: true, oauth1SecretEncrypted: fx.box.encrypt(fx.secret('clientSecret')) });
  await storage.createClient(client);
  const code = fx.authorizationCode({ clientId: client.id });
  await storage.saveAuthorizationCode(code);
  const pair = fx.tokenPair({ clientId: client.id });
  await storage.saveTokens(pair.access, pair.refresh);
  const next = fx.tokenPair({ clientId: client.id, familyId: pair.access.familyId });
  await storage.rotateRefreshToken(pair.refresh.id, contractTime(1), next.access, next.refresh);
  const requestToken = fx.requestToken({ clientId: client.id });
  await storage.saveRequestToken(requestToken);
  await storage.authorizeRequestToken(requestToken.token, 'user-1', fx.verifierDigest(), ['read']);
  const oauth1Token = fx.oauth1AccessToken({ clientId: client.id });
  await storage.saveOAuth1AccessToken(oauth1Token);
  await storage.recordNonce(fx.nonce({ clientId: client.id, token: oauth1Token.token }));
  return { client, code, pair, next, requestToken, oauth1Token };
}

export const secretCases: ContractCase[] = [
  {
    name: 'a dump of the store holds no usable credential: digests and sealed secrets only',
    async run(t, store, fx) {
      const { client, code, next, requestToken, oauth1Token } = await fillStore(store, fx);
      const dump = store.dump
        ? await store.dump()
        : await dumpThroughPort(store, {
            requestToken: requestToken.token,
            oauth1Token: oauth1Token.token,
            accessDigest: next.access.digest,
            refreshDigest: next.refresh.digest,
          });
      const text = JSON.stringify(dump);
      t.ok(text.length > 200, 'the dump is not empty');
      t.ok(text.includes(next.access.digest), 'the dump does hold the digests');
      t.ok(fx.secrets.size >= 8, 'the fixtures made secrets of every kind');
      for (const secret of fx.secrets) {
        // The random part alone, in case a store dropped the readable prefix.
        const body = secret.slice(secret.indexOf('_') + 1);
        if (text.includes(body)) t.fail(`a ${secret.slice(0, 4)} credential appears in the dump`);
      }
      t.pass('no credential the suite created appears in the dump');

      const stored = await store.storage.findClient(client.id);
      t.match(stored?.secretDigest, DIGEST, 'client secret kept as a digest');
      t.ok(stored?.oauth1SecretEncrypted?.startsWith('v1.'), 'OAuth 1.0a consumer secret kept sealed');
      t.ok(fx.secrets.has(fx.box.decrypt(stored!.oauth1SecretEncrypted!)), 'and it opens only with the key');
      t.match((await store.storage.consumeAuthorizationCode(code.digest, contractTime(2))).status, 'consumed');
      t.match((await store.storage.findAccessToken(next.access.digest))?.digest, TOKEN_KEY);
      t.match((await store.storage.findRefreshToken(next.refresh.digest))?.digest, TOKEN_KEY);
      const request = await store.storage.findRequestToken(requestToken.token);
      t.match(request?.verifierDigest, DIGEST, 'the verifier is a digest');
      t.ok(fx.secrets.has(fx.box.decrypt(request!.secretEncrypted)), 'the request token secret is sealed');
      const oauth1 = await store.storage.findOAuth1AccessToken(oauth1Token.token);
      t.ok(fx.secrets.has(fx.box.decrypt(oauth1!.secretEncrypted)), 'the OAuth 1.0a token secret is sealed');
    },
  },
];
