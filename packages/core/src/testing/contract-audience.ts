import type { ContractCase } from './contract-case.js';
import { contractTime } from './storage-fixtures.js';

const API = 'https://api.example/v1';
const MCP = 'https://mcp.example/mcp';

/**
 * RFC 8707: a client's resources (a list, or null for any) and the audience of codes and tokens
 * are kept exactly as given, through every operation that writes them, so the core can narrow
 * and check them.
 */
export const audienceCases: ContractCase[] = [
  {
    name: 'a client keeps its resources: a list, an empty list, or null for any',
    async run(t, { storage }, fx) {
      const limited = fx.client({ resources: [API, MCP] });
      const none = fx.client({ resources: [] });
      const any = fx.client({ resources: null });
      for (const client of [limited, none, any]) await storage.createClient(client);
      t.strictSame((await storage.findClient(limited.id))?.resources, [API, MCP], 'a list, in order');
      t.strictSame((await storage.findClient(none.id))?.resources, [], 'an empty list stays a list');
      t.equal((await storage.findClient(any.id))?.resources, null, 'null stays null');
      t.strictSame((await storage.updateClient(any.id, { resources: [MCP] }))?.resources, [MCP], 'updated to a list');
      t.equal((await storage.updateClient(limited.id, { resources: null }))?.resources, null, 'updated to null');
      t.strictSame((await storage.updateClient(none.id, { name: 'renamed' }))?.resources, [], 'an update without resources keeps them');
    },
  },
  {
    name: 'a code and the tokens it buys keep their audiences; a rotation saves the successors as given',
    async run(t, { storage }, fx) {
      const code = fx.authorizationCode({ audience: [API, MCP] });
      await storage.saveAuthorizationCode(code);
      t.strictSame((await storage.findAuthorizationCode(code.digest))?.audience, [API, MCP], 'the code');

      // Narrowed at the token endpoint: the access token for one resource, the refresh token for the grant's.
      const access = fx.accessToken({ clientId: code.clientId, familyId: code.familyId, audience: [MCP] });
      const refresh = fx.refreshToken(access, { audience: [API, MCP] });
      t.equal(await storage.redeemAuthorizationCode(code.id, contractTime(1), access, refresh), true, 'redeemed');
      t.strictSame((await storage.findAccessToken(access.digest))?.audience, [MCP], 'the narrowed access token');
      t.strictSame((await storage.findRefreshToken(refresh.digest))?.audience, [API, MCP], 'the refresh token keeps the grant');

      const nextAccess = fx.accessToken({ clientId: code.clientId, familyId: code.familyId, audience: [API] });
      const nextRefresh = fx.refreshToken(nextAccess, { audience: [API, MCP] });
      t.equal(await storage.rotateRefreshToken(refresh.id, contractTime(2), nextAccess, nextRefresh), true, 'rotated');
      t.strictSame((await storage.findAccessToken(nextAccess.digest))?.audience, [API], 'the rotated access token');
      t.strictSame((await storage.findRefreshToken(nextRefresh.digest))?.audience, [API, MCP], 'the rotated refresh token');

      const unbound = fx.accessToken({ clientId: 'client-b', audience: [] });
      await storage.saveTokens(unbound, null);
      t.strictSame((await storage.findAccessToken(unbound.digest))?.audience, [], 'a token for no resource');
      const listed = await storage.listAccessTokens({ clientId: code.clientId });
      t.strictSame(
        listed.map((token) => JSON.stringify(token.audience)).sort(),
        [JSON.stringify([API]), JSON.stringify([MCP])].sort(),
        'listAccessTokens carries the audiences',
      );
    },
  },
];
