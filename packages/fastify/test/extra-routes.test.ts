import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { sendOAuthError, sendOAuthResponse, toOAuthRequest } from '../src/index.js';
import { basicAuth, buildTestApp, FORM, form } from './helpers.js';

/** An application's own OAuth route: a second path to the token endpoint, as a legacy alias. */
function tokenAlias(app: FastifyInstance): void {
  app.register(async (child) => {
    const { default: formbody } = await import('@fastify/formbody');
    await child.register(formbody);
    child.post('/legacy/token', async (request, reply) => {
      try {
        return sendOAuthResponse(reply, await app.oauth.server.handleTokenRequest(toOAuthRequest(request)));
      } catch (error) {
        return sendOAuthError(reply, error);
      }
    });
  });
}

t.test('the exported adapters mount a core endpoint on an application route', async (t) => {
  const built = await buildTestApp({ routes: tokenAlias });
  t.teardown(built.close);
  const { app } = built;
  const { client, clientSecret } = await app.oauth.registerClient({
    name: 'Legacy',
    grantTypes: ['client_credentials'],
    scopes: ['read'],
  });
  const issued = await app.inject({
    method: 'POST',
    url: '/legacy/token',
    headers: { ...FORM, authorization: basicAuth(client.id, clientSecret!) },
    payload: form({ grant_type: 'client_credentials', scope: 'read' }),
  });
  t.equal(issued.statusCode, 200);
  t.equal(issued.headers['cache-control'], 'no-store');
  t.match(issued.json(), { token_type: 'Bearer', scope: 'read', access_token: /^pca_/ });
  const verified = await app.oauth.server.verifyAccessToken(issued.json().access_token);
  t.equal(verified.clientId, client.id);

  const wrongSecret = await app.inject({
    method: 'POST',
    url: '/legacy/token',
    headers: { ...FORM, authorization: basicAuth(client.id, 'wrong') },
    payload: form({ grant_type: 'client_credentials' }),
  });
  t.equal(wrongSecret.statusCode, 401);
  t.equal(wrongSecret.json().error, 'invalid_client');
  t.match(wrongSecret.headers['www-authenticate'], /^Basic/);

  // Thrown by the adapter itself: an RFC 6749 section 5.2 body, not Fastify's default 500.
  const badHost = await app.inject({
    method: 'POST',
    url: '/legacy/token',
    headers: { ...FORM, host: 'bad host' },
    payload: form({ grant_type: 'client_credentials' }),
  });
  t.equal(badHost.statusCode, 400);
  t.equal(badHost.headers['cache-control'], 'no-store');
  t.same(badHost.json(), { error: 'invalid_request', error_description: 'The Host header is malformed.' });
});

t.test('sendOAuthError maps what is not an OAuthError', async (t) => {
  const built = await buildTestApp({
    routes: (app) => {
      app.get('/fail/:kind', async (request, reply) => {
        const kind = (request.params as { kind: string }).kind;
        const error =
          kind === 'validation'
            ? Object.assign(new Error('body must be object'), { validation: [], statusCode: 400 })
            : new Error('a bug');
        return sendOAuthError(reply, error);
      });
    },
  });
  t.teardown(built.close);
  const validation = await built.app.inject({ method: 'GET', url: '/fail/validation' });
  t.equal(validation.statusCode, 400);
  t.same(validation.json(), { error: 'invalid_request', error_description: 'The request is malformed: body must be object.' });
  const bug = await built.app.inject({ method: 'GET', url: '/fail/bug' });
  t.equal(bug.statusCode, 500);
  t.equal(bug.json().error, 'server_error');
  t.notMatch(bug.body, /a bug/, 'the cause is logged, not sent');
});
