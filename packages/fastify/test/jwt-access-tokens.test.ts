// JWT access tokens (RFC 9068) over real HTTP: A, an authorization server issuing them, guards
// them itself (signature, typ, iss, aud, exp, revocation in its database) and introspects them;
// B, a resource server with no storage, checks them with A's metadata and JWK Set alone, across a
// key rotation. Tokens come from oauth4webapi, which also validates them as an RFC 9068 resource
// server would. On a SQLite file and on a private MariaDB database.
import { randomBytes } from 'node:crypto';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';
import type { Test } from 'tap';
import fastifyPortcullis from '../src/index.js';
import { basicAuth, createTestScopes, findFreePort, FORM, form } from './helpers.js';
import { onEachDatabase, type TestDatabase } from './reliability-helpers.js';

const TTL = 60;
const LEAD_TIME = 120;
const B_RESOURCE = 'https://b.example.test/api';
const OPAQUE_RESOURCE = 'https://legacy.example.test/api';
const insecure = { [oauth.allowInsecureRequests]: true };

/** A clock both apps read, moved by the test. */
function createClock() {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    advance(seconds: number) {
      offset += seconds * 1000;
    },
  };
}

function registerMe(app: FastifyInstance): void {
  app.get('/api/me', { preHandler: app.requireScope('read') }, async (request) => request.oauth);
  app.get('/api/admin', { preHandler: app.requireScope('write') }, async () => ({ ok: true }));
}

async function startAuthorizationServer(t: Test, database: TestDatabase, clock: ReturnType<typeof createClock>) {
  const port = await findFreePort();
  const issuer = `http://127.0.0.1:${port}`;
  const fetched: string[] = [];
  const app = Fastify();
  await app.register(formbody);
  await app.register(fastifyPortcullis, {
    storage: database.storage,
    scopes: createTestScopes(),
    issuer,
    development: true,
    clock: clock.now,
    accessTokenTtl: TTL,
    authorizationEndpoint: false,
    resources: [B_RESOURCE, OPAQUE_RESOURCE],
    secretKey: randomBytes(32),
    signingKeys: { rotationLeadTime: LEAD_TIME },
    accessTokenFormat: 'jwt',
  });
  app.oauth.server.registerResource(OPAQUE_RESOURCE, { accessTokenFormat: 'opaque' });
  registerMe(app);
  app.addHook('onRequest', async (request) => {
    fetched.push(request.url);
  });
  await app.listen({ host: '127.0.0.1', port });
  t.teardown(() => app.close());

  const registered = await app.oauth.registerClient({ name: 'Machine', scopes: ['read'], grantTypes: ['client_credentials'] });
  const client: oauth.Client = { client_id: registered.client.id };
  const clientAuth = oauth.ClientSecretBasic(registered.clientSecret!);
  const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), { algorithm: 'oauth2', ...insecure }));
  t.equal(as.jwks_uri, `${issuer}/oauth/jwks.json`, 'the metadata names the JWK Set');
  return {
    app,
    issuer,
    as,
    machine: registered,
    /** A client_credentials token through A's token endpoint, asked for by oauth4webapi. */
    token: async (resource?: string): Promise<string> => {
      const parameters: Record<string, string> = resource === undefined ? { scope: 'read' } : { scope: 'read', resource };
      const response = await oauth.clientCredentialsGrantRequest(as, client, clientAuth, parameters, insecure);
      const tokens = await oauth.processClientCredentialsResponse(as, client, response);
      return tokens.access_token;
    },
    revoke: async (token: string) => {
      await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth, token, insecure));
    },
    introspect: async (token: string) => {
      const response = await fetch(`${issuer}/oauth/introspect`, {
        method: 'POST',
        headers: { ...FORM, authorization: basicAuth(registered.client.id, registered.clientSecret!) },
        body: form({ token }),
      });
      t.equal(response.status, 200);
      return response.json() as Promise<Record<string, unknown>>;
    },
    /** How many times a path of A was asked for. */
    count: (path: string) => fetched.filter((url) => url === path).length,
  };
}

