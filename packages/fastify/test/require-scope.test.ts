import formbody from '@fastify/formbody';
import t, { type Test } from 'tap';
import Fastify, { type FastifyInstance } from 'fastify';
import { MemoryStorage } from '@portcullis/core';
import fastifyPortcullis, { deriveAutoScope, type RequestAuth } from '../src/index.js';
import { buildTestApp, createTestScopes, FORM, form, ISSUER } from './helpers.js';

const CHALLENGE = `Bearer realm="${ISSUER}"`;
/** RFC 9728 section 5.1: every challenge names the metadata of the guarded resource (the issuer by default). */
const METADATA = `resource_metadata="${ISSUER}/.well-known/oauth-protected-resource"`;
/** The challenge of `/vote` without a token: the scope it needs and where its metadata is. */
const VOTE_CHALLENGE = `${CHALLENGE}, scope="polls:vote", ${METADATA}`;

function protectedRoutes(app: FastifyInstance): void {
  const echo = async (request: { oauth: RequestAuth | null }) => ({ oauth: request.oauth });
  app.get('/api/polls/:id/results', { preHandler: app.requireScope({ auto: true }) }, echo);
  app.get('/me', { preHandler: app.requireScope() }, echo);
  app.get('/vote', { preHandler: app.requireScope('polls:vote') }, echo);
  app.get('/both', { preHandler: app.requireScope('read', 'polls:vote') }, echo);
  app.get('/later', { preHandler: app.requireScope('polls:later') }, echo);
  // Defined after its guard was made: what counts is that it is defined when the server is ready.
  app.oauth.scopes.define({ name: 'polls:later' });
  app.get('/open', async (request) => ({ oauth: request.oauth }));
  // Form bodies on the application's own routes are the application's parser: register it.
  app.register(async (child) => {
    await child.register(formbody);
    child.post('/vote', { preHandler: child.requireScope('polls:vote') }, echo);
  });
}

async function setup(t: Test, plugin: Parameters<typeof buildTestApp>[0] = {}) {
  const built = await buildTestApp({ routes: protectedRoutes, ...plugin });
  t.teardown(built.close);
  const { client } = await built.app.oauth.registerClient({
    name: 'Voter',
    grantTypes: ['client_credentials'],
    scopes: ['read', 'write', 'polls:vote', 'polls:results'],
  });
  const issue = async (scope: string[], userId: string | null = 'alice') =>
    (await built.app.oauth.issueTokens({ clientId: client.id, userId, scope })).access_token;
  return { ...built, client, issue };
}

t.test('a valid token with the scope passes and fills request.oauth', async (t) => {
  const { app, client, issue } = await setup(t);
  const token = await issue(['polls:vote']);
  const response = await app.inject({ method: 'GET', url: '/vote', headers: { authorization: `Bearer ${token}` } });
  t.equal(response.statusCode, 200);
  const { oauth } = response.json();
  t.match(oauth, { protocol: 'oauth2', clientId: client.id, userId: 'alice', scope: ['polls:vote'] });
  t.type(oauth.tokenId, 'string');
  const lowercase = await app.inject({ method: 'GET', url: '/vote', headers: { authorization: `bearer ${token}` } });
  t.equal(lowercase.statusCode, 200, 'the scheme is case-insensitive');
});

t.test('request.oauth is null on routes without requireScope', async (t) => {
  const { app, issue } = await setup(t);
  const response = await app.inject({ method: 'GET', url: '/open', headers: { authorization: `Bearer ${await issue(['read'])}` } });
  t.same(response.json(), { oauth: null });
});

t.test('no token: 401 with a challenge naming the scope and the metadata, and no error code', async (t) => {
  const { app } = await setup(t);
  const response = await app.inject({ method: 'GET', url: '/vote' });
  t.equal(response.statusCode, 401);
  t.equal(response.headers['www-authenticate'], VOTE_CHALLENGE);
  t.equal(response.body, '');
  const basic = await app.inject({ method: 'GET', url: '/vote', headers: { authorization: 'Basic Zm9vOmJhcg==' } });
  t.equal(basic.statusCode, 401, 'another scheme is no bearer token');
  t.equal(basic.headers['www-authenticate'], VOTE_CHALLENGE);
});

