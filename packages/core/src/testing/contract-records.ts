import type { ContractCase } from './contract-case.js';
import { tryToChange } from './contract-case.js';
import { contractTime } from './storage-fixtures.js';

/**
 * What a store hands out is the caller's to read, and nothing a caller does to it (or to a record
 * it handed in) reaches the store: the next read answers what the store holds, as a database row
 * would be. A store may copy or freeze; `tryToChange` accepts either.
 */
export const recordCases: ContractCase[] = [
  {
    name: 'changing a client, a scope or the objects handed in changes nothing stored',
    async run(t, { storage }, fx) {
      const client = fx.client({ redirectUris: ['https://client.example/cb'], scopes: ['read'] });
      const expected = structuredClone(client);
      await storage.createClient(client);
      tryToChange(client);
      tryToChange(await storage.findClient(expected.id));
      for (const listed of await storage.listClients()) tryToChange(listed);
      t.strictSame(await storage.findClient(expected.id), expected, 'findClient after findClient and listClients were changed');

      const update = { name: 'renamed', scopes: ['read', 'write'], updatedAt: contractTime(60) };
      const updated = await storage.updateClient(expected.id, update);
      tryToChange(updated);
      tryToChange(update);
      t.strictSame(
        await storage.findClient(expected.id),
        { ...expected, name: 'renamed', scopes: ['read', 'write'], updatedAt: contractTime(60) },
        'after updateClient',
      );

      const scopes = [{ name: 'read', description: 'Read' }];
      await storage.saveScopes(scopes);
      tryToChange(scopes[0]);
      for (const listed of await storage.listScopes()) tryToChange(listed);
      t.strictSame(await storage.listScopes(), [{ name: 'read', description: 'Read' }], 'listScopes');
    },
  },
  {
    name: 'changing a code or a token a finder, a list or a consume returned changes nothing stored',
    async run(t, { storage }, fx) {
      const code = fx.authorizationCode({ scope: ['read', 'write'] });
      const expectedCode = structuredClone(code);
      await storage.saveAuthorizationCode(code);
      tryToChange(code);
      tryToChange(await storage.findAuthorizationCode(expectedCode.digest));
      for (const listed of await storage.listAuthorizationCodes({})) tryToChange(listed);
      t.strictSame(await storage.findAuthorizationCode(expectedCode.digest), expectedCode, 'the code');
      const consumed = await storage.consumeAuthorizationCode(expectedCode.digest, contractTime(5));
      if (consumed.status !== 'missing') tryToChange(consumed.record);
      const reused = await storage.consumeAuthorizationCode(expectedCode.digest, contractTime(6));
      t.strictSame(reused, { status: 'reused', record: { ...expectedCode, consumedAt: contractTime(5) } }, 'the consumed code');

      const { access, refresh } = fx.tokenPair({ scope: ['read'] });
      const expectedAccess = structuredClone(access);
      const expectedRefresh = structuredClone(refresh);
      await storage.saveTokens(access, refresh);
      tryToChange(access);
      tryToChange(refresh);
      tryToChange(await storage.findAccessToken(expectedAccess.digest));
      tryToChange(await storage.findRefreshToken(expectedRefresh.digest));
      for (const listed of await storage.listAccessTokens({})) tryToChange(listed);
      t.strictSame(await storage.findAccessToken(expectedAccess.digest), expectedAccess, 'the access token');
      t.strictSame(await storage.findRefreshToken(expectedRefresh.digest), expectedRefresh, 'the refresh token');
      t.equal(await storage.revokeAccessToken(expectedAccess.id, contractTime(7)), true, 'still revocable once');
      t.strictSame(await storage.findAccessToken(expectedAccess.digest), { ...expectedAccess, revokedAt: contractTime(7) });
    },
  },
  {
    name: 'changing an OAuth 1.0a token a finder or a consume returned changes nothing stored',
    async run(t, { storage }, fx) {
      const request = fx.requestToken({ scope: ['read'] });
      const expectedRequest = structuredClone(request);
      await storage.saveRequestToken(request);
      tryToChange(request);
      tryToChange(await storage.findRequestToken(expectedRequest.token));
      t.strictSame(await storage.findRequestToken(expectedRequest.token), expectedRequest, 'the request token');
      const consumed = await storage.consumeRequestToken(expectedRequest.token, contractTime(5));
      if (consumed.status !== 'missing') tryToChange(consumed.record);
      t.strictSame(await storage.findRequestToken(expectedRequest.token), { ...expectedRequest, consumedAt: contractTime(5) }, 'the consumed request token');

      const token = fx.oauth1AccessToken({ scope: ['read'], expiresAt: contractTime(3600) });
      const expectedToken = structuredClone(token);
      await storage.saveOAuth1AccessToken(token);
      tryToChange(token);
      tryToChange(await storage.findOAuth1AccessToken(expectedToken.token));
      t.strictSame(await storage.findOAuth1AccessToken(expectedToken.token), expectedToken, 'the access token');
    },
  },
];
