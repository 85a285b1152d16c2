// JWT access tokens (RFC 9068) beside opaque ones: issuance, the claims, local verification,
// revocation, introspection and refresh, on a MemoryStorage.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import type { AuthorizationServerOptions } from '../src/index.js';
import {
  basicAuthorization,
  bodyOf,
  createFixture,
  createFormRequest,
  errorLike,
  ISSUER,
  obtainCode,
  registerTestClient,
  START,
  tokenRequest,
  VERIFIER,
  REDIRECT_URI,
  type Fixture,
} from './oauth2-fixtures.js';

const API = 'https://api.example.com';
const OTHER = 'https://other.example.com';
const TTL = 600;

function jwtFixture(options: Partial<AuthorizationServerOptions> = {}): Fixture {
  return createFixture({
    secretKey: randomBytes(32),
    signingKeys: {},
    accessTokenTtl: TTL,
    resources: [API, OTHER],
    defaultAudience: [API],
    accessTokenFormat: 'jwt',
    ...options,
  });
}

async function confidentialClient(fixture: Fixture) {
  return registerTestClient(fixture, { grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'], scopes: ['read', 'write'] });
}

async function clientCredentialsToken(fixture: Fixture, client: Awaited<ReturnType<typeof confidentialClient>>, body: Record<string, string | string[]> = {}) {
  const response = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'client_credentials', scope: 'read', ...body }));
  if (response.status !== 200) throw new Error(`token request failed: ${JSON.stringify(response.body)}`);
  return bodyOf(response);
}

