// Two applications: A, an authorization server for machine clients (token endpoints only, no
// session, no cookie plugin), and B, a resource server that mounts no endpoint and checks A's
// tokens either in the same database or at A's introspection endpoint over HTTP. On a SQLite file
// and on a private MariaDB database.
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import fastifyPortcullis, { type PortcullisOptions, type PortcullisOptionsBase } from '../src/index.js';
import { basicAuth, createTestScopes, FORM, form, ISSUER } from './helpers.js';
import { onEachDatabase, type TestDatabase } from './reliability-helpers.js';

const CACHE_TTL = 5;
const ACCESS_TOKEN_TTL = 60;

/** Every response carries no cookie: neither app has a session. */
function assertNoCookie(t: Test, response: LightMyRequestResponse, what: string): void {
  t.equal(response.headers['set-cookie'], undefined, `${what}: no Set-Cookie`);
}

/** A protected route, as both apps serve it. */
function registerMe(app: FastifyInstance): void {
  app.get('/api/me', { preHandler: app.requireScope('read') }, async (request) => request.oauth);
}

interface AuthorizationServerApp {
  app: FastifyInstance;
  introspectionUrl: string;
  /** Requests that reached A's introspection endpoint. */
  introspections: () => number;
  machine: { id: string; auth: string };
  resource: { id: string; secret: string };
  /** A client_credentials token for the machine client, through A's token endpoint. */
  token: (t: Test) => Promise<string>;
  revoke: (token: string) => Promise<void>;
}

async function startAuthorizationServer(t: Test, database: TestDatabase, clock: () => Date): Promise<AuthorizationServerApp> {
  let resourceServerId = '';
  let introspections = 0;
  const app = Fastify();
  await app.register(formbody);
  await app.register(fastifyPortcullis, {
    storage: database.storage,
    scopes: createTestScopes(),
    issuer: ISSUER,
    development: true,
    clock,
    accessTokenTtl: ACCESS_TOKEN_TTL,
    authorizationEndpoint: false,
    // RFC 7662 section 4: the resource server may learn about every client's tokens.
    introspectionPolicy: (client) => client.id === resourceServerId,
  });
  registerMe(app);
  app.addHook('onRequest', async (request) => {
    if (request.url === '/oauth/introspect') introspections++;
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const address = app.server.address() as { port: number };

  const machine = await app.oauth.registerClient({ name: 'Machine', scopes: ['read'], grantTypes: ['client_credentials'] });
  const resource = await app.oauth.registerClient({ name: 'Resource server', scopes: [], grantTypes: ['client_credentials'] });
  resourceServerId = resource.client.id;
  const machineAuth = basicAuth(machine.client.id, machine.clientSecret!);
  return {
    app,
    introspectionUrl: `http://127.0.0.1:${address.port}/oauth/introspect`,
    introspections: () => introspections,
    machine: { id: machine.client.id, auth: machineAuth },
    resource: { id: resource.client.id, secret: resource.clientSecret! },
    token: async (t) => {
      const response = await app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { ...FORM, authorization: machineAuth },
        payload: form({ grant_type: 'client_credentials', scope: 'read' }),
      });
      t.equal(response.statusCode, 200, 'A issues a client_credentials token');
      assertNoCookie(t, response, 'token response');
      return response.json<{ access_token: string }>().access_token;
    },
    revoke: async (token) => {
      const response = await app.inject({
        method: 'POST',
        url: '/oauth/revoke',
        headers: { ...FORM, authorization: machineAuth },
        payload: form({ token }),
      });
      if (response.statusCode !== 200) throw new Error(`revocation answered ${response.statusCode}`);
    },
  };
}

async function startResourceServer(t: Test, options: Partial<PortcullisOptionsBase>): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(fastifyPortcullis, { issuer: ISSUER, scopes: createTestScopes(), development: true, ...options } as PortcullisOptions);
  registerMe(app);
  await app.ready();
  t.teardown(() => app.close());
  return app;
}

function callMe(app: FastifyInstance, token: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } });
}

