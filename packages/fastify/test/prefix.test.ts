import t, { type Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import fastifyPortcullis from '../src/index.js';
import { basicAuth, buildTestApp, FORM, form, ISSUER } from './helpers.js';

/** The same checks whatever the mount: token, metadata, authorize redirect and a protected route. */
async function exercise(t: Test, app: FastifyInstance, root: string, protectedUrl: string) {
  const { client, clientSecret } = await app.oauth.registerClient({
    name: 'Mounted',
    grantTypes: ['client_credentials', 'authorization_code'],
    redirectUris: ['https://client.example/cb'],
    scopes: ['read', 'polls:results'],
  });
  const token = await app.inject({
    method: 'POST',
    url: `${root}/oauth/token`,
    headers: { ...FORM, authorization: basicAuth(client.id, clientSecret!) },
    payload: form({ grant_type: 'client_credentials', scope: 'polls:results' }),
  });
  t.equal(token.statusCode, 200);
  const accessToken = token.json().access_token as string;

  const metadata = await app.inject({ method: 'GET', url: `${root}/.well-known/oauth-authorization-server` });
  t.equal(metadata.statusCode, 200);
  t.equal(metadata.json().token_endpoint, `${ISSUER}${root}/oauth/token`);
  t.equal(metadata.json().authorization_endpoint, `${ISSUER}${root}/oauth/authorize`);

  const authorize = await app.inject({
    method: 'GET',
    url: `${root}/oauth/authorize?response_type=code&client_id=${client.id}&scope=read&code_challenge=${'c'.repeat(43)}&code_challenge_method=S256`,
  });
  t.equal(authorize.statusCode, 302);
  t.match(authorize.headers.location, new RegExp(`^/login\\?next=${encodeURIComponent(`${root}/oauth/authorize?`).replace(/[?]/g, '\\?')}`));

  const wrongType = await app.inject({
    method: 'POST',
    url: `${root}/oauth/revoke`,
    headers: { 'content-type': 'application/json' },
    payload: '{}',
  });
  t.equal(wrongType.statusCode, 400);
  t.equal(wrongType.json().error, 'invalid_request');

  const guarded = await app.inject({ method: 'GET', url: protectedUrl, headers: { authorization: `Bearer ${accessToken}` } });
  t.equal(guarded.statusCode, 200);
  t.equal(guarded.json().clientId, client.id);
  const refused = await app.inject({ method: 'GET', url: protectedUrl });
  t.equal(refused.statusCode, 401);
  t.equal(app.oauth.declaredScopes()[0]?.routes[0]?.url, protectedUrl.replace('/7/', '/:id/'));
}

t.test('registered with a prefix option', async (t) => {
  const { app, close } = await buildTestApp({
    mount: async (app, options) => {
      await app.register(fastifyPortcullis, { ...options, prefix: '/auth' });
    },
    routes: (app) => {
      app.get('/api/polls/:id/results', { preHandler: app.requireScope({ auto: true }) }, async (request) => request.oauth);
    },
  });
  t.teardown(close);
  t.equal(app.oauth.paths.token, '/auth/oauth/token');
  await exercise(t, app, '/auth', '/api/polls/7/results');
  t.equal((await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).statusCode, 404);
});

t.test('registered inside an encapsulated context under a prefix', async (t) => {
  let inner: FastifyInstance | undefined;
  const { app, close } = await buildTestApp({
    mount: async (app, options) => {
      await app.register(
        async (child) => {
          await child.register(fastifyPortcullis, options);
          // The full URL counts (it would give tenant:results), so the application is named.
          child.get('/api/polls/:id/results', { preHandler: child.requireScope({ auto: true, app: 'polls' }) }, async (request) => request.oauth);
          inner = child;
        },
        { prefix: '/tenant' },
      );
    },
  });
  t.teardown(close);
  t.notOk(app.hasDecorator('oauth'), 'the decorators stay in the context that registered the plugin');
  await exercise(t, inner!, '/tenant', '/tenant/api/polls/7/results');
});

/** The plugin registered with prefix `/auth` for the issuer `${ISSUER}/auth`. */
async function buildAuthMountedApp(t: Test): Promise<FastifyInstance> {
  const { app, close } = await buildTestApp({
    plugin: { issuer: `${ISSUER}/auth` },
    mount: async (app, options) => {
      await app.register(fastifyPortcullis, { ...options, prefix: '/auth' });
    },
  });
  t.teardown(close);
  return app;
}

t.test('an issuer with a path is not repeated in the metadata', async (t) => {
  const app = await buildAuthMountedApp(t);
  const metadata = await app.inject({ method: 'GET', url: '/auth/.well-known/oauth-authorization-server' });
  t.match(metadata.json(), {
    issuer: `${ISSUER}/auth`,
    token_endpoint: `${ISSUER}/auth/oauth/token`,
  });
});

t.test('an issuer with a path: the metadata is also at the RFC 8414 section 3.1 location', async (t) => {
  const app = await buildAuthMountedApp(t);
  const inserted = '/.well-known/oauth-authorization-server/auth';
  t.equal(app.oauth.paths.issuerMetadata, inserted);
  const atMount = await app.inject({ method: 'GET', url: '/auth/.well-known/oauth-authorization-server' });
  const atInserted = await app.inject({ method: 'GET', url: inserted });
  t.equal(atInserted.statusCode, 200);
  t.equal(atInserted.headers['content-type'], atMount.headers['content-type']);
  t.same(atInserted.json(), atMount.json(), 'the same document at both places');
  t.equal(atInserted.json().issuer, `${ISSUER}/auth`, 'the issuer the well-known URL was built from (section 3.3)');
  t.equal((await app.inject({ method: 'HEAD', url: inserted })).statusCode, 200);

  const post = await app.inject({ method: 'POST', url: inserted, headers: FORM, payload: form({ a: '1' }) });
  t.equal(post.statusCode, 405);
  t.equal(post.headers.allow, 'GET, HEAD');
  t.equal(post.headers['cache-control'], 'no-store');
  t.equal(post.json().error, 'invalid_request');
  t.type(post.json().error_description, 'string');

  // A body the endpoints do not parse gets the same JSON error at both places.
  const json = { method: 'PUT' as const, headers: { 'content-type': 'application/json' }, payload: '{"a":1}' };
  const jsonAtMount = await app.inject({ ...json, url: '/auth/.well-known/oauth-authorization-server' });
  const jsonAtInserted = await app.inject({ ...json, url: inserted });
  t.equal(jsonAtInserted.statusCode, jsonAtMount.statusCode);
  t.same(jsonAtInserted.json(), jsonAtMount.json());
  t.equal((await app.inject({ method: 'GET', url: `${inserted}/more` })).statusCode, 404);
});

t.test('the inserted location is not served where it cannot be: no issuer path, or a prefixed context', async (t) => {
  const plain = await buildTestApp();
  t.teardown(plain.close);
  t.equal(plain.app.oauth.paths.issuerMetadata, null);

  let inner: FastifyInstance | undefined;
  const nested = await buildTestApp({
    plugin: { issuer: `${ISSUER}/tenant` },
    mount: async (app, options) => {
      await app.register(
        async (child) => {
          await child.register(fastifyPortcullis, options);
          inner = child;
        },
        { prefix: '/tenant' },
      );
    },
  });
  t.teardown(nested.close);
  t.equal(inner!.oauth.paths.issuerMetadata, null);
  t.equal((await nested.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server/tenant' })).statusCode, 404);
  t.equal((await nested.app.inject({ method: 'GET', url: '/tenant/.well-known/oauth-authorization-server' })).statusCode, 200);
});
