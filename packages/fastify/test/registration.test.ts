import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify, { type FastifyInstance } from 'fastify';
import t from 'tap';
import fastifyPortcullis, { fastifyPortcullis as named, type PortcullisOptions } from '../src/index.js';
import { buildTestApp, createTestStorage, FORM, form, ISSUER, SESSION_SECRET } from './helpers.js';

async function appWithSession(): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(fastifyCookie);
  await app.register(fastifySession, { secret: SESSION_SECRET, cookie: { secure: false } });
  return app;
}

async function start(app: FastifyInstance, options: PortcullisOptions): Promise<void> {
  await app.register(fastifyPortcullis, options);
  await app.ready();
}

t.test('options are checked at registration with stable codes', async (t) => {
  const { storage, close } = await createTestStorage();
  t.teardown(close);
  const valid: PortcullisOptions = { storage, issuer: ISSUER, getUser: () => null, loginUrl: '/login' };
  const cases: [string, Record<string, unknown>][] = [
    ['FST_PORTCULLIS_NO_STORAGE', { storage: undefined }],
    ['FST_PORTCULLIS_NO_STORAGE', { storage: {} }],
    ['FST_PORTCULLIS_NO_ISSUER', { issuer: undefined }],
    ['FST_PORTCULLIS_NO_ISSUER', { issuer: 'auth.example.test' }],
    ['FST_PORTCULLIS_NO_ISSUER', { issuer: 'https://auth.example.test/?tenant=1' }],
    ['FST_PORTCULLIS_NO_ISSUER', { issuer: 'ftp://auth.example.test' }],
    ['FST_PORTCULLIS_NO_GET_USER', { getUser: undefined }],
    ['FST_PORTCULLIS_NO_LOGIN_URL', { loginUrl: undefined }],
    ['FST_PORTCULLIS_NO_LOGIN_URL', { loginUrl: '' }],
    ['FST_PORTCULLIS_INVALID_OPTION', { routePrefix: 'oauth' }],
    ['FST_PORTCULLIS_INVALID_OPTION', { routePrefix: '/oauth/' }],
    ['FST_PORTCULLIS_INVALID_OPTION', { sessionKey: 'has space' }],
    ['FST_PORTCULLIS_INVALID_OPTION', { allowQueryToken: 'yes' }],
    ['FST_PORTCULLIS_INVALID_OPTION', { renderConsent: 'page.html' }],
    ['FST_PORTCULLIS_INVALID_OPTION', { authorizationEndpoint: 'no' }],
    ['FST_PORTCULLIS_INVALID_OPTION', { resourceServer: 'remote' }],
    ['FST_PORTCULLIS_INVALID_OPTION', { resourceServer: { introspection: null } }],
    ['FST_PORTCULLIS_INVALID_OPTION', { resourceServer: { introspection: { url: '/introspect', clientId: 'rs', clientSecret: 's' } } }],
    ['FST_PORTCULLIS_INVALID_OPTION', { resourceServer: { introspection: { url: 'https://as.test/i', clientId: '', clientSecret: 's' } } }],
    ['FST_PORTCULLIS_INVALID_OPTION', { resourceServer: { introspection: { url: 'https://as.test/i', clientId: 'rs', clientSecret: 's', cacheTtl: -1 } } }],
    ['FST_PORTCULLIS_INVALID_OPTION', { resourceServer: { introspection: { url: 'https://as.test/i', clientId: 'rs', clientSecret: 's', cacheSize: 0 } } }],
    ['FST_PORTCULLIS_NO_STORAGE', { storage: undefined, resourceServer: true }],
    ['FST_PORTCULLIS_INVALID_OPTION', { resourceServer: { introspection: { url: 'http://as.test/i', clientId: 'rs', clientSecret: 's' } } }],
    ['FST_PORTCULLIS_INVALID_OPTION', { resourceServer: {} }],
    ['FST_PORTCULLIS_INVALID_OPTION', { resourceServer: { jwt: null } }],
    ['FST_PORTCULLIS_INVALID_OPTION', { resourceServer: { jwt: { jwksUri: 'http://as.test/jwks.json' } } }],
    ['FST_PORTCULLIS_INVALID_OPTION', { resourceServer: { jwt: { issuer: 'http://as.test' } } }],
    ['FST_PORTCULLIS_INVALID_OPTION', { resourceServer: { jwt: { algorithms: ['HS256'] } } }],
    ['FST_PORTCULLIS_INVALID_OPTION', { resourceServer: { jwt: { cooldown: -1 } } }],
    ['FST_PORTCULLIS_INVALID_OPTION', { resourceServer: { jwt: { timeout: 0 } } }],
  ];
  for (const [code, change] of cases) {
    const app = await appWithSession();
    await t.rejects(start(app, { ...valid, ...change } as PortcullisOptions), { code }, JSON.stringify(change));
    await app.close();
  }
  const app = await appWithSession();
  await t.rejects(start(app, { ...valid, accessTokenTtl: -1 }), /accessTokenTtl/, 'core options are checked by the core');
  await app.close();
  const jwtApp = await appWithSession();
  await t.rejects(start(jwtApp, { ...valid, accessTokenFormat: 'jwt' }), /JWT access tokens need options.signingKeys/, 'jwt needs signing keys');
  await jwtApp.close();
});

