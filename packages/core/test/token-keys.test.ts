import t from 'tap';
import { TOKEN_PREFIXES, digestSecret, generateId, generateTimedToken, generateToken, tokenDigest, type Entropy, type TokenKind } from '../src/index.js';
import { REDIRECT_URI, VERIFIER, bodyOf, createFixture, obtainCode, registerTestClient, tokenRequest } from './oauth2-fixtures.js';

const fixedBytes = (fill: number): Entropy => ({ randomBytes: (size) => new Uint8Array(size).fill(fill) });
const TIMED = /^pcr_[0-9A-HJKMNP-TV-Z]{10}[A-Za-z0-9_-]{43}$/;

t.test('a timed token is its prefix, the time as an id writes it, then 256 random bits', async (t) => {
  const time = Date.UTC(2026, 10, 24, 1, 2, 3);
  const token = generateTimedToken('refreshToken', fixedBytes(7), time);
  t.match(token, TIMED);
  t.equal(token.slice(4, 14), generateId(fixedBytes(0), time).slice(0, 10), "the same 10 characters as an id's time");
  t.equal(token.slice(14), Buffer.alloc(32, 7).toString('base64url'), 'the random part');
  t.not(generateTimedToken('refreshToken', undefined, time), generateTimedToken('refreshToken', undefined, time), 'the same millisecond, different tokens');
});

t.test("a timed token's key is its time then the digest of the whole token", async (t) => {
  const token = generateTimedToken('accessToken', undefined, Date.UTC(2026, 10, 24));
  const key = tokenDigest(token);
  t.equal(key, token.slice(4, 14) + digestSecret(token));
  t.equal(key.length, 53, 'fits the 64-character digest columns');
});

t.test('every kind of timed token is keyed by its time: the prefixes are all as long as tokenDigest expects', async (t) => {
  const time = Date.UTC(2026, 10, 24, 6, 0, 0);
  const timeCharacters = generateId(fixedBytes(0), time).slice(0, 10);
  for (const kind of Object.keys(TOKEN_PREFIXES) as TokenKind[]) {
    const token = generateTimedToken(kind, undefined, time);
    t.equal(tokenDigest(token), timeCharacters + digestSecret(token), kind);
  }
});

t.test('many tokens and ids made in one millisecond are all distinct and well-formed, of every kind', async (t) => {
  const COUNT = 5000;
  const time = Date.now();
  const makers: [string, RegExp, () => string][] = [
    ['row id', /^[0-9A-HJKMNP-TV-Z]{26}$/, () => generateId(undefined, time)],
  ];
  for (const [kind, prefix] of Object.entries(TOKEN_PREFIXES) as [TokenKind, string][]) {
    makers.push([`${kind} token`, new RegExp(`^${prefix}[A-Za-z0-9_-]{43}$`), () => generateToken(kind)]);
    makers.push([`${kind} timed token`, new RegExp(`^${prefix}[0-9A-HJKMNP-TV-Z]{10}[A-Za-z0-9_-]{43}$`), () => generateTimedToken(kind, undefined, time)]);
  }
  // Interleaved, as concurrent requests draw them: a repeated slice of random bytes between two
  // kinds shows up as two equal random parts.
  const made = makers.map(() => [] as string[]);
  for (let round = 0; round < COUNT; round += 1) {
    makers.forEach(([, , make], index) => made[index]!.push(make()));
  }
  const randomParts = new Set<string>();
  makers.forEach(([name, pattern], index) => {
    const values = made[index]!;
    t.equal(values.filter((value) => !pattern.test(value)).length, 0, `${name}: every one well-formed`);
    t.equal(new Set(values).size, COUNT, `${name}: all distinct`);
    for (const value of values) randomParts.add(value.slice(-16));
  });
  t.equal(randomParts.size, COUNT * makers.length, 'no random part repeats across kinds either');
});

t.test('keys of tokens made later sort later, whatever their random parts', async (t) => {
  const start = Date.UTC(2026, 0, 1);
  const keys = Array.from({ length: 300 }, (_, index) => tokenDigest(generateTimedToken('accessToken', undefined, start + index * 331)));
  t.same([...keys].sort(), keys);
});

t.test('a token made before tokens carried their time keeps its digest as its key', async (t) => {
  const legacy = `pcr_${Buffer.alloc(32, 9).toString('base64url')}`;
  t.equal(tokenDigest(legacy), digestSecret(legacy));
  t.equal(tokenDigest('anything a client sends'), digestSecret('anything a client sends'));
});

t.test("a changed time finds nothing, and a time that is not one is never copied into the key", async (t) => {
  const token = generateTimedToken('accessToken', undefined, Date.UTC(2026, 10, 24));
  const moved = `${token.slice(0, 13)}${token[13] === '0' ? '1' : '0'}${token.slice(14)}`;
  t.not(tokenDigest(moved).slice(10), digestSecret(token), 'the digest covers the time');
  // Same length, but lower case, a letter Crockford leaves out, or not ASCII: the digest alone,
  // so nothing a client chose reaches the database's key column.
  for (const time of ['abcdefghjk', '0123456789'.replace('1', 'I'), '01234567é9']) {
    const forged = `pca_${time}${token.slice(14)}`;
    t.equal(tokenDigest(forged), digestSecret(forged), JSON.stringify(time));
  }
});

t.test('a refresh token stored under its digest alone, before this format, still rotates', async (t) => {
  const fixture = createFixture();
  const client = await registerTestClient(fixture);
  const code = await obtainCode(fixture, client, { scope: 'read' });
  const issued = bodyOf(
    await fixture.server.handleTokenRequest(
      tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
    ),
  );
  t.match(issued['refresh_token'], TIMED);
  // The same grant's tokens as an earlier version stored them: untimed, keyed by their digest.
  const { accessTokens, refreshTokens } = fixture.storage.snapshot();
  const legacyAccess = `pca_${Buffer.alloc(32, 1).toString('base64url')}`;
  const legacyRefresh = `pcr_${Buffer.alloc(32, 2).toString('base64url')}`;
  await fixture.storage.saveTokens(
    { ...accessTokens[0]!, id: 'legacy-access', digest: digestSecret(legacyAccess) },
    { ...refreshTokens[0]!, id: 'legacy-refresh', digest: digestSecret(legacyRefresh) },
  );
  t.ok(await fixture.server.verifyAccessToken(legacyAccess, ['read']), 'the untimed access token is found');
  const response = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'refresh_token', refresh_token: legacyRefresh }));
  t.equal(response.status, 200);
  t.match(bodyOf(response)['refresh_token'], TIMED, 'and its rotation hands out a timed one');
  const rotated = fixture.storage.snapshot().refreshTokens.find((row) => row.id === 'legacy-refresh');
  t.not(rotated?.consumedAt, null, 'the untimed one is spent');
});
