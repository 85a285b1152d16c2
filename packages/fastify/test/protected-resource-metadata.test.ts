// RFC 9728 protected resource metadata: the documents the guards' resources get, their
// well-known paths, the challenges that point to them, and a client (oauth4webapi) that follows
// them from a 401 to a token for the resource.
import Fastify from 'fastify';
import * as oauth from 'oauth4webapi';
import t from 'tap';
import fastifyPortcullis from '../src/index.js';
import { basicAuth, buildTestApp, createTestScopes, findFreePort, FORM, form, ISSUER } from './helpers.js';

const MCP = `${ISSUER}/mcp`;

t.test('each guarded resource has its document, at the well-known path with its own path inserted', async (t) => {
  const { app, close } = await buildTestApp({
    plugin: {
      profile: 'oauth2.0', // query-string tokens exist only under OAuth 2.0
      allowQueryToken: true,
      resourceMetadata: { [MCP]: { name: 'Polls MCP', documentation: 'https://docs.example.test/mcp' } },
    },
    routes: (app) => {
      app.get('/api/me', { preHandler: app.requireScope('read') }, async () => ({}));
      app.get('/api/polls/:id/results', { preHandler: app.requireScope({ auto: true }) }, async () => ({}));
      app.post('/mcp', { preHandler: app.requireScope('polls:vote', { resource: MCP }) }, async () => ({}));
      app.get('/mcp/polls', { preHandler: app.requireScope('read', { resource: MCP }) }, async () => ({}));
      app.get('/v2/things', { preHandler: app.requireScope('write', { resource: `${ISSUER}/api/v2/` }) }, async () => ({}));
    },
  });
  t.teardown(close);

  const root = await app.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource' });
  t.equal(root.statusCode, 200);
  t.match(root.headers['content-type'], /^application\/json/);
  t.equal(root.headers['cache-control'], 'public, max-age=3600');
  t.same(root.json(), {
    resource: ISSUER,
    authorization_servers: [ISSUER],
    scopes_supported: ['polls:results', 'read'],
    bearer_methods_supported: ['header', 'body', 'query'],
  });

  const mcp = await app.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource/mcp' });
  t.equal(mcp.statusCode, 200);
  t.same(mcp.json(), {
    resource: MCP,
    authorization_servers: [ISSUER],
    scopes_supported: ['polls:vote', 'read'],
    bearer_methods_supported: ['header', 'body', 'query'],
    resource_name: 'Polls MCP',
    resource_documentation: 'https://docs.example.test/mcp',
  });

  // RFC 9728 section 3.1: the identifier's path follows the well-known segment, its trailing slash removed.
  const nested = await app.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource/api/v2' });
  t.equal(nested.statusCode, 200);
  t.same(nested.json().resource, `${ISSUER}/api/v2/`, 'the identifier exactly as configured');
  t.same(nested.json().scopes_supported, ['write']);

  const unknown = await app.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource/nothing' });
  t.equal(unknown.statusCode, 404, 'a path no resource has is not found');
  const posted = await app.inject({ method: 'DELETE', url: '/.well-known/oauth-protected-resource/mcp' });
  t.equal(posted.statusCode, 405);
  t.equal(posted.headers.allow, 'GET, HEAD');
  t.same(posted.json(), { error: 'invalid_request', error_description: 'The metadata document is read with GET.' });

  t.same(app.oauth.protectedResources(), [ISSUER, MCP, `${ISSUER}/api/v2/`]);
  t.equal(app.oauth.resourceMetadataUrl(MCP), `${ISSUER}/.well-known/oauth-protected-resource/mcp`);
  t.equal(app.oauth.resourceMetadataUrl('https://elsewhere.example.test/'), null);
  t.same(app.oauth.server.resources(), [ISSUER, `${ISSUER}/api/v2/`, MCP].sort(), 'the authorization server issues tokens for each');

  // The authorization server's own metadata is unchanged by the resources (RFC 8414).
  const asMetadata = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
  t.equal(asMetadata.statusCode, 200);
  t.match(asMetadata.json(), { issuer: ISSUER, token_endpoint: `${ISSUER}/oauth/token`, authorization_endpoint: `${ISSUER}/oauth/authorize` });
  t.notOk('resource' in asMetadata.json());

  // Both the 401 and the 403 of a guard name the metadata (RFC 9728 section 5.1).
  const missing = await app.inject({ method: 'POST', url: '/mcp' });
  t.equal(missing.statusCode, 401);
  t.equal(missing.headers['www-authenticate'], `Bearer realm="${ISSUER}", scope="polls:vote", resource_metadata="${ISSUER}/.well-known/oauth-protected-resource/mcp"`);
  t.equal(missing.body, '');
  const { client, clientSecret } = await app.oauth.registerClient({ name: 'M', grantTypes: ['client_credentials'], scopes: ['read'] });
  const issued = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { ...FORM, authorization: basicAuth(client.id, clientSecret!) },
    payload: form({ grant_type: 'client_credentials', scope: 'read', resource: `${ISSUER}/api/v2/` }),
  });
  t.equal(issued.statusCode, 200);
  const forbidden = await app.inject({ method: 'GET', url: '/v2/things', headers: { authorization: `Bearer ${issued.json().access_token}` } });
  t.equal(forbidden.statusCode, 403);
  t.equal(
    forbidden.headers['www-authenticate'],
    `Bearer realm="${ISSUER}", error="insufficient_scope", error_description="This resource needs the scope 'write'.", scope="write", resource_metadata="${ISSUER}/.well-known/oauth-protected-resource/api/v2"`,
  );
});