t.test('the browser endpoints need a session; without them, neither getUser, loginUrl nor a session is needed', async (t) => {
  const { storage, close } = await createTestStorage();
  t.teardown(close);
  const withBrowser = Fastify();
  await t.rejects(start(withBrowser, { storage, issuer: ISSUER, getUser: () => null, loginUrl: '/login' }), {
    code: 'FST_PORTCULLIS_NO_SESSION',
  });
  await withBrowser.close();
  for (const mode of [{ authorizationEndpoint: false }, { resourceServer: true }] as const) {
    const app = Fastify();
    await start(app, { storage, issuer: ISSUER, ...mode });
    t.notOk(app.hasRoute({ method: 'GET', url: '/oauth/authorize' }), `${JSON.stringify(mode)}: no authorization endpoint`);
    t.equal(app.hasRoute({ method: 'POST', url: '/oauth/token' }), 'authorizationEndpoint' in mode, `${JSON.stringify(mode)}: token endpoint`);
    await app.close();
  }
  const oauth1 = Fastify();
  await start(oauth1, { storage, issuer: ISSUER, authorizationEndpoint: false, oauth1: true, secretKey: 'k'.repeat(43) });
  t.ok(oauth1.hasRoute({ method: 'POST', url: '/oauth1/request_token' }), 'OAuth 1.0a credentials need no session');
  t.ok(oauth1.hasRoute({ method: 'POST', url: '/oauth1/access_token' }));
  t.notOk(oauth1.hasRoute({ method: 'GET', url: '/oauth1/authorize' }), 'its browser step is not mounted');
  await oauth1.close();
  const remote = Fastify();
  await t.rejects(
    start(remote, {
      issuer: ISSUER,
      oauth1: true,
      secretKey: 'k'.repeat(43),
      resourceServer: { introspection: { url: 'https://auth.example.test/oauth/introspect', clientId: 'rs', clientSecret: 's' } },
    }),
    { code: 'FST_PORTCULLIS_INVALID_OPTION', message: /"storage"/ },
    'OAuth 1.0a signatures cannot be checked remotely',
  );
  await remote.close();
});

