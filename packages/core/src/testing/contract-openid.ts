import type { ContractCase } from './contract-case.js';
import { contractTime } from './storage-fixtures.js';

/**
 * What OpenID Connect keeps: a code's nonce and authentication time, a refresh token's
 * authentication time through rotation, a client's post-logout redirect URIs. Every store returns
 * them as given, and the absent ones as null or empty.
 */
export const openidCases: ContractCase[] = [
  {
    name: 'an authorization code keeps its nonce and auth time, through redemption',
    async run(t, { storage }, fx) {
      const code = fx.authorizationCode({ nonce: 'n-0S6_WzA2Mj \u00e9\u{1F600}', authTime: contractTime(-30) });
      await storage.saveAuthorizationCode(code);
      t.strictSame(await storage.findAuthorizationCode(code.digest), code);
      const { access, refresh } = fx.tokenPair({ familyId: code.familyId }, { authTime: contractTime(-30) });
      t.equal(await storage.redeemAuthorizationCode(code.id, contractTime(1), access, refresh), true);
      t.strictSame(await storage.findAuthorizationCode(code.digest), { ...code, consumedAt: contractTime(1) });
      t.strictSame(await storage.findRefreshToken(refresh.digest), refresh, 'the refresh token keeps the auth time');
    },
  },
  {
    name: 'a code saved without the OpenID Connect fields reads them as null',
    async run(t, { storage }, fx) {
      const { nonce: _nonce, authTime: _authTime, ...plain } = fx.authorizationCode();
      await storage.saveAuthorizationCode(plain);
      t.strictSame(await storage.findAuthorizationCode(plain.digest), { ...plain, nonce: null, authTime: null });
      const { access, refresh } = fx.tokenPair();
      const { authTime: _refreshAuthTime, ...bare } = refresh;
      await storage.saveTokens(access, bare);
      t.strictSame(await storage.findRefreshToken(bare.digest), { ...bare, authTime: null });
    },
  },
  {
    name: 'rotation saves the new refresh token with its auth time',
    async run(t, { storage }, fx) {
      const first = fx.tokenPair({}, { authTime: contractTime(-100) });
      await storage.saveTokens(first.access, first.refresh);
      const next = fx.tokenPair({ familyId: first.access.familyId }, { authTime: contractTime(-100) });
      t.equal(await storage.rotateRefreshToken(first.refresh.id, contractTime(5), next.access, next.refresh), true);
      t.strictSame(await storage.findRefreshToken(next.refresh.digest), next.refresh);
    },
  },
  {
    name: 'a client keeps its post-logout redirect URIs and ID token algorithm, and an update replaces them',
    async run(t, { storage }, fx) {
      const client = fx.client({ postLogoutRedirectUris: ['https://client.example/bye', 'http://127.0.0.1/out?x=1'], idTokenSignedResponseAlg: 'ES256' });
      await storage.createClient(client);
      t.strictSame(await storage.findClient(client.id), client);
      const updated = await storage.updateClient(client.id, { postLogoutRedirectUris: [], idTokenSignedResponseAlg: null, updatedAt: contractTime(9) });
      t.strictSame(updated, { ...client, postLogoutRedirectUris: [], idTokenSignedResponseAlg: null, updatedAt: contractTime(9) });
      const { postLogoutRedirectUris: _uris, idTokenSignedResponseAlg: _alg, ...older } = fx.client();
      await storage.createClient(older);
      const found = await storage.findClient(older.id);
      t.strictSame(found?.postLogoutRedirectUris, [], 'absent on input: none');
      t.equal(found?.idTokenSignedResponseAlg, null, 'and the default algorithm');
    },
  },
];
