// Refresh token rotation over HTTP with oauth4webapi, on the Kysely store over SQLite, MariaDB and
// PostgreSQL: the reuse interval on and off (off: concurrent presentations have one winner), and
// the family's absolute lifetime.
import * as oauth from 'oauth4webapi';
import { type Test } from 'tap';
import { onEachDatabase } from './databases.js';
import { buildTestApp, type TestAppOptions } from './helpers.js';

const insecure = { [oauth.allowInsecureRequests]: true };

async function setup(t: Test, databaseUrl: string, plugin: TestAppOptions['plugin']) {
  const { app, close } = await buildTestApp({ databaseUrl, plugin });
  t.teardown(close);
  const origin = await app.listen({ port: 0, host: '127.0.0.1' });
  const registered = await app.oauth.registerClient({ name: 'Rotating app', grantTypes: ['client_credentials', 'refresh_token'], scopes: ['read'] });
  const client: oauth.Client = { client_id: registered.client.id };
  const auth = oauth.ClientSecretBasic(registered.clientSecret!);
  const as: oauth.AuthorizationServer = { issuer: origin, token_endpoint: `${origin}/oauth/token`, introspection_endpoint: `${origin}/oauth/introspect` };
  const issue = () => app.oauth.issueTokens({ clientId: client.client_id, userId: 'carol', scope: ['read'], withRefreshToken: true });
  const refresh = async (token: string) =>
    oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, auth, token, insecure));
  const introspect = async (token: string) =>
    oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, token, insecure));
  return { issue, refresh, introspect };
}

onEachDatabase('refresh rotation over HTTP', async (t, databaseUrl) => {
  await t.test('reuse interval on: a retry within it gets its own live pair', async (t) => {
    const { issue, refresh, introspect } = await setup(t, databaseUrl, { refreshTokenReuseInterval: 60 });
    const original = (await issue()).refresh_token!;
    const first = await refresh(original);
    const retried = await refresh(original);
    t.not(retried.refresh_token, first.refresh_token);
    for (const token of [first.refresh_token!, retried.refresh_token!]) t.equal((await introspect(token)).active, true, 'both successors live');
  });

  await t.test('reuse interval off: of ten concurrent presentations exactly one wins, and the family is revoked', async (t) => {
    const { issue, refresh, introspect } = await setup(t, databaseUrl, {});
    const original = (await issue()).refresh_token!;
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => refresh(original)));
    const won = results.filter((result) => result.status === 'fulfilled');
    t.equal(won.length, 1, 'exactly one winner');
    for (const result of results) {
      if (result.status === 'rejected') t.match(result.reason, { error: 'invalid_grant', status: 400 });
    }
    t.equal((await introspect(won[0]!.value.refresh_token!)).active, false, "the losers' replay revoked the winner's family");
  });

  await t.test('refreshTokenMaxLifetime: a rotated token never outlives its family', async (t) => {
    const { issue, refresh, introspect } = await setup(t, databaseUrl, { refreshTokenMaxLifetime: 120 });
    const start = Math.floor(Date.now() / 1000);
    const original = (await issue()).refresh_token!;
    const rotated = await refresh(original);
    const { exp } = await introspect(rotated.refresh_token!);
    t.ok(exp! <= start + 121, `the successor ends with the family (exp ${exp} <= ${start + 121})`);
    t.ok(exp! >= start + 110, 'and not sooner than the family allows');
  });
});
