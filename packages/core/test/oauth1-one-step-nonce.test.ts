// A signed resource request's token lookup and nonce record in one store call
// (findOAuth1AccessTokenRecordingNonce), and the same answers on the two-call path of a store
// without it: the nonce of a granted request is spent, every refused request leaves none behind,
// and a replay is refused whichever way the store was asked.
import t from 'tap';
import type { OAuthError } from '../src/errors.js';
import type { OAuthRequest } from '../src/http.js';
import type { NonceRecord } from '../src/storage/records.js';
import { clientRecord, getAccessToken, setup, type Harness } from './oauth1-fixtures.js';

const URL_ME = 'https://auth.example/me';

async function verify(h: Harness, request: OAuthRequest, scope: string[] = []): Promise<OAuthError | null> {
  return h.provider.verifySignedRequest(request, scope).then(
    () => null,
    (error: OAuthError) => error,
  );
}

for (const oneStep of [true, false]) {
  const label = oneStep ? 'one step' : 'find, then record';

  t.test(`${label}: a granted request spends its nonce in the calls expected`, async (t) => {
    const h = await setup({}, { oneStep });
    const access = await getAccessToken(h);
    h.counted.calls.clear();
    const request = h.signed({ method: 'GET', url: URL_ME, token: access.token, tokenSecret: access.secret, nonce: 'n-1' });
    t.equal(await verify(h, request), null);
    t.equal(h.counted.count('findOAuth1AccessTokenRecordingNonce'), oneStep ? 1 : 0);
    t.equal(h.counted.count('findOAuth1AccessToken'), oneStep ? 0 : 1);
    t.equal(h.counted.count('recordNonce'), oneStep ? 0 : 1, 'no second call in one step');
    t.equal(h.counted.count('forgetNonce'), 0);
    t.same(
      h.storage.snapshot().nonces.filter((n) => n.nonce === 'n-1').map((n) => n.token),
      [access.token],
      'the nonce is recorded with its token',
    );

    const before = h.storage.snapshot();
    const replay = await verify(h, request);
    t.equal(replay?.error, 'nonce_used');
    t.equal(replay?.status, 401);
    t.equal(replay?.headers['www-authenticate'], 'OAuth realm="Polls"');
    t.equal(h.counted.count('forgetNonce'), 0, 'a replay forgets nothing: the nonce is the granted one');
    t.same(h.storage.snapshot(), before, 'the replay changed nothing');
  });

  t.test(`${label}: refused requests leave no nonce, so the genuine request still passes`, async (t) => {
    const h = await setup({ accessTokenTtl: 3600 }, { oneStep });
    const access = await getAccessToken(h);
    await h.storage.createClient(clientRecord({ id: 'consumer-3', oauth1SecretEncrypted: h.box.encrypt('third'), scopes: ['read'] }));
    const signedWith = (nonce: string, overrides: Partial<Parameters<Harness['signed']>[0]> = {}) =>
      h.signed({ method: 'GET', url: URL_ME, token: access.token, tokenSecret: access.secret, nonce, ...overrides });

    const refusals: [string, () => Promise<OAuthError | null>, string, number][] = [
      ['a wrong token secret', () => verify(h, signedWith('forged', { tokenSecret: 'guess' })), 'signature_invalid', 401],
      ['a tampered URL', () => verify(h, { ...signedWith('tampered'), url: new URL('https://auth.example/admin') }), 'signature_invalid', 401],
      ['a scope the token lacks', () => verify(h, signedWith('narrow'), ['admin']), 'insufficient_scope', 403],
      [
        "another consumer's request with this token",
        () => verify(h, signedWith('other', { consumerKey: 'consumer-3', consumerSecret: 'third' })),
        'token_rejected',
        401,
      ],
      ['an unknown token', () => verify(h, signedWith('unknown', { token: 'pco_unknown' })), 'token_rejected', 401],
    ];
    for (const [name, act, error, status] of refusals) {
      const before = h.storage.snapshot();
      const refused = await act();
      t.equal(refused?.error, error, `${name}: ${error}`);
      t.equal(refused?.status, status, `${name}: ${status}`);
      t.same(h.storage.snapshot(), before, `${name}: storage unchanged`);
    }
    // The nonces the refused requests carried are still the genuine client's to use.
    for (const nonce of ['forged', 'tampered', 'narrow', 'other']) {
      t.equal(await verify(h, signedWith(nonce)), null, `nonce ${nonce} still passes`);
    }

    h.clock.now += 3600;
    let before = h.storage.snapshot();
    t.equal((await verify(h, signedWith('late')))?.error, 'token_expired');
    t.same(h.storage.snapshot(), before, 'an expired token records nothing');
    h.clock.now -= 3600;

    await h.provider.revokeAccessTokens({ clientId: 'consumer-1', token: access.token });
    before = h.storage.snapshot();
    t.equal((await verify(h, signedWith('revoked')))?.error, 'token_revoked');
    t.same(h.storage.snapshot(), before, 'a revoked token records nothing');
  });
}

t.test('one step: a store that fails to forget a nonce does not change the refusal', async (t) => {
  const h = await setup();
  const access = await getAccessToken(h);
  const inner = h.storage;
  const failing = h.counted.storage as { forgetNonce?: (nonce: NonceRecord) => Promise<void> };
  failing.forgetNonce = async () => {
    throw new Error('connection lost');
  };
  const refused = await verify(h, h.signed({ method: 'GET', url: URL_ME, token: access.token, tokenSecret: 'guess', nonce: 'kept' }));
  t.equal(refused?.error, 'signature_invalid', "the client's mistake, not the store's error");
  t.equal(refused?.status, 401);
  const kept = inner.snapshot().nonces.find((n) => n.nonce === 'kept');
  t.ok(kept, 'the nonce stays recorded');
  t.same(kept?.expiresAt, new Date((h.clock.now + 300) * 1000), 'only until its timestamp window closes');
});

t.test('one step: twenty concurrent copies of one signed request, exactly one granted', async (t) => {
  const h = await setup();
  const access = await getAccessToken(h);
  const request = h.signed({ method: 'GET', url: URL_ME, token: access.token, tokenSecret: access.secret, nonce: 'race' });
  const outcomes = await Promise.all(Array.from({ length: 20 }, () => verify(h, request)));
  t.equal(outcomes.filter((o) => o === null).length, 1);
  t.equal(outcomes.filter((o) => o?.error === 'nonce_used').length, 19);
  t.equal(h.storage.snapshot().nonces.filter((n) => n.nonce === 'race').length, 1);
});