async function runResourceServer(t: Test, database: TestDatabase): Promise<void> {
  let now = Date.now();
  const clock = () => new Date(now);
  const as = await startAuthorizationServer(t, database, clock);

  await t.test('A alone: formbody and the plugin, no session or cookie plugin, issues and protects', async (t) => {
    t.notOk(as.app.hasPlugin('@fastify/session'));
    t.notOk(as.app.hasPlugin('@fastify/cookie'));
    t.notOk(as.app.hasRoute({ method: 'GET', url: '/oauth/authorize' }), 'no authorization endpoint');
    const token = await as.token(t);
    const response = await callMe(as.app, token);
    t.equal(response.statusCode, 200);
    t.match(response.json(), { clientId: as.machine.id, userId: null, scope: ['read'] });
    assertNoCookie(t, response, 'resource response');
    const metadata = await as.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
    t.equal(metadata.statusCode, 200);
    assertNoCookie(t, metadata, 'metadata');
  });

  await t.test('B on the same storage accepts A tokens and refuses a revoked one at once', async (t) => {
    const b = await startResourceServer(t, { storage: database.storage, resourceServer: true });
    t.notOk(b.hasRoute({ method: 'POST', url: '/oauth/token' }), 'a resource server mounts no endpoint');
    const token = await as.token(t);
    const accepted = await callMe(b, token);
    t.equal(accepted.statusCode, 200);
    t.match(accepted.json(), { protocol: 'oauth2', clientId: as.machine.id, scope: ['read'] });
    assertNoCookie(t, accepted, 'B resource response');
    await as.revoke(token);
    const refused = await callMe(b, token);
    t.equal(refused.statusCode, 401);
    t.match(refused.headers['www-authenticate'], /^Bearer realm="[^"]+", error="invalid_token"/);
    const anonymous = await b.inject({ method: 'GET', url: '/api/me' });
    t.equal(anonymous.statusCode, 401);
    t.equal(
      anonymous.headers['www-authenticate'],
      `Bearer realm="${ISSUER}", scope="read", resource_metadata="${ISSUER}/.well-known/oauth-protected-resource"`,
    );
  });

  const remote = (extra: Record<string, unknown> = {}) => ({
    clock,
    resourceServer: {
      introspection: { url: as.introspectionUrl, clientId: as.resource.id, clientSecret: as.resource.secret, cacheTtl: CACHE_TTL, ...extra },
    },
  });

  await t.test('B by remote introspection: accepted, cached, and a revoked token refused once the cache bound passes', async (t) => {
    const b = await startResourceServer(t, remote());
    t.throws(() => b.oauth.server, { code: 'FST_PORTCULLIS_NO_LOCAL_SERVER' }, 'no store to administer');
    const token = await as.token(t);
    const before = as.introspections();
    const accepted = await callMe(b, token);
    t.equal(accepted.statusCode, 200);
    t.match(accepted.json(), { protocol: 'oauth2', clientId: as.machine.id, userId: null, scope: ['read'] });
    assertNoCookie(t, accepted, 'B resource response');
    t.equal(as.introspections(), before + 1, 'B asked A once');

    await as.revoke(token);
    now += CACHE_TTL * 1000 - 1;
    t.equal((await callMe(b, token)).statusCode, 200, 'within the cache bound the answer is reused');
    t.equal(as.introspections(), before + 1, 'without asking A again');
    now += 1;
    const refused = await callMe(b, token);
    t.equal(refused.statusCode, 401, `refused ${CACHE_TTL} s after the first answer`);
    t.match(refused.headers['www-authenticate'], /^Bearer realm="[^"]+", error="invalid_token"/);
    t.equal(as.introspections(), before + 2);

    // Inactive answers are not kept: each try asks again.
    t.equal((await callMe(b, token)).statusCode, 401);
    t.equal(as.introspections(), before + 3);
  });

  await t.test("B's cache never outlives the token's exp", async (t) => {
    const b = await startResourceServer(t, remote({ cacheTtl: 3600 }));
    const token = await as.token(t);
    t.equal((await callMe(b, token)).statusCode, 200);
    const asked = as.introspections();
    now += ACCESS_TOKEN_TTL * 1000 - 1000;
    t.equal((await callMe(b, token)).statusCode, 200);
    t.equal(as.introspections(), asked, 'cached until exp');
    now += 1000;
    t.equal((await callMe(b, token)).statusCode, 401, 'expired at exp, whatever the cache time');
  });

  await t.test("B's cache holds at most cacheSize answers", async (t) => {
    const b = await startResourceServer(t, remote({ cacheSize: 1 }));
    const first = await as.token(t);
    const second = await as.token(t);
    const asked = as.introspections();
    for (const token of [first, second, first]) t.equal((await callMe(b, token)).statusCode, 200);
    t.equal(as.introspections(), asked + 3, 'the second answer pushed the first one out');
    t.equal((await callMe(b, first)).statusCode, 200);
    t.equal(as.introspections(), asked + 3, 'the last one is kept');
  });

  await t.test('concurrent requests with one token ask A once', async (t) => {
    const b = await startResourceServer(t, remote());
    const token = await as.token(t);
    const asked = as.introspections();
    const answers = await Promise.all(Array.from({ length: 5 }, () => callMe(b, token)));
    t.same(answers.map((answer) => answer.statusCode), [200, 200, 200, 200, 200]);
    t.equal(as.introspections(), asked + 1);
  });

  await t.test('a refresh token buys no resource at B, though A calls it active', async (t) => {
    const b = await startResourceServer(t, remote());
    const issued = await as.app.oauth.issueTokens({ clientId: as.machine.id, userId: 'alice', scope: ['read'], withRefreshToken: true });
    const user = await callMe(b, issued.access_token);
    t.equal(user.statusCode, 200);
    t.match(user.json(), { userId: 'alice' }, "the token's user reaches request.oauth");
    t.equal((await callMe(b, issued.refresh_token!)).statusCode, 401);
  });

  await t.test('A failing is 503 at B, never 500 and never a pass', async (t) => {
    const rightSecret = await startResourceServer(t, remote({ cacheTtl: 0 }));
    const token = await as.token(t);
    const misconfigured = await startResourceServer(t, {
      clock,
      resourceServer: { introspection: { url: as.introspectionUrl, clientId: as.resource.id, clientSecret: 'wrong' } },
    });
    const unreachable = await startResourceServer(t, {
      resourceServer: { introspection: { url: 'http://127.0.0.1:9/oauth/introspect', clientId: 'rs', clientSecret: 's', timeout: 2000 } },
    });
    for (const [name, app] of [['wrong secret', misconfigured], ['unreachable', unreachable]] as const) {
      const response = await callMe(app, token);
      t.equal(response.statusCode, 503, name);
      t.match(response.json(), { error: 'temporarily_unavailable' }, name);
      t.equal(response.headers['retry-after'], '1', name);
      t.equal(response.headers['set-cookie'], undefined, name);
    }
    t.equal((await callMe(rightSecret, token)).statusCode, 200, 'the right secret still passes');
  });
}

onEachDatabase('resource server', runResourceServer);