t.test('an authorization code buys a JWT access token with exactly the RFC 9068 claims', async (t) => {
  const fixture = jwtFixture();
  const client = await confidentialClient(fixture);
  const code = await obtainCode(fixture, client, { scope: 'read write', resource: API }, 'user-1');
  const response = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  );
  t.equal(response.status, 200);
  const body = bodyOf(response);
  t.equal(body.token_type, 'Bearer');
  t.equal(body.expires_in, TTL);
  t.match(body.refresh_token, /^pcr_/, 'the refresh token stays opaque');
  const token = body.access_token as string;
  const header = decodeProtectedHeader(token);
  t.strictSame(Object.keys(header).sort(), ['alg', 'kid', 'typ']);
  t.equal(header.typ, 'at+jwt', 'RFC 9068 section 2.1');
  t.equal(header.alg, 'ES256');
  const claims = decodeJwt(token);
  t.strictSame(Object.keys(claims).sort(), ['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'scope', 'sub']);
  const iat = START.getTime() / 1000;
  t.strictSame(claims, { iss: ISSUER, sub: 'user-1', aud: API, client_id: client.client.id, scope: 'read write', jti: claims.jti, iat, exp: iat + TTL });
  const { payload } = await jwtVerify(token, fixture.server.signingKeys!.getKey, { issuer: ISSUER, audience: API, typ: 'at+jwt', currentDate: START });
  t.equal(payload.sub, 'user-1', 'the signature verifies with the published key');

  const [record] = fixture.storage.snapshot().accessTokens;
  t.equal(record!.id, claims.jti, 'recorded under its jti');
  t.notOk(JSON.stringify(fixture.storage.snapshot()).includes(token), 'the token itself is not stored');
  t.equal(record!.expiresAt.getTime(), (claims.exp as number) * 1000, 'the record expires when the JWT does');
  t.strictSame(record!.audience, [API]);

  const grant = await fixture.server.verifyAccessToken(token, ['read'], API);
  t.strictSame(grant, { clientId: client.client.id, userId: 'user-1', scope: ['read', 'write'], audience: [API], expiresAt: record!.expiresAt, tokenId: record!.id });
});

t.test('client_credentials: sub is the client (RFC 9068 section 2.2), several resources are an aud array', async (t) => {
  const fixture = jwtFixture();
  const client = await confidentialClient(fixture);
  const token = (await clientCredentialsToken(fixture, client, { resource: [API, OTHER] })).access_token as string;
  const claims = decodeJwt(token);
  t.equal(claims.sub, client.client.id);
  t.equal(claims.client_id, client.client.id);
  t.strictSame(claims.aud, [API, OTHER]);
  const grant = await fixture.server.verifyAccessToken(token, ['read'], OTHER);
  t.equal(grant.userId, null, 'no user');
  const never = jwtFixture({ jwtAccessTokens: { revocationCheck: 'never' } });
  const neverClient = await confidentialClient(never);
  const neverToken = (await clientCredentialsToken(never, neverClient)).access_token as string;
  t.equal((await never.server.verifyAccessToken(neverToken, ['read'], API)).userId, null, 'no user, from the claims alone');
});

t.test('the format is per resource: opaque by default, jwt where a resource asks, no aud means opaque', async (t) => {
  const fixture = jwtFixture({ accessTokenFormat: undefined, defaultAudience: [] });
  const client = await confidentialClient(fixture);
  t.match((await clientCredentialsToken(fixture, client, { resource: API })).access_token, /^pca_/, 'opaque by default');
  fixture.server.registerResource(OTHER, { accessTokenFormat: 'jwt' });
  t.match((await clientCredentialsToken(fixture, client, { resource: OTHER })).access_token, /^eyJ/, 'jwt for the resource asking');
  t.match((await clientCredentialsToken(fixture, client, { resource: [API, OTHER] })).access_token, /^eyJ/, 'jwt when any resource asks');
  fixture.server.registerResource(OTHER);
  t.match((await clientCredentialsToken(fixture, client, { resource: OTHER })).access_token, /^eyJ/, 'registering again keeps the format');
  const jwtDefault = jwtFixture({ defaultAudience: [] });
  const jwtClient = await confidentialClient(jwtDefault);
  t.match((await clientCredentialsToken(jwtDefault, jwtClient)).access_token, /^pca_/, 'a token for no resource is opaque');
  jwtDefault.server.registerResource(API, { accessTokenFormat: 'opaque' });
  t.match((await clientCredentialsToken(jwtDefault, jwtClient, { resource: API })).access_token, /^pca_/, 'a resource may ask for opaque');
});

t.test('options: jwt needs signing keys whose lifetime covers the access token', async (t) => {
  t.throws(() => createFixture({ accessTokenFormat: 'jwt' }), { name: 'TypeError', message: /accessTokenFormat cannot be 'jwt': JWT access tokens need options.signingKeys/ });
  t.throws(() => jwtFixture({ accessTokenTtl: 3600, signingKeys: { maxTokenLifetime: 600 } }), { name: 'TypeError', message: /maxTokenLifetime/ });
  t.throws(() => createFixture({ accessTokenFormat: 'JWT' as 'jwt' }), /must be 'opaque' or 'jwt'/);
  t.throws(() => jwtFixture({ jwtAccessTokens: { revocationCheck: 'sometimes' as 'never' } }), /revocationCheck/);
  t.throws(() => jwtFixture({ jwtAccessTokens: { clockTolerance: -1 } }), /clockTolerance/);
  t.ok(jwtFixture({ accessTokenTtl: 3600 }).server, 'maxTokenLifetime defaults to accessTokenTtl');
  const plain = createFixture();
  t.throws(() => plain.server.registerResource(API, { accessTokenFormat: 'jwt' }), /registerResource: accessTokenFormat cannot be 'jwt'/);
  t.strictSame(plain.server.resources(), [], 'a refused registration changes nothing');
});

t.test("a client's own longer lifetime is cut to maxTokenLifetime for a JWT, kept for an opaque token", async (t) => {
  const fixture = jwtFixture({ accessTokenFormat: undefined, defaultAudience: [] });
  fixture.server.registerResource(OTHER, { accessTokenFormat: 'jwt' });
  const client = await registerTestClient(fixture, { grantTypes: ['client_credentials'], scopes: ['read'], accessTokenTtl: 7200 });
  const jwt = await clientCredentialsToken(fixture, client, { resource: OTHER });
  t.equal(jwt.expires_in, TTL, 'expires_in is the key lifetime, not the client lifetime');
  const claims = decodeJwt(jwt.access_token as string);
  t.equal(claims.exp! - claims.iat!, TTL, 'the JWT ends when its key may leave the JWK Set');
  const introspected = bodyOf(
    await fixture.server.handleIntrospectionRequest(
      createFormRequest('/oauth/introspect', { token: jwt.access_token as string }, { authorization: basicAuthorization(client.client.id, client.clientSecret!) }),
    ),
  );
  t.equal(introspected.exp, claims.exp, 'the stored record expires with the JWT');
  const opaque = await clientCredentialsToken(fixture, client, { resource: API });
  t.match(opaque.access_token, /^pca_/);
  t.equal(opaque.expires_in, 7200, "an opaque token keeps the client's lifetime");
});

t.test('verifyAccessToken refuses a JWT of another typ, audience, issuer, key, or past its exp', async (t) => {
  const fixture = jwtFixture();
  const client = await confidentialClient(fixture);
  const token = (await clientCredentialsToken(fixture, client)).access_token as string;
  const ring = fixture.server.signingKeys!;
  const claims = decodeJwt(token);
  const refused = (description: string) => errorLike({ error: 'invalid_token', status: 401, description });

  const idTokenLike = await ring.sign(claims, { typ: 'JWT' });
  await t.rejects(fixture.server.verifyAccessToken(idTokenLike, ['read'], API), refused('The token is not an access token (its typ must be at+jwt).'));
  await t.rejects(fixture.server.verifyAccessToken(token, ['read'], OTHER), refused('The access token was not issued for this resource.'));
  const otherIssuer = await ring.sign({ ...claims, iss: 'https://evil.example.com' }, { typ: 'at+jwt' });
  await t.rejects(fixture.server.verifyAccessToken(otherIssuer, ['read'], API), refused('The access token is invalid.'));
  const [head, body, signature] = token.split('.');
  const flipped = `${head}.${body}.${signature!.slice(0, -2)}${signature!.endsWith('AA') ? 'BB' : 'AA'}`;
  await t.rejects(fixture.server.verifyAccessToken(flipped, ['read'], API), refused('The access token is invalid.'));
  const forgedBody = Buffer.from(JSON.stringify({ ...claims, scope: 'read write' })).toString('base64url');
  await t.rejects(fixture.server.verifyAccessToken(`${head}.${forgedBody}.${signature}`, ['write'], API), refused('The access token is invalid.'));
  const error = (await fixture.server.verifyAccessToken(idTokenLike, ['read'], API).catch((thrown: unknown) => thrown)) as { headers: Record<string, string> };
  t.match(error.headers['www-authenticate'], /^Bearer realm="https:\/\/auth.example.com", error="invalid_token"/, 'an RFC 6750 challenge');
  await t.rejects(fixture.server.verifyAccessToken(token, ['write'], API), errorLike({ error: 'insufficient_scope', status: 403 }));

  fixture.clock.advance(TTL + 4);
  t.equal((await fixture.server.verifyAccessToken(token, ['read'], API)).clientId, client.client.id, 'within the clock tolerance');
  fixture.clock.advance(2);
  await t.rejects(fixture.server.verifyAccessToken(token, ['read'], API), refused('The access token has expired.'));
});

t.test('revocation: honoured at once with revocationCheck always, not seen with never', async (t) => {
  for (const revocationCheck of ['always', 'never'] as const) {
    const fixture = jwtFixture({ jwtAccessTokens: { revocationCheck } });
    const client = await confidentialClient(fixture);
    const token = (await clientCredentialsToken(fixture, client)).access_token as string;
    t.equal((await fixture.server.verifyAccessToken(token, ['read'], API)).clientId, client.client.id);
    const revoke = await fixture.server.handleRevocationRequest(
      createFormRequest('/oauth/revoke', { token }, { authorization: basicAuthorization(client.client.id, client.clientSecret!) }),
    );
    t.equal(revoke.status, 200);
    t.not(fixture.storage.snapshot().accessTokens[0]!.revokedAt, null, 'the record is revoked');
    if (revocationCheck === 'always') {
      await t.rejects(fixture.server.verifyAccessToken(token, ['read'], API), errorLike({ error: 'invalid_token', description: 'The access token has been revoked.' }));
    } else {
      t.equal((await fixture.server.verifyAccessToken(token, ['read'], API)).clientId, client.client.id, 'accepted until exp: the documented trade-off');
    }
  }
});

t.test('introspection answers for JWT and opaque tokens alike', async (t) => {
  const fixture = jwtFixture({ accessTokenFormat: 'opaque' });
  fixture.server.registerResource(OTHER, { accessTokenFormat: 'jwt' });
  const client = await confidentialClient(fixture);
  const auth = { authorization: basicAuthorization(client.client.id, client.clientSecret!) };
  const introspect = async (token: string) => bodyOf(await fixture.server.handleIntrospectionRequest(createFormRequest('/oauth/introspect', { token }, auth)));
  const jwt = (await clientCredentialsToken(fixture, client, { resource: OTHER })).access_token as string;
  const opaque = (await clientCredentialsToken(fixture, client, { resource: API })).access_token as string;
  const iat = START.getTime() / 1000;
  const expected = { active: true, scope: 'read', client_id: client.client.id, token_type: 'Bearer', iat, exp: iat + TTL, iss: ISSUER };
  t.strictSame(await introspect(jwt), { ...expected, aud: OTHER });
  t.strictSame(await introspect(opaque), { ...expected, aud: API });
  await fixture.server.handleRevocationRequest(createFormRequest('/oauth/revoke', { token: jwt }, auth));
  t.strictSame(await introspect(jwt), { active: false }, 'revoked');
  t.strictSame(await introspect(opaque), { ...expected, aud: API }, 'the other token is untouched');
  const fresh = (await clientCredentialsToken(fixture, client, { resource: OTHER })).access_token as string;
  fixture.clock.advance(TTL);
  t.strictSame(await introspect(fresh), { active: false }, 'expired');
});

t.test('refresh: a refresh token buys a new JWT in the same family; revokeGrant revokes it', async (t) => {
  const fixture = jwtFixture();
  const client = await confidentialClient(fixture);
  const issued = await fixture.server.issueTokens({ clientId: client.client.id, userId: 'user-7', scope: ['read'], withRefreshToken: true });
  fixture.clock.advance(10);
  const response = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'refresh_token', refresh_token: issued.refresh_token! }));
  t.equal(response.status, 200);
  const token = bodyOf(response).access_token as string;
  t.equal(decodeJwt(token).sub, 'user-7');
  t.equal(decodeJwt(token).iat, START.getTime() / 1000 + 10);
  const rows = fixture.storage.snapshot().accessTokens;
  t.equal(rows.length, 2);
  t.equal(rows[0]!.familyId, rows[1]!.familyId, 'one family');
  t.equal(await fixture.server.revokeGrant('user-7', client.client.id) > 0, true);
  await t.rejects(fixture.server.verifyAccessToken(token, ['read'], API), errorLike({ error: 'invalid_token', description: 'The access token has been revoked.' }));
});
