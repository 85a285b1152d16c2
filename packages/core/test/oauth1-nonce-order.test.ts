// A signed resource request's nonce is recorded only after its signature and token checks pass
// (RFC 5849 section 3.3): the nonce of a granted request is spent, every refused request leaves
// none behind, and a replay is refused.
import t from 'tap';
import type { OAuthError } from '../src/errors.js';
import type { OAuthRequest } from '../src/http.js';
import { clientRecord, getAccessToken, setup, type Harness } from './oauth1-fixtures.js';

const URL_ME = 'https://auth.example/me';

async function verify(h: Harness, request: OAuthRequest, scope: string[] = []): Promise<OAuthError | null> {
  return h.provider.verifySignedRequest(request, scope).then(
    () => null,
    (error: OAuthError) => error,
  );
}

  t.test('a granted request finds its token, then records its nonce', async (t) => {
    const h = await setup();
    const access = await getAccessToken(h);
    h.counted.calls.clear();
    const request = h.signed({ method: 'GET', url: URL_ME, token: access.token, tokenSecret: access.secret, nonce: 'n-1' });
    t.equal(await verify(h, request), null);
    t.equal(h.counted.count('findOAuth1AccessToken'), 1);
    t.equal(h.counted.count('recordNonce'), 1);
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
    t.same(h.storage.snapshot(), before, 'the replay changed nothing');
  });

  t.test('refused requests record no nonce, so the genuine request still passes', async (t) => {
    const h = await setup({ accessTokenTtl: 3600 });
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
      h.counted.calls.clear();
      const refused = await act();
      t.equal(refused?.error, error, `${name}: ${error}`);
      t.equal(refused?.status, status, `${name}: ${status}`);
      t.same(h.storage.snapshot(), before, `${name}: storage unchanged`);
      t.equal(h.counted.count('recordNonce'), 0, `${name}: no nonce written`);
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

t.test('twenty concurrent copies of one signed request, exactly one granted', async (t) => {
  const h = await setup();
  const access = await getAccessToken(h);
  const request = h.signed({ method: 'GET', url: URL_ME, token: access.token, tokenSecret: access.secret, nonce: 'race' });
  const outcomes = await Promise.all(Array.from({ length: 20 }, () => verify(h, request)));
  t.equal(outcomes.filter((o) => o === null).length, 1);
  t.equal(outcomes.filter((o) => o?.error === 'nonce_used').length, 19);
  t.equal(h.storage.snapshot().nonces.filter((n) => n.nonce === 'race').length, 1);
});