t.test('a resource that cannot be served or collides is refused when the guard is made', async (t) => {
  const { app, close } = await buildTestApp();
  t.teardown(close);
  for (const resource of ['not a uri', `${ISSUER}/a#b`, `${ISSUER}/a?b=c`, 'urn:example:api', `https://other.example.test`]) {
    t.throws(() => app.requireScope('read', { resource }), { code: 'FST_PORTCULLIS_INVALID_RESOURCE' }, resource);
  }
  t.throws(() => app.requireScope('read', { resource: 'x' } as never, 'write' as never), { code: 'FST_PORTCULLIS_INVALID_SCOPE' });
});

t.test('a resource server on its own serves its metadata naming the remote authorization server, and checks aud', async (t) => {
  const OWN = 'https://rs.example.test/api';
  // The authorization server knows the resource server's identifier.
  const authorizationServer = await buildTestApp({ plugin: { authorizationEndpoint: false, resources: [OWN], introspectionPolicy: () => true } });
  t.teardown(authorizationServer.close);
  await authorizationServer.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = authorizationServer.app.server.address() as { port: number };
  const as = authorizationServer.app.oauth;
  const rsClient = await as.registerClient({ name: 'RS', grantTypes: ['client_credentials'], scopes: [] });
  const machine = await as.registerClient({ name: 'Machine', grantTypes: ['client_credentials'], scopes: ['read'] });

  const resourceServer = Fastify();
  await resourceServer.register(fastifyPortcullis, {
    issuer: ISSUER,
    scopes: createTestScopes(),
    development: true,
    resource: OWN,
    resourceServer: {
      introspection: { url: `http://127.0.0.1:${port}/oauth/introspect`, clientId: rsClient.client.id, clientSecret: rsClient.clientSecret!, cacheTtl: 0 },
    },
  });
  resourceServer.get('/api/me', { preHandler: resourceServer.requireScope('read') }, async (request) => request.oauth);
  await resourceServer.ready();
  t.teardown(() => resourceServer.close());

  const metadata = await resourceServer.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource/api' });
  t.equal(metadata.statusCode, 200);
  t.same(metadata.json(), {
    resource: OWN,
    authorization_servers: [ISSUER],
    scopes_supported: ['read'],
    bearer_methods_supported: ['header', 'body'],
  });

  const issue = async (resource?: string) => {
    const response = await authorizationServer.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: basicAuth(machine.client.id, machine.clientSecret!) },
      payload: form({ grant_type: 'client_credentials', scope: 'read', ...(resource === undefined ? {} : { resource }) }),
    });
    t.equal(response.statusCode, 200);
    return response.json().access_token as string;
  };
  const forIt = await resourceServer.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${await issue(OWN)}` } });
  t.equal(forIt.statusCode, 200, 'a token for this resource, its aud read from introspection');
  t.match(forIt.json(), { audience: [OWN], scope: ['read'] });
  const forOther = await resourceServer.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${await issue()}` } });
  t.equal(forOther.statusCode, 401, 'a token for the authorization server\'s default audience is refused');
  t.equal(
    forOther.headers['www-authenticate'],
    `Bearer realm="${ISSUER}", error="invalid_token", error_description="The access token was not issued for this resource.", scope="read", resource_metadata="https://rs.example.test/.well-known/oauth-protected-resource/api"`,
  );
});

t.test('oauth4webapi follows the challenge to the metadata, then the authorization server, and gets a token for the resource', async (t) => {
  const port = await findFreePort();
  const origin = `http://127.0.0.1:${port}`;
  const mcp = `${origin}/mcp`;
  const { app, close } = await buildTestApp({
    plugin: { issuer: origin },
    routes: (app) => {
      app.post('/mcp', { preHandler: app.requireScope('polls:vote', { resource: mcp }) }, async (request) => ({ audience: request.oauth?.audience }));
    },
  });
  t.teardown(close);
  await app.listen({ port, host: '127.0.0.1' });
  const insecure = { [oauth.allowInsecureRequests]: true };

  const challenged = await oauth.protectedResourceRequest('pca_unknown', 'POST', new URL(mcp), undefined, undefined, insecure).then(
    () => null,
    (error: unknown) => error,
  );
  t.ok(challenged instanceof oauth.WWWAuthenticateChallengeError, 'a 401 challenge');
  const parameters = (challenged as oauth.WWWAuthenticateChallengeError).cause[0]!.parameters;
  t.equal(parameters.resource_metadata, `${origin}/.well-known/oauth-protected-resource/mcp`);
  t.equal(parameters.scope, 'polls:vote');

  const rs = await oauth.processResourceDiscoveryResponse(new URL(mcp), await oauth.resourceDiscoveryRequest(new URL(mcp), insecure));
  t.same(rs.authorization_servers, [origin]);
  const issuer = new URL(rs.authorization_servers![0]!);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));

  const registered = await app.oauth.registerClient({ name: 'Agent', grantTypes: ['client_credentials'], scopes: ['polls:vote'] });
  const client: oauth.Client = { client_id: registered.client.id };
  const tokens = await oauth.processClientCredentialsResponse(
    as,
    client,
    await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.ClientSecretBasic(registered.clientSecret!),
      { scope: 'polls:vote', resource: mcp },
      insecure,
    ),
  );
  const allowed = await oauth.protectedResourceRequest(tokens.access_token, 'POST', new URL(mcp), undefined, undefined, insecure);
  t.equal(allowed.status, 200);
  t.same(await allowed.json(), { audience: [mcp] });
});
