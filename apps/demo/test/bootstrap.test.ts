import t from 'tap';
import { buildApp } from '../src/app.js';
import { bootstrapFirstStart } from '../src/bootstrap.js';
import { form, SECRET_KEY, SESSION_SECRET } from './helpers.js';

for (const development of [true, false]) {
  const mode = development ? 'development' : 'production';
  t.test(`the first start's sample client (${mode}): implicit and password only in development`, async (t) => {
    const app = await buildApp({ databaseUrl: 'sqlite::memory:', development, sessionSecret: SESSION_SECRET, secretKey: SECRET_KEY, trustProxy: 1 });
    t.teardown(() => app.close());
    await app.ready();
    const created = await bootstrapFirstStart(app, 'http://127.0.0.1:3000', development);
    if (!created) return t.fail('nothing was created on an empty database');
    const client = await app.demo.storage.findClient(created.client.clientId);
    const expected = development
      ? ['authorization_code', 'implicit', 'password', 'client_credentials', 'refresh_token']
      : ['authorization_code', 'client_credentials', 'refresh_token'];
    t.same(client?.grantTypes, expected);
    t.same(client?.responseTypes, development ? ['code', 'token'] : ['code']);
    t.equal(client?.oauth1Enabled, true, 'an OAuth 1.0a consumer, with a key configured');
    t.same(client?.redirectUris, ['http://127.0.0.1:3000/callback']);

    const tls = { 'x-forwarded-proto': 'https' };
    const { clientId, clientSecret } = created.client;
    const password = await app.inject({
      method: 'POST',
      url: '/oauth2/access_token/',
      ...form({ grant_type: 'password', username: 'admin', password: created.admin.password, client_id: clientId, client_secret: clientSecret }, tls),
    });
    if (development) t.equal(password.statusCode, 200, 'the walkthrough\'s password grant works');
    else {
      t.equal(password.statusCode, 400, 'no password grant in production');
      t.equal(password.json().error, 'unauthorized_client');
    }
    const implicit = await app.inject({
      url: `/oauth/authorize?response_type=token&client_id=${encodeURIComponent(clientId)}&redirect_uri=${encodeURIComponent('http://127.0.0.1:3000/callback')}&scope=polls%3Aread&state=s`,
      headers: tls,
    });
    if (development) {
      t.equal(implicit.statusCode, 302);
      t.match(String(implicit.headers.location), /^\/login\?returnTo=/, 'to the login page first');
    } else {
      t.equal(implicit.statusCode, 302, 'back to the client with an error');
      t.match(String(implicit.headers.location), /error=unsupported_response_type|error=unauthorized_client/);
    }
    const credentials = await app.inject({ method: 'POST', url: '/oauth/token', ...form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'polls:stats' }, tls) });
    t.equal(credentials.statusCode, 200, 'client credentials, as the walkthrough uses');
  });
}