t.test('token-only: the metadata offers no authorization endpoint, response type or browser grant', async (t) => {
  const { storage, close } = await createTestStorage();
  t.teardown(close);
  const app = Fastify();
  t.teardown(() => app.close());
  await start(app, { storage, issuer: ISSUER, authorizationEndpoint: false, profile: 'oauth2.0', allowPlainPkce: true, verifyUser: async () => null });
  const response = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
  t.equal(response.statusCode, 200);
  t.strictSame(response.json(), {
    issuer: ISSUER,
    token_endpoint: `${ISSUER}/oauth/token`,
    revocation_endpoint: `${ISSUER}/oauth/revoke`,
    introspection_endpoint: `${ISSUER}/oauth/introspect`,
    response_types_supported: [],
    grant_types_supported: ['refresh_token', 'client_credentials', 'password'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    scopes_supported: ['read', 'write'],
  });
});

t.test('a resource server asking a remote authorization server: fastify.oauth without a store', async (t) => {
  const app = Fastify();
  t.teardown(() => app.close());
  await app.register(fastifyPortcullis, {
    issuer: ISSUER,
    resourceServer: { introspection: { url: 'https://auth.example.test/oauth/introspect', clientId: 'rs', clientSecret: 's' } },
  });
  app.get('/photos', { preHandler: app.requireScope('read') }, async () => 'photos');
  await app.ready();
  t.ok(app.hasDecorator('oauth'));
  t.ok(Object.isFrozen(app.oauth));
  t.same(app.oauth.declaredScopes(), [{ scope: 'read', description: 'Read your data', defined: true, routes: [{ method: 'GET', url: '/photos' }] }]);
  t.same(app.oauth.scopes.list().map((scope) => scope.name), ['read', 'write']);
  t.equal(app.oauth.oauth1, null);
  const code = 'FST_PORTCULLIS_NO_LOCAL_SERVER';
  t.throws(() => app.oauth.server, { code, message: /fastify\.oauth\.server needs the "storage" option/ });
  await t.rejects(app.oauth.registerClient({ name: 'x', redirectUris: [] }), { code, message: /registerClient/ });
  await t.rejects(app.oauth.revokeGrant('alice', 'client'), { code });
  await t.rejects(app.oauth.issueTokens({ clientId: 'client', userId: null }), { code });
  await t.rejects(app.oauth.deleteClient('client'), { code, message: /deleteClient/ });
  await t.rejects(app.oauth.purgeExpired(), { code });
});

t.test('the plugin is fastify-plugin wrapped with its name, and decorates the instance and requests', async (t) => {
  t.equal((fastifyPortcullis as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')], '@portcullis/fastify');
  t.equal(named, fastifyPortcullis, 'the default and the named export are one function');
  const { app, close } = await buildTestApp({
    routes: (app) => {
      app.get('/who', async (request) => ({ oauth: request.oauth, has: app.hasRequestDecorator('oauth') }));
    },
  });
  t.teardown(close);
  t.ok(app.hasDecorator('oauth'));
  t.ok(app.hasDecorator('requireScope'));
  t.equal(typeof app.oauth.server.verifyAccessToken, 'function');
  t.same(app.oauth.paths, {
    authorization: '/oauth/authorize',
    token: '/oauth/token',
    revocation: '/oauth/revoke',
    introspection: '/oauth/introspect',
    registration: '/oauth/register',
    deviceAuthorization: '/oauth/device_authorization',
    deviceVerification: '/oauth/device',
    metadata: '/.well-known/oauth-authorization-server',
    jwks: '/oauth/jwks.json',
    issuerMetadata: null,
    oauth1: null,
    openid: null,
  });
  t.equal(app.oauth.oauth1, null, 'OAuth 1.0a is off by default');
  const response = await app.inject({ method: 'GET', url: '/who' });
  t.same(response.json(), { oauth: null, has: true });
});

t.test('fastify.oauth is read-only and holds what applications use', async (t) => {
  const { app, close } = await buildTestApp({ plugin: { oauth1: true, secretKey: '4a'.repeat(32) } });
  t.teardown(close);
  t.same(Object.keys(app.oauth).sort(), [
    'declaredScopes',
    'deleteClient',
    'issueTokens',
    'oauth1',
    'paths',
    'protectedResources',
    'purgeExpired',
    'registerClient',
    'resourceMetadataUrl',
    'revokeGrant',
    'rotateSigningKeys',
    'scopes',
    'server',
    'setClientDisabled',
  ]);
  const loose = app as unknown as Record<string, unknown>;
  const decorator = app.oauth as unknown as Record<string, unknown>;
  const paths = app.oauth.paths as unknown as Record<string, unknown>;
  const oauth1Paths = app.oauth.paths.oauth1 as unknown as Record<string, unknown>;
  const original = app.oauth;
  t.throws(() => {
    loose.oauth = {};
  }, TypeError);
  t.throws(() => {
    decorator.server = null;
  }, TypeError);
  t.throws(() => {
    decorator.verifiers = [];
  }, TypeError);
  t.throws(() => {
    paths.token = '/elsewhere';
  }, TypeError);
  t.throws(() => {
    oauth1Paths.authorization = '/elsewhere';
  }, TypeError);
  t.equal(app.oauth, original);
  t.equal(app.oauth.paths.token, '/oauth/token');
  t.equal(app.oauth.paths.oauth1?.authorization, '/oauth1/authorize');
});

t.test('the OAuth routes do not change the application: its JSON parser and error handler stay', async (t) => {
  const { app, close } = await buildTestApp({
    routes: (app) => {
      app.post('/echo', async (request) => ({ body: request.body }));
      app.get('/boom', async () => {
        throw new Error('boom');
      });
      app.setErrorHandler((_error, _request, reply) => reply.code(500).send({ app: 'handler' }));
    },
  });
  t.teardown(close);
  const echo = await app.inject({ method: 'POST', url: '/echo', payload: { a: 1 } });
  t.same(echo.json(), { body: { a: 1 } });
  const boom = await app.inject({ method: 'GET', url: '/boom' });
  t.same(boom.json(), { app: 'handler' });
});

t.test('admin operations on fastify.oauth: issueTokens, revokeGrant, purgeExpired', async (t) => {
  const { app, close, storage } = await buildTestApp();
  t.teardown(close);
  const { client } = await app.oauth.registerClient({ name: 'Admin', scopes: ['read'], redirectUris: ['https://a.example/cb'] });
  const issued = await app.oauth.issueTokens({ clientId: client.id, userId: 'alice', scope: ['read'], withRefreshToken: true });
  t.match(issued, { token_type: 'Bearer', scope: 'read' });
  t.match(issued.refresh_token, /^pcr_/);
  t.equal(await app.oauth.revokeGrant('alice', client.id), 2);
  const live = await storage.listAccessTokens({ clientId: client.id, liveAt: new Date() });
  t.equal(live.length, 0);
  t.match(await app.oauth.purgeExpired(), { accessTokens: 0 });
});

t.test('custom routePrefix', async (t) => {
  const { app, close } = await buildTestApp({ plugin: { routePrefix: '/auth/v2' } });
  t.teardown(close);
  const response = await app.inject({ method: 'POST', url: '/auth/v2/token', headers: FORM, payload: form({ grant_type: 'client_credentials' }) });
  t.equal(response.statusCode, 401);
  t.equal(response.json().error, 'invalid_client');
  t.equal((await app.inject({ method: 'POST', url: '/oauth/token', headers: FORM, payload: '' })).statusCode, 404);
  const metadata = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
  t.equal(metadata.json().token_endpoint, `${ISSUER}/auth/v2/token`);
});