async function startResourceServer(
  t: Test,
  issuer: string,
  clock: ReturnType<typeof createClock>,
  jwt: Record<string, unknown> = { cooldown: 0 },
  more: { resource?: string; introspection?: { url: string; clientId: string; clientSecret: string; cacheTtl: number } } = {},
) {
  const app = Fastify();
  await app.register(fastifyPortcullis, {
    scopes: createTestScopes(),
    issuer,
    development: true,
    clock: clock.now,
    resource: more.resource ?? B_RESOURCE,
    resourceServer: more.introspection === undefined ? { jwt } : { jwt, introspection: more.introspection },
  });
  registerMe(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}

/** GET `url` with the bearer token; the status, the challenge and the JSON body. */
async function callApi(url: string, token: string) {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  return { status: response.status, challenge: response.headers.get('www-authenticate'), body: text === '' ? null : (JSON.parse(text) as Record<string, unknown>) };
}

function assertRefused(t: Test, answer: Awaited<ReturnType<typeof callApi>>, description: string, what: string): void {
  t.equal(answer.status, 401, `${what}: 401`);
  t.match(answer.body, { error: 'invalid_token', error_description: description }, `${what}: invalid_token`);
  t.match(answer.challenge, /^Bearer realm="[^"]+", error="invalid_token", error_description="[^"]+", scope="(read|write)", resource_metadata="[^"]+"$/, `${what}: RFC 6750 challenge`);
}

onEachDatabase('JWT access tokens', async (t, database) => {
  const clock = createClock();
  const a = await startAuthorizationServer(t, database, clock);

  await t.test('A guards its own routes with the JWT access tokens it issues', async (t) => {
    const token = await a.token();
    t.equal(decodeProtectedHeader(token).typ, 'at+jwt');
    const claims = decodeJwt(token);
    t.strictSame(Object.keys(claims).sort(), ['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'scope', 'sub']);
    t.match(claims, { iss: a.issuer, sub: a.machine.client.id, aud: a.issuer, client_id: a.machine.client.id, scope: 'read' });

    // A third-party RFC 9068 validator accepts it with A's metadata and keys.
    const request = new Request(`${a.issuer}/api/me`, { headers: { authorization: `Bearer ${token}` } });
    const validated = await oauth.validateJwtAccessToken(a.as, request, a.issuer, insecure);
    t.equal(validated.client_id, a.machine.client.id, 'oauth4webapi.validateJwtAccessToken accepts it');

    const allowed = await callApi(`${a.issuer}/api/me`, token);
    t.equal(allowed.status, 200);
    t.strictSame(allowed.body, { protocol: 'oauth2', clientId: a.machine.client.id, userId: null, scope: ['read'], audience: [a.issuer], tokenId: claims.jti });
    const [row] = await database.db.selectFrom('portcullis_access_tokens').select(['id', 'revoked_at']).where('id', '=', claims.jti!).execute();
    t.equal(row?.id, claims.jti, 'the token is recorded under its jti');

    const forbidden = await callApi(`${a.issuer}/api/admin`, token);
    t.equal(forbidden.status, 403);
    t.match(forbidden.challenge, /error="insufficient_scope"/);

    const idTokenLike = await a.app.oauth.server.signingKeys!.sign(claims, { typ: 'JWT' });
    assertRefused(t, await callApi(`${a.issuer}/api/me`, idTokenLike), 'The token is not an access token (its typ must be at+jwt).', 'typ JWT');
    assertRefused(t, await callApi(`${a.issuer}/api/me`, await a.token(B_RESOURCE)), 'The access token was not issued for this resource.', 'another audience');
    const [head, body, signature] = token.split('.');
    const tampered = `${head}.${Buffer.from(JSON.stringify({ ...claims, scope: 'read write' })).toString('base64url')}.${signature}`;
    assertRefused(t, await callApi(`${a.issuer}/api/admin`, tampered), 'The access token is invalid.', 'a changed payload');
    t.ok(body, 'the token had a payload');

    await a.revoke(token);
    const [revoked] = await database.db.selectFrom('portcullis_access_tokens').select('revoked_at').where('id', '=', claims.jti!).execute();
    t.not(revoked?.revoked_at, null, 'revocation marks the record');
    assertRefused(t, await callApi(`${a.issuer}/api/me`, token), 'The access token has been revoked.', 'a revoked jti');
  });

  await t.test('introspection answers for both formats, and no longer for a revoked JWT', async (t) => {
    const jwt = await a.token(B_RESOURCE);
    const opaque = await a.token(OPAQUE_RESOURCE);
    t.match(opaque, /^pca_/, 'a resource may keep opaque tokens');
    const facts = { active: true, scope: 'read', client_id: a.machine.client.id, token_type: 'Bearer', iss: a.issuer };
    t.match(await a.introspect(jwt), { ...facts, aud: B_RESOURCE, exp: decodeJwt(jwt).exp, iat: decodeJwt(jwt).iat });
    t.match(await a.introspect(opaque), { ...facts, aud: OPAQUE_RESOURCE });
    await a.revoke(jwt);
    t.strictSame(await a.introspect(jwt), { active: false });
  });

  await t.test('a token for A is refused by B\'s guard and accepted by A\'s guard in a second app that knows only the issuer', async (t) => {
    // A's resource is its issuer (the default): this app guards it with nothing but the issuer URL
    // (`development` only allows its plain-HTTP metadata and keys).
    const second = Fastify();
    await second.register(fastifyPortcullis, { issuer: a.issuer, development: true, resourceServer: { jwt: { issuer: a.issuer } } });
    registerMe(second);
    await second.listen({ host: '127.0.0.1', port: 0 });
    t.teardown(() => second.close());
    const secondUrl = `http://127.0.0.1:${(second.server.address() as { port: number }).port}`;
    const b = await startResourceServer(t, a.issuer, clock);

    const forA = await a.token();
    t.strictSame(decodeJwt(forA).aud, a.issuer, 'issued for A');
    assertRefused(t, await callApi(`${b}/api/me`, forA), 'The access token was not issued for this resource.', 'B\'s guard');
    const accepted = await callApi(`${secondUrl}/api/me`, forA);
    t.equal(accepted.status, 200, 'A\'s guard in the second app accepts it');
    t.match(accepted.body, { clientId: a.machine.client.id, scope: ['read'], audience: [a.issuer], tokenId: decodeJwt(forA).jti });
    assertRefused(t, await callApi(`${secondUrl}/api/me`, await a.token(B_RESOURCE)), 'The access token was not issued for this resource.', 'the second app: a token for B');
  });

  await t.test('B, without storage, checks them with A\'s metadata and JWK Set, across a rotation', async (t) => {
    const b = await startResourceServer(t, a.issuer, clock);
    const metadataBefore = a.count('/.well-known/oauth-authorization-server');
    const jwksBefore = a.count('/oauth/jwks.json');
    const token = await a.token(B_RESOURCE);
    const allowed = await callApi(`${b}/api/me`, token);
    t.equal(allowed.status, 200);
    t.match(allowed.body, { protocol: 'oauth2', clientId: a.machine.client.id, userId: null, scope: ['read'], audience: [B_RESOURCE], tokenId: decodeJwt(token).jti });
    t.equal(a.count('/.well-known/oauth-authorization-server') - metadataBefore, 1, 'B read the metadata once');
    t.equal(a.count('/oauth/jwks.json') - jwksBefore, 1, 'and the JWK Set once');
    t.equal((await callApi(`${b}/api/me`, await a.token(B_RESOURCE))).status, 200);
    t.equal(a.count('/oauth/jwks.json') - jwksBefore, 1, 'the keys are kept between tokens');

    assertRefused(t, await callApi(`${b}/api/me`, await a.token()), 'The access token was not issued for this resource.', 'B: a token for A');
    const idTokenLike = await a.app.oauth.server.signingKeys!.sign({ ...decodeJwt(token) }, { typ: 'JWT' });
    assertRefused(t, await callApi(`${b}/api/me`, idTokenLike), 'The token is not an access token (its typ must be at+jwt).', 'B: typ JWT');
    assertRefused(t, await callApi(`${b}/api/me`, await a.token(OPAQUE_RESOURCE)), 'The access token is invalid.', 'B: an opaque token');
    const [head, payload, signature] = token.split('.');
    const otherSignature = `${signature!.slice(0, 10)}${signature![10] === 'A' ? 'B' : 'A'}${signature!.slice(11)}`;
    assertRefused(t, await callApi(`${b}/api/me`, `${head}.${payload}.${otherSignature}`), 'The access token is invalid.', 'B: a bad signature');

    const oldKid = decodeProtectedHeader(token).kid;
    await a.app.oauth.rotateSigningKeys();
    clock.advance(LEAD_TIME + 31);
    const rotated = await a.token(B_RESOURCE);
    t.not(decodeProtectedHeader(rotated).kid, oldKid, 'A signs with the new key');
    const beforeRotation = a.count('/oauth/jwks.json');
    t.equal((await callApi(`${b}/api/me`, rotated)).status, 200, 'B accepts a token of the new key');
    t.equal(a.count('/oauth/jwks.json') - beforeRotation, 1, 'after fetching the JWK Set again for the unknown kid');

    // Documented trade-off: B cannot see a revocation, and accepts the token until its exp.
    await a.revoke(rotated);
    t.equal((await callApi(`${b}/api/me`, rotated)).status, 200, 'a revoked token still opens B');
    const forA = await a.token();
    clock.advance(TTL + 6);
    assertRefused(t, await callApi(`${b}/api/me`, rotated), 'The access token has expired.', 'B: expired');
    assertRefused(t, await callApi(`${a.issuer}/api/me`, forA), 'The access token has expired.', 'A: expired');
  });

  await t.test('with jwt and introspection, a JWT is checked by the keys and an opaque token by introspection', async (t) => {
    const both = await startResourceServer(t, a.issuer, clock, { cooldown: 0 }, {
      resource: OPAQUE_RESOURCE,
      // The machine client introspects its own tokens: always answered (RFC 7662 section 4).
      introspection: { url: `${a.issuer}/oauth/introspect`, clientId: a.machine.client.id, clientSecret: a.machine.clientSecret!, cacheTtl: 0 },
    });
    const before = a.count('/oauth/introspect');
    const opaque = await a.token(OPAQUE_RESOURCE);
    const allowed = await callApi(`${both}/api/me`, opaque);
    t.equal(allowed.status, 200);
    t.match(allowed.body, { clientId: a.machine.client.id, audience: [OPAQUE_RESOURCE] });
    t.equal(a.count('/oauth/introspect') - before, 1, 'the opaque token was introspected');
    assertRefused(t, await callApi(`${both}/api/me`, await a.token(B_RESOURCE)), 'The access token was not issued for this resource.', 'a JWT for another resource');
    t.equal(a.count('/oauth/introspect') - before, 1, 'the JWT was not introspected');
  });

  await t.test('B answers 503 when the issuer\'s metadata or keys cannot be fetched', async (t) => {
    const token = await a.token(B_RESOURCE);
    const wrongIssuer = await startResourceServer(t, a.issuer, clock, { issuer: `${a.issuer}/tenant` });
    const answer = await fetch(`${wrongIssuer}/api/me`, { headers: { authorization: `Bearer ${token}` } });
    t.equal(answer.status, 503);
    t.equal(answer.headers.get('retry-after'), '1');
    t.match(await answer.json(), { error: 'temporarily_unavailable' });
    const unreachable = await startResourceServer(t, a.issuer, clock, { jwksUri: `http://127.0.0.1:${await findFreePort()}/jwks.json` });
    t.equal((await fetch(`${unreachable}/api/me`, { headers: { authorization: `Bearer ${token}` } })).status, 503);
  });
});