t.test('a bad, revoked or expired token: 401 invalid_token', async (t) => {
  const { app, issue, client } = await setup(t);
  const unknown = await app.inject({ method: 'GET', url: '/vote', headers: { authorization: 'Bearer pca_nope' } });
  t.equal(unknown.statusCode, 401);
  t.same(unknown.json(), { error: 'invalid_token', error_description: 'The access token is invalid.' });
  t.equal(
    unknown.headers['www-authenticate'],
    `${CHALLENGE}, error="invalid_token", error_description="The access token is invalid.", scope="polls:vote", ${METADATA}`,
  );
  t.equal(unknown.headers['cache-control'], 'no-store');
  const token = await issue(['polls:vote']);
  await app.oauth.revokeGrant('alice', client.id);
  const revoked = await app.inject({ method: 'GET', url: '/vote', headers: { authorization: `Bearer ${token}` } });
  t.equal(revoked.statusCode, 401);
  t.equal(revoked.json().error, 'invalid_token');
});

t.test('too little scope: 403 insufficient_scope naming the scope', async (t) => {
  const { app, issue } = await setup(t);
  const token = await issue(['read']);
  const response = await app.inject({ method: 'GET', url: '/both', headers: { authorization: `Bearer ${token}` } });
  t.equal(response.statusCode, 403);
  t.same(response.json(), { error: 'insufficient_scope', error_description: "This resource needs the scope 'read polls:vote'." });
  t.equal(
    response.headers['www-authenticate'],
    `${CHALLENGE}, error="insufficient_scope", error_description="This resource needs the scope 'read polls:vote'.", scope="read polls:vote", ${METADATA}`,
  );
  const both = await app.inject({
    method: 'GET',
    url: '/both',
    headers: { authorization: `Bearer ${await issue(['read', 'polls:vote'])}` },
  });
  t.equal(both.statusCode, 200);
  const implied = await app.inject({
    method: 'GET',
    url: '/both',
    headers: { authorization: `Bearer ${await issue(['write', 'polls:vote'])}` },
  });
  t.equal(implied.statusCode, 200, 'write includes read');
});

