// RFC 8707 resource indicators and audience-bound tokens, through the plugin's endpoints and
// guards, on a SQLite file and on a private MariaDB database.
import { createHash, randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import type { OAuthStorage } from '@portcullis/core';
import fastifyPortcullis from '../src/index.js';
import { basicAuth, CookieJar, createTestScopes, FORM, form, ISSUER, readCsrfToken, registerSession } from './helpers.js';
import { onEachDatabase } from './reliability-helpers.js';

const MCP = `${ISSUER}/mcp`;
const OTHER = 'https://other.example.test/api';
const REDIRECT_URI = 'https://client.example.test/cb';
const METADATA = `${ISSUER}/.well-known/oauth-protected-resource`;

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The application: its own API (the issuer is its resource), an MCP route, and another API the server issues tokens for. */
async function buildApp(t: Test, storage: OAuthStorage) {
  const app = Fastify();
  await registerSession(app);
  app.post<{ Querystring: { user?: string } }>('/login', async (request) => {
    request.session.set('userId', request.query.user ?? 'alice');
    return { ok: true };
  });
  await app.register(fastifyPortcullis, {
    storage,
    scopes: createTestScopes(),
    issuer: ISSUER,
    development: true,
    resources: [OTHER],
    getUser: (request) => {
      const id = request.session.get('userId');
      return id === undefined ? null : { id };
    },
    loginUrl: '/login',
  });
  app.get('/api/me', { preHandler: app.requireScope('read') }, async (request) => request.oauth);
  app.post('/mcp', { preHandler: app.requireScope('polls:vote', { resource: MCP }) }, async (request) => request.oauth);
  await app.ready();
  t.teardown(() => app.close());
  const { client, clientSecret } = await app.oauth.registerClient({
    name: 'Agent',
    redirectUris: [REDIRECT_URI],
    scopes: ['read', 'polls:vote'],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
  });
  const limited = await app.oauth.registerClient({
    name: 'Limited',
    redirectUris: [REDIRECT_URI],
    scopes: ['read', 'polls:vote'],
    grantTypes: ['authorization_code', 'client_credentials'],
    resources: [ISSUER],
  });
  return {
    app,
    client: { id: client.id, auth: basicAuth(client.id, clientSecret!) },
    limited: { id: limited.client.id, auth: basicAuth(limited.client.id, limited.clientSecret!) },
  };
}

type App = Awaited<ReturnType<typeof buildApp>>;

/** Logs in, asks with `resource` values, approves; returns the redirect. */
async function authorize(app: FastifyInstance, clientId: string, resources: string[], challenge: string): Promise<LightMyRequestResponse> {
  const jar = new CookieJar();
  jar.store(await app.inject({ method: 'POST', url: '/login?user=alice' }));
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: 'read polls:vote',
    state: 'st',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  for (const resource of resources) query.append('resource', resource);
  const asked = await app.inject({ method: 'GET', url: `/oauth/authorize?${query}`, headers: { cookie: jar.header() } });
  if (asked.statusCode !== 200) return asked;
  jar.store(asked);
  return app.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'approve', csrf_token: readCsrfToken(asked.body) }),
  });
}

async function codeFor(t: Test, { app, client }: App, resources: string[]) {
  const { verifier, challenge } = pkce();
  const approved = await authorize(app, client.id, resources, challenge);
  t.equal(approved.statusCode, 303, 'approved');
  const code = new URL(approved.headers.location!).searchParams.get('code');
  t.ok(code, 'a code');
  return { code: code!, verifier };
}

function exchange(built: App, code: string, verifier: string, resources: string[]) {
  return built.app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { ...FORM, authorization: built.client.auth },
    payload: form({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI, resource: resources }),
  });
}

async function introspect(built: App, token: string): Promise<Record<string, unknown>> {
  const response = await built.app.inject({
    method: 'POST',
    url: '/oauth/introspect',
    headers: { ...FORM, authorization: built.client.auth },
    payload: form({ token }),
  });
  return response.json();
}

