import { randomBytes } from 'node:crypto';
import t from 'tap';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { createAuthorizationServer, MemoryStorage, type AuthorizationServerOptions, type SigningKeyRing } from '@portcullis/core';

const START = Date.UTC(2031, 0, 1);
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function setup(signingKeys: AuthorizationServerOptions['signingKeys'] = {}, storage = new MemoryStorage(), secretKey = randomBytes(32)) {
  const clock = { now: START };
  const server = createAuthorizationServer({
    storage,
    issuer: 'https://auth.example.com',
    secretKey,
    accessTokenTtl: 600,
    signingKeys,
    clock: () => new Date(clock.now),
  });
  return { server, ring: server.signingKeys!, storage, clock, secretKey };
}

const later = (clock: { now: number }, seconds: number) => {
  clock.now += seconds * 1000;
};

t.test('sign makes a JWT that jwtVerify accepts with getKey and with the published JWK Set', async (t) => {
  const { server, ring } = setup({ algorithms: ['ES256', 'RS256', 'EdDSA'] });
  t.strictSame(ring.supportedAlgorithms, ['ES256', 'RS256', 'EdDSA']);
  t.equal(ring.defaultAlgorithm, 'ES256');
  const jwks = await ring.publicJwks();
  t.equal(jwks.keys.length, 3, 'a key per algorithm, made on first need');
  for (const alg of ['ES256', 'RS256', 'EdDSA'] as const) {
    const token = await ring.sign({ iss: 'https://auth.example.com', sub: 'alice', exp: START / 1000 + 600 }, { typ: 'at+jwt', alg });
    const header = decodeProtectedHeader(token);
    t.strictSame(Object.keys(header).sort(), ['alg', 'kid', 'typ'], `${alg}: the header is alg, kid, typ`);
    t.match(header, { alg, typ: 'at+jwt' });
    const jwk = jwks.keys.find((key) => key.kid === header.kid);
    t.match(jwk, { alg, use: 'sig', kid: header.kid }, `${alg}: its key is published`);
    const options = { currentDate: new Date(START), typ: 'at+jwt', issuer: 'https://auth.example.com' };
    t.equal((await jwtVerify(token, ring.getKey, options)).payload.sub, 'alice', `${alg}: verified with getKey`);
    t.equal((await jwtVerify(token, createLocalJWKSet(jwks), options)).payload.sub, 'alice', `${alg}: verified with the JWK Set`);
    t.ok(await ring.verificationKey(header.kid!), 'verificationKey finds it');
  }
  const token = await ring.sign({ sub: 'bob' }, { typ: 'JWT' });
  t.equal(decodeProtectedHeader(token).alg, 'ES256', 'the default algorithm');
  t.equal(await ring.verificationKey('unknown'), null);
  await t.rejects(jwtVerify(token.replace(/^[^.]+/, Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'nope' })).toString('base64url')), ring.getKey), {
    code: 'ERR_JWKS_NO_MATCHING_KEY',
  });
  for (const key of jwks.keys) {
    for (const member of PRIVATE_MEMBERS) t.notOk(member in key, `${key.alg}: no ${member} in the JWK Set`);
  }

  const response = await server.handleJwksRequest();
  t.equal(response.status, 200);
  t.match(response.headers, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300' });
  t.strictSame(response.body, jwks);
  t.equal((server.getMetadata().body as Record<string, unknown>).jwks_uri, 'https://auth.example.com/oauth/jwks.json');
});

t.test('the private keys are stored sealed, never in clear', async (t) => {
  const { ring, storage, server } = setup({ algorithms: ['ES256', 'RS256', 'EdDSA'] });
  await ring.publicJwks();
  const rows = storage.snapshot().signingKeys;
  t.equal(rows.length, 3);
  const text = JSON.stringify(rows);
  for (const row of rows) {
    const opened = JSON.parse(server.secretBox!.decrypt(row.privateJwkEncrypted)) as Record<string, string>;
    t.ok(opened.d && opened.d.length > 20, `${row.alg}: the sealed part holds the private key`);
    for (const member of PRIVATE_MEMBERS) if (opened[member] !== undefined && text.includes(opened[member]!)) t.fail(`${row.alg}: ${member} in clear`);
    const published = JSON.parse(row.publicJwk) as Record<string, unknown>;
    for (const member of PRIVATE_MEMBERS) t.notOk(member in published, `${row.alg}: no ${member} in the public JWK`);
  }
  const other = setup({}, storage);
  await t.rejects(other.ring.sign({}, { typ: 'JWT' }), /does not open with options.secretKey/, 'another secret key cannot use them');
});