t.test('requireScope() accepts any valid token; a scope defined after its guard, before ready, works', async (t) => {
  const { app, issue, storage, client } = await setup(t);
  const token = await issue(['read']);
  const any = await app.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${token}` } });
  t.equal(any.statusCode, 200);
  const later = await app.inject({ method: 'GET', url: '/later', headers: { authorization: `Bearer ${token}` } });
  t.equal(later.statusCode, 403);
  await storage.updateClient(client.id, { scopes: [...client.scopes, 'polls:later'] });
  const granted = await app.inject({
    method: 'GET',
    url: '/later',
    headers: { authorization: `Bearer ${await issue(['polls:later'])}` },
  });
  t.equal(granted.statusCode, 200);
});

const UNKNOWN_SCOPE = 'FST_PORTCULLIS_UNKNOWN_SCOPE';
const KNOWN = 'known scopes: read, write, polls:vote, polls:results';

t.test('a scope name the registry does not define stops the server at ready, naming it, its routes and the known scopes', async (t) => {
  const app = Fastify({ logger: false });
  t.teardown(() => app.close());
  await app.register(fastifyPortcullis, { storage: new MemoryStorage(), scopes: createTestScopes(), issuer: ISSUER, authorizationEndpoint: false });
  app.get('/votes', { preHandler: app.requireScope('polls:vot') }, async () => 'never');
  app.post('/votes', { preHandler: app.requireScope('polls:vot', 'read') }, async () => 'never');
  app.get('/typo', { preHandler: app.requireScope('raed') }, async () => 'never');
  const error = await app.inject({ method: 'GET', url: '/votes' }).then(() => null, (error: unknown) => error);
  t.match(error, {
    code: UNKNOWN_SCOPE,
    message: `requireScope names "polls:vot" (GET /votes, POST /votes), "raed" (GET /typo), which the scope registry does not define; ${KNOWN}. Fix the name, or define the scope in the "scopes" registry before the server is ready.`,
  });
});

t.test('an auto scope the registry does not define: at ready for a route option, on each request for a hook', async (t) => {
  const app = Fastify({ logger: false });
  t.teardown(() => app.close());
  await app.register(fastifyPortcullis, { storage: new MemoryStorage(), scopes: createTestScopes(), issuer: ISSUER, authorizationEndpoint: false });
  app.get('/api/polls/:id/result', { preHandler: app.requireScope({ auto: true }) }, async () => 'never');
  await t.rejects(async () => { await app.ready(); }, { code: UNKNOWN_SCOPE, message: /^requireScope names "polls:result" \(GET \/api\/polls\/:id\/result\)/ });

  const built = await buildTestApp({
    routes: (app) => {
      app.register(async (child) => {
        child.addHook('preHandler', child.requireScope({ auto: true }));
        child.get('/api/polls/:id/results', async (request) => request.oauth);
      }, { prefix: '/hooked' });
    },
  });
  t.teardown(built.close);
  const { client } = await built.app.oauth.registerClient({ name: 'Hooked', grantTypes: ['client_credentials'], scopes: ['polls:results'] });
  const { access_token: token } = await built.app.oauth.issueTokens({ clientId: client.id, userId: null, scope: ['polls:results'] });
  for (const attempt of [1, 2]) {
    // The full URL counts: /hooked/api/polls/:id/results names hooked:results, which is not defined.
    const refused = await built.app.inject({ method: 'GET', url: '/hooked/api/polls/1/results', headers: { authorization: `Bearer ${token}` } });
    t.equal(refused.statusCode, 500, `request ${attempt}`);
    t.same(refused.json(), { error: 'server_error', error_description: 'The authorization server met an unexpected condition.' });
  }
  t.match(built.app.oauth.declaredScopes(), [{ scope: 'hooked:results', defined: false, routes: [{ method: 'GET', url: '/hooked/api/polls/:id/results' }] }]);
});

t.test('form-body access_token (application/x-www-form-urlencoded only)', async (t) => {
  const { app, issue } = await setup(t);
  const token = await issue(['polls:vote']);
  const response = await app.inject({ method: 'POST', url: '/vote', headers: FORM, payload: form({ access_token: token }) });
  t.equal(response.statusCode, 200);
  t.equal(response.json().oauth.protocol, 'oauth2');
  const json = await app.inject({
    method: 'POST',
    url: '/vote',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ access_token: token }),
  });
  t.equal(json.statusCode, 401, 'a JSON access_token is not a bearer token');
  const repeated = await app.inject({
    method: 'POST',
    url: '/vote',
    headers: FORM,
    payload: form({ access_token: [token, token] }),
  });
  t.equal(repeated.statusCode, 400);
  t.equal(repeated.json().error, 'invalid_request');
});

t.test('query access_token: ignored by default, accepted with allowQueryToken', async (t) => {
  const off = await setup(t);
  const token = await off.issue(['polls:vote']);
  const ignored = await off.app.inject({ method: 'GET', url: `/vote?access_token=${token}` });
  t.equal(ignored.statusCode, 401);
  t.equal(ignored.headers['www-authenticate'], VOTE_CHALLENGE);

  const on = await setup(t, { plugin: { profile: 'oauth2.0', allowQueryToken: true } });
  const onToken = await on.issue(['polls:vote']);
  const accepted = await on.app.inject({ method: 'GET', url: `/vote?access_token=${onToken}` });
  t.equal(accepted.statusCode, 200);
});

t.test('more than one way of sending the token is invalid_request', async (t) => {
  const { app, issue } = await setup(t, { plugin: { profile: 'oauth2.0', allowQueryToken: true } });
  const token = await issue(['polls:vote']);
  const response = await app.inject({
    method: 'GET',
    url: `/vote?access_token=${token}`,
    headers: { authorization: `Bearer ${token}` },
  });
  t.equal(response.statusCode, 400);
  t.equal(response.json().error, 'invalid_request');
  t.match(response.headers['www-authenticate'], /^Bearer realm="[^"]+", error="invalid_request"/);
  const headerAndBody = await app.inject({
    method: 'POST',
    url: '/vote',
    headers: { ...FORM, authorization: `Bearer ${token}` },
    payload: form({ access_token: token }),
  });
  t.equal(headerAndBody.statusCode, 400);
  const empty = await app.inject({ method: 'GET', url: '/vote', headers: { authorization: 'Bearer ' } });
  t.equal(empty.statusCode, 400);
  t.equal(empty.json().error, 'invalid_request');
});

t.test('enforceSecure guards protected routes too', async (t) => {
  const { app, issue } = await setup(t, { plugin: { development: false }, fastify: { trustProxy: true } });
  const token = await issue(['polls:vote']);
  const plain = await app.inject({ method: 'GET', url: '/vote', headers: { authorization: `Bearer ${token}` } });
  t.equal(plain.statusCode, 400);
  t.same(plain.json(), { error: 'invalid_request', error_description: 'Protected resources are served over HTTPS only.' });
  const proxied = await app.inject({
    method: 'GET',
    url: '/vote',
    headers: { authorization: `Bearer ${token}`, 'x-forwarded-proto': 'https' },
  });
  t.equal(proxied.statusCode, 200);
});

t.test('scope_auto: the scope comes from the route URL', async (t) => {
  const { app, issue } = await setup(t);
  const wrong = await app.inject({
    method: 'GET',
    url: '/api/polls/7/results',
    headers: { authorization: `Bearer ${await issue(['polls:vote'])}` },
  });
  t.equal(wrong.statusCode, 403);
  t.match(wrong.headers['www-authenticate'], /scope="polls:results"/);
  const right = await app.inject({
    method: 'GET',
    url: '/api/polls/7/results',
    headers: { authorization: `Bearer ${await issue(['polls:results'])}` },
  });
  t.equal(right.statusCode, 200);
});

t.test('scope_auto in an addHook names no scope for a URL no route matches', async (t) => {
  const built = await buildTestApp({
    routes: (app) => {
      // On the root context the hook reaches the not-found handler too.
      app.addHook('preHandler', app.requireScope({ auto: true }));
      app.get('/api/polls/:id/results', async (request) => request.oauth);
    },
  });
  t.teardown(built.close);
  for (const url of ['/nope/1', '/api/things/x?y=1', '/nope', '/a/b/c/d']) {
    const answer = await built.app.inject({ method: 'GET', url });
    t.equal(answer.statusCode, 404, url);
    t.equal(answer.json().error, 'Not Found', url);
  }
  t.same(built.app.oauth.declaredScopes(), [], 'no scope is declared from a stranger\'s path');
  const guarded = await built.app.inject({ method: 'GET', url: '/api/polls/1/results' });
  t.equal(guarded.statusCode, 401, 'the matched route is still guarded');
});

t.test('scope_auto in an addHook resolves on the first request', async (t) => {
  const built = await buildTestApp({
    routes: (app) => {
      app.register(async (child) => {
        child.addHook('preHandler', child.requireScope({ auto: true, app: 'polls' }));
        child.get('/api/results/:id', async (request) => request.oauth);
      }, { prefix: '/hooked' });
    },
  });
  t.teardown(built.close);
  t.same(built.app.oauth.declaredScopes(), [], 'nothing declared before a request');
  const { client } = await built.app.oauth.registerClient({ name: 'Hooked', grantTypes: ['client_credentials'], scopes: ['polls:results', 'polls:vote'] });
  const issue = async (scope: string[]) => (await built.app.oauth.issueTokens({ clientId: client.id, userId: null, scope })).access_token;
  const refused = await built.app.inject({ method: 'GET', url: '/hooked/api/results/1', headers: { authorization: `Bearer ${await issue(['polls:vote'])}` } });
  t.equal(refused.statusCode, 403);
  t.match(refused.headers['www-authenticate'], /scope="polls:results"/);
  const passed = await built.app.inject({ method: 'GET', url: '/hooked/api/results/1', headers: { authorization: `Bearer ${await issue(['polls:results'])}` } });
  t.equal(passed.statusCode, 200);
  t.match(built.app.oauth.declaredScopes(), [{ scope: 'polls:results', defined: true, routes: [{ method: 'GET', url: '/hooked/api/results/:id' }] }]);
});

t.test('deriveAutoScope: the rule', async (t) => {
  t.equal(deriveAutoScope('/api/polls/:id/results', { auto: true }), 'polls:results');
  t.equal(deriveAutoScope('/v2/polls/:id/vote', { auto: true }), 'polls:vote');
  t.equal(deriveAutoScope('/api/v1.2/polls/:pollId/choices/:choiceId/votes', { auto: true }), 'polls:votes');
  t.equal(deriveAutoScope('/polls/stats', { auto: true }), 'polls:stats');
  t.equal(deriveAutoScope('/polls/:id', { auto: true, view: 'detail' }), 'polls:detail');
  t.equal(deriveAutoScope('/api/:id/results', { auto: true, app: 'my_polls' }), 'my_polls:results');
  t.equal(deriveAutoScope('/files/*', { auto: true, view: 'download' }), 'files:download');
  t.throws(() => deriveAutoScope('/polls/:id', { auto: true }), { code: 'FST_PORTCULLIS_SCOPE_AUTO' });
  t.throws(() => deriveAutoScope('/api/:id', { auto: true }), { code: 'FST_PORTCULLIS_SCOPE_AUTO' });
});

t.test('a route that scope_auto cannot name fails at registration', async (t) => {
  const built = await buildTestApp();
  t.teardown(built.close);
  // Routes cannot be added to a ready app: a second one, on the same store.
  const { default: Fastify } = await import('fastify');
  const { default: cookie } = await import('@fastify/cookie');
  const { default: session } = await import('@fastify/session');
  const { default: fastifyPortcullis } = await import('../src/index.js');
  const app = Fastify();
  await app.register(cookie);
  await app.register(session, { secret: 'x'.repeat(32) });
  await app.register(fastifyPortcullis, {
    storage: built.storage,
    issuer: ISSUER,
    getUser: () => null,
    loginUrl: '/login',
  });
  t.throws(() => app.get('/polls/:id', { preHandler: app.requireScope({ auto: true }) }, async () => 'x'), {
    code: 'FST_PORTCULLIS_SCOPE_AUTO',
  });
  await app.close();
});

t.test('declaredScopes lists every scope with its routes', async (t) => {
  const { app } = await setup(t);
  const declared = app.oauth.declaredScopes();
  t.same(
    declared.map((entry) => entry.scope),
    ['polls:later', 'polls:results', 'polls:vote', 'read'],
  );
  t.same(declared.find((entry) => entry.scope === 'polls:results'), {
    scope: 'polls:results',
    description: 'See poll results',
    defined: true,
    routes: [{ method: 'GET', url: '/api/polls/:id/results' }],
  });
  t.same(declared.find((entry) => entry.scope === 'polls:vote')!.routes, [
    { method: 'GET', url: '/vote' },
    { method: 'GET', url: '/both' },
    { method: 'POST', url: '/vote' },
  ]);
  t.match(declared.find((entry) => entry.scope === 'polls:later'), { defined: true, description: null }, 'defined after its guard');
});

t.test('requireScope refuses names that are not scope-tokens and bad options', async (t) => {
  const { app } = await setup(t);
  t.throws(() => app.requireScope('has space'), { code: 'FST_PORTCULLIS_INVALID_SCOPE' });
  t.throws(() => app.requireScope('quote"'), { code: 'FST_PORTCULLIS_INVALID_SCOPE' });
  t.throws(() => app.requireScope({ auto: false } as never), { code: 'FST_PORTCULLIS_INVALID_SCOPE' });
  t.throws(() => app.requireScope({ auto: true, app: 'a b' }), { code: 'FST_PORTCULLIS_INVALID_SCOPE' });
});

t.test('a storage failure is 503 temporarily_unavailable, on protected routes and OAuth endpoints', async (t) => {
  const { app, issue, closeDatabase } = await setup(t);
  const token = await issue(['polls:vote']);
  // Registered but never looked up, so no answer about it can come from the client cache.
  const { client } = await app.oauth.registerClient({ name: 'Unseen', grantTypes: ['client_credentials'], scopes: ['read'] });
  // The database goes away; the app stays up.
  await closeDatabase();
  const expected = {
    error: 'temporarily_unavailable',
    error_description: 'The authorization server cannot reach its storage; try again shortly.',
  };
  const guarded = await app.inject({ method: 'GET', url: '/vote', headers: { authorization: `Bearer ${token}` } });
  t.equal(guarded.statusCode, 503);
  t.equal(guarded.headers['retry-after'], '1');
  t.equal(guarded.headers['www-authenticate'], undefined);
  t.same(guarded.json(), expected);
  for (const url of ['/oauth/token', '/oauth/revoke', '/oauth/introspect']) {
    const response = await app.inject({
      method: 'POST',
      url,
      headers: FORM,
      payload: form({ grant_type: 'client_credentials', token, client_id: client.id, client_secret: 'pcs_x' }),
    });
    t.equal(response.statusCode, 503, url);
    t.same(response.json(), expected, url);
  }
  const authorize = await app.inject({ method: 'GET', url: `/oauth/authorize?response_type=code&client_id=${client.id}` });
  t.equal(authorize.statusCode, 503);
  t.match(authorize.headers['content-type'], /^text\/html/);
  t.equal(authorize.headers['retry-after'], '1');
  t.match(authorize.body, /temporarily_unavailable/);
  t.notMatch(authorize.body + guarded.body, /destroyed|sqlite|SELECT/i, 'driver messages stay on the server');
});

t.test('requireScope leaves the routes as the application wrote them', async (t) => {
  const seen = new Map<string, unknown>();
  const own = async () => undefined;
  const autoGuard: unknown[] = [];
  const built = await buildTestApp({
    routes: (app) => {
      // Runs after the plugin's own onRoute hook: it sees what Fastify will build the route from.
      app.addHook('onRoute', (route) => {
        if (route.url.startsWith('/kept')) seen.set(route.url, route.preHandler);
      });
      const list = [own, app.requireScope({ auto: true, app: 'polls' })];
      autoGuard.push(list, list[1]);
      app.get('/kept/polls/:id/results', { preHandler: list }, async (request) => request.oauth);
      const single = app.requireScope({ auto: true, app: 'polls', view: 'vote' });
      autoGuard.push(single);
      app.get('/kept/polls/:id', { preHandler: single }, async (request) => request.oauth);
    },
  });
  t.teardown(built.close);
  const [list, inList, single] = autoGuard as [unknown[], unknown, unknown];
  const listed = seen.get('/kept/polls/:id/results') as unknown[];
  t.equal(listed, list, 'the same preHandler array');
  t.same(listed, [own, inList], 'holding the same functions');
  t.equal(listed[1], inList);
  t.equal(seen.get('/kept/polls/:id'), single, 'a single preHandler is the same function');
  const { client } = await built.app.oauth.registerClient({ name: 'Kept', grantTypes: ['client_credentials'], scopes: ['polls:results', 'polls:vote'] });
  const issue = async (scope: string[]) => (await built.app.oauth.issueTokens({ clientId: client.id, userId: null, scope })).access_token;
  const results = await built.app.inject({ method: 'GET', url: '/kept/polls/1/results', headers: { authorization: `Bearer ${await issue(['polls:results'])}` } });
  t.equal(results.statusCode, 200, 'the scope comes from the matched route');
  const detail = await built.app.inject({ method: 'GET', url: '/kept/polls/1', headers: { authorization: `Bearer ${await issue(['polls:results'])}` } });
  t.equal(detail.statusCode, 403);
  t.match(detail.headers['www-authenticate'], /scope="polls:vote"/);
  t.match(built.app.oauth.declaredScopes(), [
    { scope: 'polls:results', routes: [{ method: 'GET', url: '/kept/polls/:id/results' }] },
    { scope: 'polls:vote', routes: [{ method: 'GET', url: '/kept/polls/:id' }] },
  ]);
});
