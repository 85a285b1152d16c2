// The JWK Set endpoint over real HTTP, read by jose's remote JWK Set as a verifier would, across
// a rotation: the new key is published before it signs, the old one verifies until removed.
import { randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import t from 'tap';
import { buildTestApp, ISSUER } from './helpers.js';

const START = Date.UTC(2031, 0, 1);
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

t.test('jose verifies tokens against the JWK Set served over HTTP, through a rotation', async (t) => {
  const clock = { now: START };
  const { app, close } = await buildTestApp({
    plugin: {
      secretKey: randomBytes(32),
      accessTokenTtl: 600,
      clock: () => new Date(clock.now),
      signingKeys: { algorithms: ['ES256', 'EdDSA'], rotationLeadTime: 120, refreshInterval: 10 },
    },
  });
  t.teardown(close);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const jwksUrl = new URL('/oauth/jwks.json', address);
  const ring = app.oauth.server.signingKeys!;
  t.equal(app.oauth.paths.jwks, '/oauth/jwks.json');

  const metadata = await fetch(new URL('/.well-known/oauth-authorization-server', address));
  t.equal(((await metadata.json()) as { jwks_uri?: string }).jwks_uri, `${ISSUER}/oauth/jwks.json`, 'the metadata names the JWK Set');

  const response = await fetch(jwksUrl);
  t.equal(response.status, 200);
  t.equal(response.headers.get('content-type'), 'application/jwk-set+json; charset=utf-8');
  t.equal(response.headers.get('cache-control'), 'public, max-age=300');
  const body = (await response.json()) as { keys: Record<string, unknown>[] };
  t.strictSame(body.keys.map((key) => key.alg).sort(), ['ES256', 'EdDSA']);
  for (const key of body.keys) {
    t.match(key, { use: 'sig', kid: String });
    for (const member of PRIVATE_MEMBERS) t.notOk(member in key, `no ${member}`);
  }

  const post = await fetch(jwksUrl, { method: 'POST' });
  t.equal(post.status, 405);
  t.equal(post.headers.get('allow'), 'GET, HEAD');
  t.match(await post.json(), { error: 'invalid_request', error_description: 'The JWK Set is read with GET.' });
  const head = await fetch(jwksUrl, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.headers.get('cache-control'), 'public, max-age=300');

  const verify = (token: string) =>
    jwtVerify(token, createRemoteJWKSet(jwksUrl), { issuer: ISSUER, typ: 'at+jwt', currentDate: new Date(clock.now) });
  const claims = () => ({ iss: ISSUER, sub: 'alice', iat: Math.floor(clock.now / 1000), exp: Math.floor(clock.now / 1000) + 600 });
  const first = await ring.sign(claims(), { typ: 'at+jwt' });
  const eddsa = await ring.sign(claims(), { typ: 'at+jwt', alg: 'EdDSA' });
  t.equal((await verify(first)).payload.sub, 'alice', 'ES256 verified over HTTP');
  t.equal((await verify(eddsa)).protectedHeader.alg, 'EdDSA', 'EdDSA verified over HTTP');
  const oldKid = decodeProtectedHeader(first).kid!;

  const made = await app.oauth.rotateSigningKeys();
  t.equal(made.length, 2, 'a new key per algorithm');
  const newKid = made.find((key) => key.alg === 'ES256')!.kid;
  const kids = async () => ((await (await fetch(jwksUrl)).json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);
  t.ok((await kids()).includes(newKid), 'the new key is published at once');
  t.equal(decodeProtectedHeader(await ring.sign(claims(), { typ: 'at+jwt' })).kid, oldKid, 'and does not sign yet');

  // The old key's last token, signed just before the new key takes over: it expires at START + 719 s.
  clock.now += 119_000;
  const last = await ring.sign(claims(), { typ: 'at+jwt' });
  t.equal(decodeProtectedHeader(last).kid, oldKid, 'the old key signs until the lead time ends');
  clock.now += 1_000;
  const second = await ring.sign(claims(), { typ: 'at+jwt' });
  t.equal(decodeProtectedHeader(second).kid, newKid, 'the new key signs after the lead time');
  t.equal((await verify(second)).payload.sub, 'alice', 'its token verifies over HTTP');
  t.ok((await kids()).includes(oldKid), 'the old key is still published');
  t.equal((await verify(first)).payload.sub, 'alice', 'and a token it signed before still verifies');

  clock.now = START + 718_000;
  t.ok((await kids()).includes(oldKid), 'the retired key is published until its last token expires');
  t.equal((await verify(last)).payload.sub, 'alice', 'which verifies until its expiry');

  clock.now = START + 731_000;
  t.notOk((await kids()).includes(oldKid), 'the old key is gone once every token it signed expired');
  // Dates within the tokens' lifetimes: the refusal is the missing key, not an expiry.
  await t.rejects(
    jwtVerify(first, createRemoteJWKSet(jwksUrl), { currentDate: new Date(START + 60_000) }),
    { code: 'ERR_JWKS_NO_MATCHING_KEY' },
    'so its tokens no longer verify',
  );
  await t.rejects(
    jwtVerify(last, createRemoteJWKSet(jwksUrl), { currentDate: new Date(START + 700_000) }),
    { code: 'ERR_JWKS_NO_MATCHING_KEY' },
    'not even its last one',
  );
  const third = await ring.sign(claims(), { typ: 'at+jwt' });
  t.equal(decodeProtectedHeader(third).kid, newKid);
  t.equal((await verify(third)).payload.sub, 'alice', 'while the new key\'s tokens verify');
  t.match(await app.oauth.purgeExpired(), { signingKeys: 2 }, 'the purge removes both retired keys');
});

t.test('without signingKeys there is no JWK Set and no jwks_uri', async (t) => {
  const { app, close } = await buildTestApp();
  t.teardown(close);
  const response = await app.inject({ method: 'GET', url: '/oauth/jwks.json' });
  t.equal(response.statusCode, 404);
  const metadata = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
  t.equal(metadata.statusCode, 200);
  t.notOk('jwks_uri' in metadata.json());
  await t.rejects(app.oauth.rotateSigningKeys(), { name: 'TypeError' });
});