t.test('rotation: published before it signs, the old key verifies until removed, then purged', async (t) => {
  const { ring, clock, server } = setup({ rotationLeadTime: 120, refreshInterval: 10 });
  const first = await ring.sign({ sub: 'alice' }, { typ: 'JWT' });
  const oldKid = decodeProtectedHeader(first).kid!;
  t.match(await ring.list(), [{ kid: oldKid, state: 'current', retiresAt: null, expiresAt: null }]);

  const [made] = await ring.rotate();
  t.match(made, { alg: 'ES256', state: 'pending', activatesAt: new Date(START + 120_000), retiresAt: null });
  const newKid = made!.kid;
  t.strictSame((await ring.publicJwks()).keys.map((key) => key.kid).sort(), [oldKid, newKid].sort(), 'both published at once');
  t.equal(decodeProtectedHeader(await ring.sign({}, { typ: 'JWT' })).kid, oldKid, 'the old key signs until the new one activates');
  t.match(await ring.list(), [
    { kid: oldKid, state: 'current', retiresAt: new Date(START + 120_000), expiresAt: new Date(START + (120 + 600 + 10) * 1000) },
    { kid: newKid, state: 'pending' },
  ]);

  later(clock, 120);
  const second = await ring.sign({ sub: 'bob' }, { typ: 'JWT' });
  t.equal(decodeProtectedHeader(second).kid, newKid, 'the new key signs from its activation');
  t.strictSame((await ring.publicJwks()).keys.map((key) => key.kid).sort(), [oldKid, newKid].sort(), 'the old key is still published');
  t.equal((await jwtVerify(first, ring.getKey, { currentDate: new Date(clock.now) })).payload.sub, 'alice', 'a token of the old key verifies');
  t.match(await ring.list(), [{ kid: oldKid, state: 'retired' }, { kid: newKid, state: 'current' }]);

  later(clock, 610);
  t.strictSame((await ring.publicJwks()).keys.map((key) => key.kid), [newKid], 'removed once every token it signed expired');
  await t.rejects(jwtVerify(first, ring.getKey, { currentDate: new Date(clock.now) }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  t.match(await ring.list(), [{ kid: oldKid, state: 'expired' }, { kid: newKid, state: 'current' }]);
  later(clock, 1);
  t.match(await server.purgeExpired(), { signingKeys: 1 }, 'purged once past its removal time');
  t.match(await ring.list(), [{ kid: newKid, state: 'current' }]);
  t.equal((await server.rotateSigningKeys()).length, 1, 'rotateSigningKeys on the server');
});

t.test('two servers on one store agree on one current key, however their rotations interleave', async (t) => {
  const storage = new MemoryStorage();
  const secretKey = randomBytes(32);
  const a = setup({ rotationLeadTime: 60, refreshInterval: 5 }, storage, secretKey);
  const b = setup({ rotationLeadTime: 60, refreshInterval: 5 }, storage, secretKey);
  const [tokenA, tokenB] = await Promise.all([a.ring.sign({}, { typ: 'JWT' }), b.ring.sign({}, { typ: 'JWT' })]);
  let keys = storage.snapshot().signingKeys;
  t.equal(keys.filter((key) => key.retiresAt === null).length, 1, 'one key left unretired after racing first use');
  // Both tokens verify on both servers, whichever key signed them.
  for (const token of [tokenA, tokenB]) for (const ring of [a.ring, b.ring]) t.ok(await jwtVerify(token, ring.getKey, { currentDate: new Date(START) }));

  await Promise.all([a.ring.rotate(), b.ring.rotate()]);
  keys = storage.snapshot().signingKeys;
  const open = keys.filter((key) => key.retiresAt === null);
  t.equal(open.length, 1, 'one key left unretired after racing rotations');
  for (const setupOf of [a, b]) later(setupOf.clock, 60);
  const kids = [decodeProtectedHeader(await a.ring.sign({}, { typ: 'JWT' })).kid, decodeProtectedHeader(await b.ring.sign({}, { typ: 'JWT' })).kid];
  t.strictSame(kids, [open[0]!.kid, open[0]!.kid], 'both sign with it once it activates');
});

t.test('options are checked', async (t) => {
  const base = { storage: new MemoryStorage(), issuer: 'https://auth.example.com' };
  t.throws(() => createAuthorizationServer({ ...base, signingKeys: {} }), { name: 'TypeError', message: /needs options.secretKey/ });
  const secretKey = randomBytes(32);
  t.throws(() => createAuthorizationServer({ ...base, secretKey, signingKeys: { algorithms: ['HS256' as 'ES256'] } }), /algorithms/);
  t.throws(() => createAuthorizationServer({ ...base, secretKey, signingKeys: { algorithms: [] } }), /algorithms/);
  t.throws(() => createAuthorizationServer({ ...base, secretKey, signingKeys: { refreshInterval: 30, rotationLeadTime: 10 } }), /rotationLeadTime/);
  t.throws(() => createAuthorizationServer({ ...base, secretKey, signingKeys: { rotateEvery: 100 } }), /rotateEvery/);
  const plain = createAuthorizationServer({ ...base });
  t.equal(plain.signingKeys, null);
  t.notOk('jwks_uri' in (plain.getMetadata().body as object), 'no jwks_uri without signing keys');
  t.equal((await plain.handleJwksRequest()).status, 404);
  await t.rejects(plain.rotateSigningKeys(), { name: 'TypeError' });
  const ring: SigningKeyRing = createAuthorizationServer({ ...base, secretKey, signingKeys: { rotateEvery: 86400 } }).signingKeys!;
  ring.stop();
  await t.rejects(ring.sign({}, { typ: 'JWT', alg: 'RS256' }), /not among the configured algorithms/);
});

t.test('rotateEvery rotates when the newest key is that old, and stop() ends the schedule', async (t) => {
  const { ring, clock } = setup({ rotationLeadTime: 1, refreshInterval: 1, rotateEvery: 2 });
  t.teardown(() => ring.stop());
  await ring.sign({}, { typ: 'JWT' });
  // The schedule looks every half second of real time; the clock says whether a rotation is due.
  await new Promise((resolve) => setTimeout(resolve, 700));
  t.equal((await ring.list()).length, 1, 'not due yet: no rotation');
  later(clock, 2);
  await new Promise((resolve) => setTimeout(resolve, 700));
  const keys = await ring.list();
  t.equal(keys.length, 2, 'due: one rotation, however many looks');
  t.match(keys, [{ state: 'current' }, { state: 'pending', activatesAt: new Date(clock.now + 1000) }]);
  ring.stop();
  later(clock, 10);
  await new Promise((resolve) => setTimeout(resolve, 700));
  t.equal((await ring.list()).length, 2, 'stopped: no more rotations');
});