const call = (app: FastifyInstance, method: 'GET' | 'POST', url: string, token: string) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${token}` } });

onEachDatabase('resource indicators', async (t, database) => {
  await t.test('a code for two resources buys a token narrowed to one; the refresh narrows again, never widens', async (t) => {
    const built = await buildApp(t, database.storage);
    const { code, verifier } = await codeFor(t, built, [MCP, ISSUER]);

    const narrowed = await exchange(built, code, verifier, [MCP]);
    t.equal(narrowed.statusCode, 200);
    const tokens = narrowed.json<{ access_token: string; refresh_token: string }>();
    t.match(await introspect(built, tokens.access_token), { active: true, aud: MCP });
    t.match(await introspect(built, tokens.refresh_token), { active: true, aud: [MCP, ISSUER] }, 'the refresh token keeps the grant');

    const mcp = await call(built.app, 'POST', '/mcp', tokens.access_token);
    t.equal(mcp.statusCode, 200, 'the MCP route accepts a token for it');
    t.same(mcp.json().audience, [MCP]);
    const api = await call(built.app, 'GET', '/api/me', tokens.access_token);
    t.equal(api.statusCode, 401, 'the API refuses a token for the MCP server');
    t.equal(
      api.headers['www-authenticate'],
      `Bearer realm="${ISSUER}", error="invalid_token", error_description="The access token was not issued for this resource.", scope="read", resource_metadata="${METADATA}"`,
    );
    t.same(api.json(), { error: 'invalid_token', error_description: 'The access token was not issued for this resource.' });

    const widen = await built.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: built.client.auth },
      payload: form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, resource: OTHER }),
    });
    t.equal(widen.statusCode, 400, 'a resource outside the grant is refused');
    t.equal(widen.headers['cache-control'], 'no-store');
    t.same(widen.json(), {
      error: 'invalid_target',
      error_description: 'The resource was not granted to this authorization; a token can be narrowed to fewer resources, never widened.',
    });
    t.match(await introspect(built, tokens.refresh_token), { active: true }, 'the refused refresh changed nothing');

    const refreshed = await built.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: built.client.auth },
      payload: form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, resource: ISSUER }),
    });
    t.equal(refreshed.statusCode, 200);
    const next = refreshed.json<{ access_token: string; refresh_token: string }>();
    t.match(await introspect(built, next.access_token), { aud: ISSUER });
    t.match(await introspect(built, next.refresh_token), { aud: [MCP, ISSUER] });
    t.equal((await call(built.app, 'GET', '/api/me', next.access_token)).statusCode, 200, 'the API accepts it');
    const refused = await call(built.app, 'POST', '/mcp', next.access_token);
    t.equal(refused.statusCode, 401, 'the MCP route refuses it');
    t.match(refused.headers['www-authenticate'], `scope="polls:vote", resource_metadata="${ISSUER}/.well-known/oauth-protected-resource/mcp"`);
  });

  await t.test('the token endpoint refuses a resource the code was not granted, and the code stays good', async (t) => {
    const built = await buildApp(t, database.storage);
    const { code, verifier } = await codeFor(t, built, [MCP]);
    for (const resources of [[ISSUER], [MCP, OTHER], ['https://unknown.example.test/'], ['not a uri'], [`${MCP}#frag`]]) {
      const response = await exchange(built, code, verifier, resources);
      t.equal(response.statusCode, 400, resources.join(' '));
      t.equal(response.json().error, 'invalid_target');
    }
    const good = await exchange(built, code, verifier, []);
    t.equal(good.statusCode, 200, 'without resource the token gets the whole grant');
    t.match(await introspect(built, good.json().access_token), { aud: MCP });
  });

  await t.test('the authorization endpoint redirects invalid_target for an unknown, malformed or not-allowed resource', async (t) => {
    const built = await buildApp(t, database.storage);
    const cases: [string, string[]][] = [
      [built.client.id, ['https://unknown.example.test/api']],
      [built.client.id, ['/relative']],
      [built.client.id, [`${MCP}#fragment`]],
      [built.limited.id, [MCP]],
      [built.limited.id, [ISSUER, MCP]],
    ];
    for (const [clientId, resources] of cases) {
      const before = (await database.storage.listAuthorizationCodes({ clientId })).length;
      const response = await authorize(built.app, clientId, resources, pkce().challenge);
      t.equal(response.statusCode, 302, resources.join(' '));
      const location = new URL(response.headers.location!);
      t.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
      t.equal(location.searchParams.get('error'), 'invalid_target');
      t.equal(location.searchParams.get('state'), 'st');
      t.equal(location.searchParams.get('iss'), ISSUER);
      t.equal((await database.storage.listAuthorizationCodes({ clientId })).length, before, 'no code stored');
    }
    const allowed = await authorize(built.app, built.limited.id, [ISSUER], pkce().challenge);
    t.equal(allowed.statusCode, 303, 'the limited client gets its own resource');
  });

  await t.test('without resource a token gets the default audience, which the default guard accepts', async (t) => {
    const built = await buildApp(t, database.storage);
    const response = await built.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: built.client.auth },
      payload: form({ grant_type: 'client_credentials', scope: 'read polls:vote' }),
    });
    t.equal(response.statusCode, 200);
    const token = response.json().access_token as string;
    t.match(await introspect(built, token), { active: true, aud: ISSUER });
    const me = await call(built.app, 'GET', '/api/me', token);
    t.equal(me.statusCode, 200);
    t.match(me.json(), { protocol: 'oauth2', audience: [ISSUER], scope: ['read', 'polls:vote'] });
    t.equal((await call(built.app, 'POST', '/mcp', token)).statusCode, 401, 'the MCP route needs a token for it');

    const several = await built.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: built.client.auth },
      payload: form({ grant_type: 'client_credentials', scope: 'polls:vote', resource: [MCP, OTHER] }),
    });
    t.equal(several.statusCode, 200, 'repeated resource parameters are accepted');
    t.match(await introspect(built, several.json().access_token), { aud: [MCP, OTHER] });
    const repeatedScope = await built.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: built.client.auth },
      payload: form({ grant_type: 'client_credentials', scope: ['read', 'read'] }),
    });
    t.equal(repeatedScope.statusCode, 400, 'other parameters still may not repeat');
    t.equal(repeatedScope.json().error, 'invalid_request');
  });

  await t.test('a token with the scope but for another resource is refused; a token without the scope gets 403 with the metadata', async (t) => {
    const built = await buildApp(t, database.storage);
    const issue = async (scope: string, resource: string) => {
      const response = await built.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { ...FORM, authorization: built.limited.auth },
        payload: form({ grant_type: 'client_credentials', scope, resource }),
      });
      return response;
    };
    const notAllowed = await issue('polls:vote', MCP);
    t.equal(notAllowed.statusCode, 400);
    t.same(notAllowed.json(), { error: 'invalid_target', error_description: 'The resource is unknown to this server or not open to the client.' });
    const readOnly = (await issue('read', ISSUER)).json().access_token as string;
    const me = await call(built.app, 'GET', '/api/me', readOnly);
    t.equal(me.statusCode, 200);

    const other = await built.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: built.client.auth },
      payload: form({ grant_type: 'client_credentials', scope: 'read', resource: MCP }),
    });
    const forbidden = await call(built.app, 'POST', '/mcp', other.json().access_token);
    t.equal(forbidden.statusCode, 403);
    t.equal(
      forbidden.headers['www-authenticate'],
      `Bearer realm="${ISSUER}", error="insufficient_scope", error_description="This resource needs the scope 'polls:vote'.", scope="polls:vote", resource_metadata="${ISSUER}/.well-known/oauth-protected-resource/mcp"`,
    );
    t.same(forbidden.json(), { error: 'insufficient_scope', error_description: "This resource needs the scope 'polls:vote'." });
  });
});
