import { generateKeyPairSync } from 'node:crypto';
import t, { type Test } from 'tap';
import { digestSecret, SecretBox } from '../src/crypto.js';
import type { OAuthError } from '../src/errors.js';
import type { OAuthRequest } from '../src/http.js';
import {
  createOAuth1Provider,
  formatAuthorizationHeader,
  type OAuth1ProviderOptions,
} from '../src/oauth1/index.js';
import { MemoryStorage } from '../src/storage/memory-store.js';
import {
  assertError,
  authorize,
  clientRecord,
  form,
  getAccessToken,
  getRequestToken,
  refusedWithoutChange,
  SECRET_KEY,
  setup,
  START,
} from './oauth1-fixtures.js';

t.test('the literal requests of RFC 5849 section 1.2 pass the provider', async (t) => {
  const storage = new MemoryStorage();
  const box = new SecretBox(SECRET_KEY);
  await storage.createClient(clientRecord({ id: 'dpf43f3p2l4k3l03', oauth1SecretEncrypted: box.encrypt('kd94hf93k423kf44') }));
  // The example signs its credential requests for https and its resource request for http: one
  // server, one origin per provider.
  const provider = createOAuth1Provider({ storage, issuer: 'https://photos.example.net', secretKey: SECRET_KEY, realm: 'Photos', clock: () => new Date(137131200_000) });
  const resources = createOAuth1Provider({ storage, issuer: 'http://photos.example.net', secretKey: SECRET_KEY, realm: 'Photos', clock: () => new Date(137131200_000) });

  const initiate = await provider.handleRequestTokenRequest({
    method: 'POST',
    url: new URL('https://photos.example.net/initiate'),
    headers: {
      host: 'photos.example.net',
      authorization:
        'OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_signature_method="HMAC-SHA1", ' +
        'oauth_timestamp="137131200", oauth_nonce="wIjqoS", oauth_callback="http%3A%2F%2Fprinter.example.com%2Fready", ' +
        'oauth_signature="74KNZJeDHnMBp0EMJ9ZHt%2FXKycU%3D"',
    },
    secure: true,
  });
  t.equal(initiate.status, 200);
  t.equal(initiate.headers['content-type'], 'application/x-www-form-urlencoded');
  t.equal(initiate.headers['cache-control'], 'no-store');
  t.match(initiate.body, /^oauth_token=pcq_[A-Za-z0-9_-]{43}&oauth_token_secret=pck_[A-Za-z0-9_-]{43}&oauth_callback_confirmed=true$/);
  const issued = form(initiate);
  const saved = (await storage.findRequestToken(issued['oauth_token'] ?? ''))!;
  t.equal(saved.callback, 'http://printer.example.com/ready');
  t.equal(saved.clientId, 'dpf43f3p2l4k3l03');
  t.same(saved.scope, ['read', 'write'], 'the client scopes by default');
  t.equal(saved.expiresAt.getTime(), 137131200_000 + 600_000, 'ten minutes');
  t.equal(box.decrypt(saved.secretEncrypted), issued['oauth_token_secret'], 'the secret sealed, not in clear');
  t.not(saved.secretEncrypted, issued['oauth_token_secret']);
  t.same(storage.snapshot().nonces, [
    { clientId: 'dpf43f3p2l4k3l03', token: '', timestamp: 137131200, nonce: 'wIjqoS', expiresAt: new Date(137131500_000) },
  ]);

  // The RFC's request token, as if the user had approved it with the RFC's verifier.
  await storage.saveRequestToken({
    id: 'rt-1',
    token: 'hh5s93j4hdidpola',
    secretEncrypted: box.encrypt('hdhd0244k9j7ao03'),
    clientId: 'dpf43f3p2l4k3l03',
    callback: 'http://printer.example.com/ready',
    scope: ['read'],
    userId: 'jane',
    verifierDigest: digestSecret('hfdp7dh39dks9884'),
    issuedAt: new Date(137131200_000),
    expiresAt: new Date(137131800_000),
    consumedAt: null,
  });
  const token = await provider.handleAccessTokenRequest({
    method: 'POST',
    url: new URL('https://photos.example.net/token'),
    headers: {
      authorization:
        'OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_token="hh5s93j4hdidpola", ' +
        'oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131201", oauth_nonce="walatlh", ' +
        'oauth_verifier="hfdp7dh39dks9884", oauth_signature="gKgrFCywp7rO0OXSjdot%2FIHF7IU%3D"',
    },
    secure: true,
  });
  t.equal(token.status, 200);
  t.match(token.body, /^oauth_token=pco_[A-Za-z0-9_-]{43}&oauth_token_secret=pck_[A-Za-z0-9_-]{43}$/);
  t.not((await storage.findRequestToken('hh5s93j4hdidpola'))!.consumedAt, null, 'the request token is spent');
  const access = (await storage.findOAuth1AccessToken(form(token)['oauth_token'] ?? ''))!;
  t.equal(access.userId, 'jane');
  t.same(access.scope, ['read']);
  t.equal(access.expiresAt, null, 'no expiry by default');

  await storage.saveOAuth1AccessToken({
    id: 'at-1',
    token: 'nnch734d00sl2jdk',
    secretEncrypted: box.encrypt('pfkkdhi9sl3r4s00'),
    clientId: 'dpf43f3p2l4k3l03',
    userId: 'jane',
    scope: ['read'],
    issuedAt: new Date(137131200_000),
    expiresAt: null,
    revokedAt: null,
  });
  const grant = await resources.verifySignedRequest(
    {
      method: 'GET',
      url: new URL('http://photos.example.net/photos?file=vacation.jpg&size=original'),
      headers: {
        authorization:
          'OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_token="nnch734d00sl2jdk", ' +
          'oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131202", oauth_nonce="chapoH", ' +
          'oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D"',
      },
      secure: false,
    },
    ['read'],
  );
  t.same(grant, { clientId: 'dpf43f3p2l4k3l03', userId: 'jane', scope: ['read'], tokenId: 'at-1', expiresAt: null });
});

t.test('three legs end to end, then a signed resource request', async (t) => {
  const h = await setup();
  const requestToken = await h.provider.handleRequestTokenRequest(
    h.signed({
      url: 'https://auth.example/oauth1/request_token',
      extra: { oauth_callback: 'https://client.example/cb?state=a%20b#done' },
      body: { scope: 'read' },
    }),
  );
  t.equal(requestToken.status, 200);
  const temporary = form(requestToken);
  t.equal(temporary['oauth_callback_confirmed'], 'true');

  const consent = await h.provider.validateAuthorizationRequest({
    method: 'GET',
    url: new URL(`https://auth.example/oauth1/authorize?oauth_token=${temporary['oauth_token']}`),
    headers: {},
    secure: true,
  });
  t.same(consent, {
    kind: 'consent',
    request: {
      token: temporary['oauth_token'],
      clientId: 'consumer-1',
      clientName: 'Client consumer-1',
      scope: ['read'],
      callback: 'https://client.example/cb?state=a%20b#done',
    },
  });

  const decision = await h.provider.completeAuthorization(temporary['oauth_token'] ?? '', { userId: 'alice', approved: true });
  t.equal(decision.kind, 'redirect');
  const location = decision.kind === 'redirect' ? decision.location : '';
  const verifier = new URL(location).searchParams.get('oauth_verifier') ?? '';
  t.match(verifier, /^pcv_[A-Za-z0-9_-]{43}$/);
  t.equal(
    location,
    `https://client.example/cb?state=a%20b&oauth_token=${temporary['oauth_token']}&oauth_verifier=${verifier}#done`,
    "the callback's own query kept, the parameters appended",
  );
  const approved = (await h.storage.findRequestToken(temporary['oauth_token'] ?? ''))!;
  t.equal(approved.userId, 'alice');
  t.equal(approved.verifierDigest, digestSecret(verifier), 'only the digest of the verifier is kept');

  const accessResponse = await h.provider.handleAccessTokenRequest(
    h.signed({
      url: 'https://auth.example/oauth1/access_token',
      token: temporary['oauth_token'] ?? '',
      tokenSecret: temporary['oauth_token_secret'] ?? '',
      extra: { oauth_verifier: verifier },
    }),
  );
  t.equal(accessResponse.status, 200);
  t.equal(accessResponse.headers['content-type'], 'application/x-www-form-urlencoded');
  const access = form(accessResponse);
  t.same(Object.keys(access), ['oauth_token', 'oauth_token_secret']);

  // Nothing in the store can be used as a credential: token secrets sealed, verifier digested.
  const dump = JSON.stringify(h.storage.snapshot());
  for (const secret of [temporary['oauth_token_secret'], access['oauth_token_secret'], verifier, 'consumer-secret']) {
    t.notMatch(dump, secret ?? 'missing', 'no secret in clear at rest');
  }

  const grant = await h.provider.verifySignedRequest(
    h.signed({
      method: 'GET',
      url: 'https://auth.example/polls?page=2',
      token: access['oauth_token'] ?? '',
      tokenSecret: access['oauth_token_secret'] ?? '',
      where: 'query',
    }),
    ['read'],
  );
  const record = (await h.storage.findOAuth1AccessToken(access['oauth_token'] ?? ''))!;
  t.same(grant, { clientId: 'consumer-1', userId: 'alice', scope: ['read'], tokenId: record.id, expiresAt: null });

  const before = h.storage.snapshot();
  const insufficient = await h.provider
    .verifySignedRequest(
      h.signed({ method: 'GET', url: 'https://auth.example/polls', token: access['oauth_token'] ?? '', tokenSecret: access['oauth_token_secret'] ?? '' }),
      ['write'],
    )
    .then(() => null, (error: OAuthError) => error);
  t.equal(insufficient?.status, 403);
  t.equal(insufficient?.error, 'insufficient_scope');
  t.equal(insufficient?.scope, 'write');
  t.same(h.storage.snapshot(), before, 'a refused resource request records no nonce');
  t.same(h.provider.toErrorResponse(insufficient), {
    status: 403,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: { error: 'insufficient_scope', error_description: "This resource needs the scope 'write'." },
  });
});

t.test('write includes read; oob callback; HMAC-SHA256 in the form body', async (t) => {
  const h = await setup();
  const response = await h.provider.handleRequestTokenRequest(
    h.signed({
      url: 'https://auth.example/oauth1/request_token',
      signatureMethod: 'HMAC-SHA256',
      where: 'body',
      extra: { oauth_callback: 'oob', oauth_version: '1.0' },
      body: { scope: 'write' },
    }),
  );
  t.equal(response.status, 200);
  const temporary = form(response);
  const result = await h.provider.completeAuthorization(temporary['oauth_token'] ?? '', { userId: 'bob', approved: true });
  t.equal(result.kind, 'verifier');
  const verifier = result.kind === 'verifier' ? result.verifier : '';
  t.same(result, { kind: 'verifier', token: temporary['oauth_token'], verifier });

  const accessResponse = await h.provider.handleAccessTokenRequest(
    h.signed({
      url: 'https://auth.example/oauth1/access_token',
      signatureMethod: 'HMAC-SHA256',
      where: 'body',
      token: temporary['oauth_token'] ?? '',
      tokenSecret: temporary['oauth_token_secret'] ?? '',
      extra: { oauth_verifier: verifier },
    }),
  );
  t.equal(accessResponse.status, 200);
  const access = form(accessResponse);
  const grant = await h.provider.verifySignedRequest(
    h.signed({
      method: 'POST',
      url: 'https://auth.example/polls/1/vote',
      body: { choice: '3' },
      token: access['oauth_token'] ?? '',
      tokenSecret: access['oauth_token_secret'] ?? '',
    }),
    ['read'],
  );
  t.same(grant.scope, ['write']);
  t.equal(grant.userId, 'bob');
});

t.test('RSA-SHA1 consumers sign with their private key', async (t) => {
  const h = await setup();
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await h.storage.createClient(
    clientRecord({ id: 'rsa-consumer', rsaPublicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() }),
  );
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const ok = await h.provider.handleRequestTokenRequest(
    h.signed({
      url: 'https://auth.example/oauth1/request_token',
      consumerKey: 'rsa-consumer',
      signatureMethod: 'RSA-SHA1',
      privateKey: privatePem,
      extra: { oauth_callback: 'oob' },
    }),
  );
  t.equal(ok.status, 200);
  t.equal((await h.storage.findRequestToken(form(ok)['oauth_token'] ?? ''))?.clientId, 'rsa-consumer');

  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await refusedWithoutChange(
    t,
    h,
    () =>
      h.provider.handleRequestTokenRequest(
        h.signed({
          url: 'https://auth.example/oauth1/request_token',
          consumerKey: 'rsa-consumer',
          signatureMethod: 'RSA-SHA1',
          privateKey: otherKey,
          extra: { oauth_callback: 'oob' },
        }),
      ),
    401,
    'signature_invalid',
  );
  // HMAC from an RSA-only consumer: it has no shared secret.
  await refusedWithoutChange(
    t,
    h,
    () =>
      h.provider.handleRequestTokenRequest(
        h.signed({ url: 'https://auth.example/oauth1/request_token', consumerKey: 'rsa-consumer', extra: { oauth_callback: 'oob' } }),
      ),
    400,
    'signature_method_rejected',
  );
  // RSA from a consumer that registered no key.
  await refusedWithoutChange(
    t,
    h,
    () =>
      h.provider.handleRequestTokenRequest(
        h.signed({
          url: 'https://auth.example/oauth1/request_token',
          signatureMethod: 'RSA-SHA1',
          privateKey: privatePem,
          extra: { oauth_callback: 'oob' },
        }),
      ),
    400,
    'signature_method_rejected',
  );
});

t.test('PLAINTEXT over TLS only', async (t) => {
  const h = await setup({ enforceSecure: false });
  const ok = await h.provider.handleRequestTokenRequest(
    h.signed({ url: 'https://auth.example/oauth1/request_token', signatureMethod: 'PLAINTEXT', extra: { oauth_callback: 'oob' } }),
  );
  t.equal(ok.status, 200);
  const plainHttp = await refusedWithoutChange(
    t,
    h,
    () =>
      h.provider.handleRequestTokenRequest(
        h.signed({ url: 'http://auth.example/oauth1/request_token', signatureMethod: 'PLAINTEXT', extra: { oauth_callback: 'oob' } }),
      ),
    400,
    'signature_method_rejected',
  );
  t.match((plainHttp.body as { error_description: string }).error_description, /TLS/);
  await refusedWithoutChange(
    t,
    h,
    () =>
      h.provider.handleRequestTokenRequest(
        h.signed({
          url: 'https://auth.example/oauth1/request_token',
          signatureMethod: 'PLAINTEXT',
          extra: { oauth_callback: 'oob' },
          mutate: (p) => (p['oauth_signature'] = 'consumer-secret&x'),
        }),
      ),
    401,
    'signature_invalid',
  );
  // Section 3.1: timestamp and nonce may be left out with PLAINTEXT.
  const bare = h.signed({ url: 'https://auth.example/oauth1/request_token', signatureMethod: 'PLAINTEXT', extra: { oauth_callback: 'oob' } });
  bare.headers['authorization'] = formatAuthorizationHeader({
    oauth_consumer_key: 'consumer-1',
    oauth_signature_method: 'PLAINTEXT',
    oauth_callback: 'oob',
    oauth_signature: 'consumer-secret&',
  });
  const nonces = h.storage.snapshot().nonces.length;
  t.equal((await h.provider.handleRequestTokenRequest(bare)).status, 200);
  t.equal(h.storage.snapshot().nonces.length, nonces, 'nothing to record');
});

t.test('replays: the same nonce, timestamp, consumer and token twice', async (t) => {
  const h = await setup();
  const request = h.signed({ url: 'https://auth.example/oauth1/request_token', extra: { oauth_callback: 'oob' } });
  t.equal((await h.provider.handleRequestTokenRequest(request)).status, 200);
  await refusedWithoutChange(t, h, () => h.provider.handleRequestTokenRequest(request), 401, 'nonce_used');

  const access = await getAccessToken(h);
  const resource = h.signed({ method: 'GET', url: 'https://auth.example/me', token: access.token, tokenSecret: access.secret });
  await h.provider.verifySignedRequest(resource);
  const before = h.storage.snapshot();
  const replay = await h.provider.verifySignedRequest(resource).then(() => null, (error: OAuthError) => error);
  t.equal(replay?.error, 'nonce_used');
  t.equal(replay?.status, 401);
  t.equal(replay?.headers['www-authenticate'], 'OAuth realm="Polls"');
  t.same(h.storage.snapshot(), before);

  // The same nonce with another timestamp, or another token, is another request.
  const sameNonce = h.signed({
    method: 'GET',
    url: 'https://auth.example/me',
    token: access.token,
    tokenSecret: access.secret,
    nonce: 'shared',
  });
  await h.provider.verifySignedRequest(sameNonce);
  h.clock.now += 1;
  await h.provider.verifySignedRequest(
    h.signed({ method: 'GET', url: 'https://auth.example/me', token: access.token, tokenSecret: access.secret, nonce: 'shared' }),
  );
  t.equal(h.storage.snapshot().nonces.filter((n) => n.nonce === 'shared').length, 2);
});

t.test('a forged request cannot spend a nonce', async (t) => {
  const h = await setup();
  await refusedWithoutChange(
    t,
    h,
    () =>
      h.provider.handleRequestTokenRequest(
        h.signed({ url: 'https://auth.example/oauth1/request_token', consumerSecret: 'guess', nonce: 'victim', extra: { oauth_callback: 'oob' } }),
      ),
    401,
    'signature_invalid',
  );
  const genuine = await h.provider.handleRequestTokenRequest(
    h.signed({ url: 'https://auth.example/oauth1/request_token', nonce: 'victim', extra: { oauth_callback: 'oob' } }),
  );
  t.equal(genuine.status, 200);
});

t.test('stale and future timestamps', async (t) => {
  const h = await setup();
  for (const offset of [-301, 301, -100_000]) {
    await refusedWithoutChange(
      t,
      h,
      () =>
        h.provider.handleRequestTokenRequest(
          h.signed({ url: 'https://auth.example/oauth1/request_token', timestamp: START + offset, extra: { oauth_callback: 'oob' } }),
        ),
      401,
      'timestamp_refused',
    );
  }
  for (const offset of [-300, 300]) {
    const response = await h.provider.handleRequestTokenRequest(
      h.signed({ url: 'https://auth.example/oauth1/request_token', timestamp: START + offset, extra: { oauth_callback: 'oob' } }),
    );
    t.equal(response.status, 200, `${offset} s is inside the window`);
  }
  const narrow = await setup({ timestampWindow: 10 });
  await refusedWithoutChange(
    t,
    narrow,
    () =>
      narrow.provider.handleRequestTokenRequest(
        narrow.signed({ url: 'https://auth.example/oauth1/request_token', timestamp: START - 11, extra: { oauth_callback: 'oob' } }),
      ),
    401,
    'timestamp_refused',
  );
  const recorded = narrow.storage.snapshot().nonces.length;
  t.equal(
    (
      await narrow.provider.handleRequestTokenRequest(
        narrow.signed({ url: 'https://auth.example/oauth1/request_token', timestamp: START - 10, nonce: 'n10', extra: { oauth_callback: 'oob' } }),
      )
    ).status,
    200,
  );
  const nonce = narrow.storage.snapshot().nonces.find((n) => n.nonce === 'n10');
  t.same(nonce?.expiresAt, new Date((START - 10 + 10) * 1000), 'kept only as long as the window');
  t.equal(narrow.storage.snapshot().nonces.length, recorded + 1);
  await refusedWithoutChange(
    t,
    h,
    () =>
      h.provider.handleRequestTokenRequest(
        h.signed({ url: 'https://auth.example/oauth1/request_token', extra: { oauth_callback: 'oob' }, mutate: (p) => (p['oauth_timestamp'] = '12.5') }),
      ),
    400,
    'parameter_rejected',
  );
});

t.test('tampered requests', async (t) => {
  const h = await setup();
  const access = await getAccessToken(h);
  const tamperedQuery = h.signed({ method: 'GET', url: 'https://auth.example/polls?id=1', token: access.token, tokenSecret: access.secret });
  tamperedQuery.url.searchParams.set('id', '2');
  const tamperedMethod = { ...h.signed({ method: 'GET', url: 'https://auth.example/polls', token: access.token, tokenSecret: access.secret }), method: 'DELETE' };
  // Signed for another host and sent there (its Host header): the server checks its own origin.
  const tamperedHost = h.signed({ method: 'GET', url: 'https://evil.example/polls', token: access.token, tokenSecret: access.secret });
  const tamperedBody = h.signed({
    method: 'POST',
    url: 'https://auth.example/vote',
    body: { choice: '1' },
    token: access.token,
    tokenSecret: access.secret,
  });
  tamperedBody.body = { choice: '2' };
  const wrongTokenSecret = h.signed({ method: 'GET', url: 'https://auth.example/polls', token: access.token, tokenSecret: 'nope' });
  const changedNonce = h.signed({
    method: 'GET',
    url: 'https://auth.example/polls',
    token: access.token,
    tokenSecret: access.secret,
    mutate: (p) => (p['oauth_nonce'] = 'other'),
  });
  for (const [name, request] of Object.entries({ tamperedQuery, tamperedMethod, tamperedHost, tamperedBody, wrongTokenSecret, changedNonce })) {
    const before = h.storage.snapshot();
    const error = await h.provider.verifySignedRequest(request).then(() => null, (e: OAuthError) => e);
    t.equal(error?.error, 'signature_invalid', name);
    t.equal(error?.status, 401, name);
    t.equal(error?.headers['www-authenticate'], 'OAuth realm="Polls"', name);
    t.same(h.storage.snapshot(), before, `${name}: storage unchanged`);
  }
  const tamperedCallback = h.signed({
    url: 'https://auth.example/oauth1/request_token',
    extra: { oauth_callback: 'https://client.example/cb' },
    mutate: (p) => (p['oauth_callback'] = 'https://evil.example/cb'),
  });
  await refusedWithoutChange(t, h, () => h.provider.handleRequestTokenRequest(tamperedCallback), 401, 'signature_invalid');
});

t.test('wrong verifiers spend the request token', async (t) => {
  const h = await setup();
  const temporary = await getRequestToken(h);
  const verifier = await authorize(h, temporary.token);
  const before = h.storage.snapshot();
  const wrong = await h.provider.handleAccessTokenRequest(
    h.signed({
      url: 'https://auth.example/oauth1/access_token',
      token: temporary.token,
      tokenSecret: temporary.secret,
      extra: { oauth_verifier: `${verifier.slice(0, -1)}x` },
    }),
  );
  assertError(t, wrong, 401, 'verifier_invalid');
  const after = h.storage.snapshot();
  t.same(after.oauth1AccessTokens, before.oauth1AccessTokens, 'no access token issued');
  t.equal(after.nonces.length, before.nonces.length + 1, 'the signed attempt recorded its nonce');
  t.same(after.requestTokens.map((r) => r.consumedAt), [new Date(START * 1000)], 'the request token is spent (documented choice)');

  await refusedWithoutChange(
    t,
    h,
    () =>
      h.provider.handleAccessTokenRequest(
        h.signed({ url: 'https://auth.example/oauth1/access_token', token: temporary.token, tokenSecret: temporary.secret, extra: { oauth_verifier: verifier } }),
      ),
    401,
    'token_used',
  );
});

t.test('request tokens are single use, short-lived and bound to their consumer', async (t) => {
  const h = await setup();
  const temporary = await getRequestToken(h);
  const verifier = await authorize(h, temporary.token);
  const exchange = () =>
    h.provider.handleAccessTokenRequest(
      h.signed({ url: 'https://auth.example/oauth1/access_token', token: temporary.token, tokenSecret: temporary.secret, extra: { oauth_verifier: verifier } }),
    );
  t.equal((await exchange()).status, 200);
  await refusedWithoutChange(t, h, exchange, 401, 'token_used');

  // Another consumer presenting this consumer's request token.
  const second = await getRequestToken(h);
  const secondVerifier = await authorize(h, second.token);
  await refusedWithoutChange(
    t,
    h,
    () =>
      h.provider.handleAccessTokenRequest(
        h.signed({
          url: 'https://auth.example/oauth1/access_token',
          consumerKey: 'consumer-2',
          consumerSecret: 'second-secret',
          token: second.token,
          tokenSecret: second.secret,
          extra: { oauth_verifier: secondVerifier },
        }),
      ),
    401,
    'token_rejected',
  );
  await refusedWithoutChange(
    t,
    h,
    () =>
      h.provider.handleAccessTokenRequest(
        h.signed({ url: 'https://auth.example/oauth1/access_token', token: 'pcq_unknown', tokenSecret: 'x', extra: { oauth_verifier: 'v' } }),
      ),
    401,
    'token_rejected',
  );

  // Not authorized yet.
  const pending = await getRequestToken(h);
  await refusedWithoutChange(
    t,
    h,
    () =>
      h.provider.handleAccessTokenRequest(
        h.signed({ url: 'https://auth.example/oauth1/access_token', token: pending.token, tokenSecret: pending.secret, extra: { oauth_verifier: 'pcv_x' } }),
      ),
    401,
    'token_rejected',
  );

  // Expired: ten minutes by default.
  const late = await getRequestToken(h);
  const lateVerifier = await authorize(h, late.token);
  h.clock.now += 600;
  await refusedWithoutChange(
    t,
    h,
    () =>
      h.provider.handleAccessTokenRequest(
        h.signed({ url: 'https://auth.example/oauth1/access_token', token: late.token, tokenSecret: late.secret, extra: { oauth_verifier: lateVerifier } }),
      ),
    401,
    'token_expired',
  );
  const expiredConsent = await h.provider.validateAuthorizationRequest({
    method: 'GET',
    url: new URL(`https://auth.example/oauth1/authorize?oauth_token=${pending.token}`),
    headers: {},
    secure: true,
  });
  t.equal(expiredConsent.kind, 'error');
  t.equal(expiredConsent.kind === 'error' && expiredConsent.error.error, 'token_expired');
});

t.test('the authorization step', async (t) => {
  const h = await setup();
  const ask = (query: string) =>
    h.provider.validateAuthorizationRequest({ method: 'GET', url: new URL(`https://auth.example/oauth1/authorize${query}`), headers: {}, secure: true });
  const missing = await ask('');
  t.equal(missing.kind === 'error' && `${missing.status} ${missing.error.error}`, '400 parameter_absent');
  const unknown = await ask('?oauth_token=pcq_nope');
  t.equal(unknown.kind === 'error' && `${unknown.status} ${unknown.error.error}`, '401 token_rejected');
  const twice = await ask('?oauth_token=a&oauth_token=b');
  t.equal(twice.kind === 'error' && twice.error.error, 'parameter_rejected');

  const temporary = await getRequestToken(h, 'https://client.example/cb', { scope: 'read write' });
  const fromBody = await h.provider.validateAuthorizationRequest({
    method: 'POST',
    url: new URL('https://auth.example/oauth1/authorize'),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: { oauth_token: temporary.token },
    secure: true,
  });
  t.equal(fromBody.kind === 'consent' && fromBody.request.token, temporary.token);
  t.same(fromBody.kind === 'consent' && fromBody.request.scope, ['read', 'write']);

  const tooMuch = await h.provider.completeAuthorization(temporary.token, { userId: 'alice', approved: true, scope: ['admin'] });
  t.equal(tooMuch.kind === 'error' && tooMuch.error.error, 'invalid_scope');
  const narrowed = await authorize(h, temporary.token, ['read']);
  t.match(narrowed, /^pcv_/);
  t.same((await h.storage.findRequestToken(temporary.token))?.scope, ['read'], 'the user narrowed the scope');
  const again = await ask(`?oauth_token=${temporary.token}`);
  t.equal(again.kind === 'error' && again.error.error, 'token_used', 'already authorized');
  const secondApproval = await h.provider.completeAuthorization(temporary.token, { userId: 'mallory', approved: true });
  t.equal(secondApproval.kind === 'error' && secondApproval.error.error, 'token_used');
  t.equal((await h.storage.findRequestToken(temporary.token))?.userId, 'alice');
});

t.test('a refusal by the user', async (t) => {
  const h = await setup();
  const temporary = await getRequestToken(h, 'https://client.example/cb?x=1');
  const denied = await h.provider.completeAuthorization(temporary.token, { userId: 'alice', approved: false });
  t.same(denied, {
    kind: 'denied',
    location: `https://client.example/cb?x=1&oauth_token=${temporary.token}&oauth_problem=permission_denied`,
  });
  const record = (await h.storage.findRequestToken(temporary.token))!;
  t.not(record.consumedAt, null, 'spent');
  t.equal(record.userId, null);
  await refusedWithoutChange(
    t,
    h,
    () =>
      h.provider.handleAccessTokenRequest(
        h.signed({ url: 'https://auth.example/oauth1/access_token', token: temporary.token, tokenSecret: temporary.secret, extra: { oauth_verifier: 'pcv_x' } }),
      ),
    401,
    'permission_denied',
  );
  const oob = await getRequestToken(h, 'oob');
  t.same(await h.provider.completeAuthorization(oob.token, { userId: 'alice', approved: false }), { kind: 'denied' });
});

t.test('malformed requests are refused with their problem and change nothing', async (t) => {
  const h = await setup();
  const url = 'https://auth.example/oauth1/request_token';
  const cases: Array<[string, () => OAuthRequest, number, string]> = [
    [
      'parameters in two places',
      () => {
        const request = h.signed({ url, extra: { oauth_callback: 'oob' } });
        request.url.searchParams.set('oauth_nonce', 'again');
        return request;
      },
      400,
      'parameter_rejected',
    ],
    ['an unsupported method', () => h.signed({ url, extra: { oauth_callback: 'oob' }, mutate: (p) => (p['oauth_signature_method'] = 'HMAC-MD5') }), 400, 'signature_method_rejected'],
    ['a bad version', () => h.signed({ url, extra: { oauth_callback: 'oob', oauth_version: '2.0' } }), 400, 'version_rejected'],
    ['no callback', () => h.signed({ url }), 400, 'parameter_absent'],
    ['a relative callback', () => h.signed({ url, extra: { oauth_callback: '/cb' } }), 400, 'parameter_rejected'],
    ['a javascript callback', () => h.signed({ url, extra: { oauth_callback: 'javascript:alert(1)' } }), 400, 'parameter_rejected'],
    ['a token on the first leg', () => h.signed({ url, token: 'pcq_x', extra: { oauth_callback: 'oob' } }), 400, 'parameter_rejected'],
    ['an unknown scope', () => h.signed({ url, extra: { oauth_callback: 'oob' }, body: { scope: 'admin' } }), 400, 'invalid_scope'],
    ['an unknown consumer', () => h.signed({ url, consumerKey: 'nobody', extra: { oauth_callback: 'oob' } }), 401, 'consumer_key_unknown'],
    ['a nonce too long', () => h.signed({ url, nonce: 'n'.repeat(256), extra: { oauth_callback: 'oob' } }), 400, 'parameter_rejected'],
    ['a broken header', () => ({ ...h.signed({ url, extra: { oauth_callback: 'oob' } }), headers: { authorization: 'OAuth oauth_consumer_key="%zz"' } }), 400, 'parameter_rejected'],
    ['over plain HTTP', () => h.signed({ url: 'http://auth.example/oauth1/request_token', extra: { oauth_callback: 'oob' } }), 400, 'invalid_request'],
  ];
  for (const [name, build, status, error] of cases) {
    // Awaited, so each case sees the store as the one before left it.
    await t.test(name, async (t) => {
      await refusedWithoutChange(t, h, () => h.provider.handleRequestTokenRequest(build()), status, error);
    });
  }
  const absent = await h.provider.handleRequestTokenRequest({ method: 'POST', url: new URL(url), headers: {}, secure: true });
  assertError(t, absent, 400, 'parameter_absent');
  t.equal(
    (absent.body as { error_description: string }).error_description,
    'The request lacks oauth_consumer_key, oauth_signature_method, oauth_signature, oauth_callback, oauth_timestamp, oauth_nonce.',
    'every missing parameter named',
  );
  const get = await h.provider.handleRequestTokenRequest({ ...h.signed({ url, extra: { oauth_callback: 'oob' } }), method: 'GET' });
  assertError(t, get, 405, 'invalid_request');
  t.equal(get.headers['allow'], 'POST');

  await h.storage.createClient(clientRecord({ id: 'disabled', disabled: true, oauth1SecretEncrypted: h.box.encrypt('s') }));
  await h.storage.createClient(clientRecord({ id: 'oauth2-only', oauth1Enabled: false, oauth1SecretEncrypted: h.box.encrypt('s') }));
  for (const consumerKey of ['disabled', 'oauth2-only']) {
    await refusedWithoutChange(
      t,
      h,
      () => h.provider.handleRequestTokenRequest(h.signed({ url, consumerKey, consumerSecret: 's', extra: { oauth_callback: 'oob' } })),
      401,
      'consumer_key_rejected',
    );
  }
  // A scope the registry knows but the client may not be granted.
  await h.storage.createClient(clientRecord({ id: 'reader', scopes: ['read'], oauth1SecretEncrypted: h.box.encrypt('r') }));
  await refusedWithoutChange(
    t,
    h,
    () =>
      h.provider.handleRequestTokenRequest(
        h.signed({ url, consumerKey: 'reader', consumerSecret: 'r', extra: { oauth_callback: 'oob' }, body: { scope: 'write' } }),
      ),
    400,
    'invalid_scope',
  );
});

t.test('access tokens: revocation and lifetime', async (t) => {
  const h = await setup({ accessTokenTtl: 3600 });
  const access = await getAccessToken(h);
  const call = () =>
    h.provider
      .verifySignedRequest(h.signed({ method: 'GET', url: 'https://auth.example/me', token: access.token, tokenSecret: access.secret }))
      .then(() => null, (error: OAuthError) => error);
  t.equal(await call(), null);
  const record = (await h.storage.findOAuth1AccessToken(access.token))!;
  t.same(record.expiresAt, new Date((START + 3600) * 1000));

  h.clock.now += 3600;
  const expired = await call();
  t.equal(expired?.error, 'token_expired');
  t.equal(expired?.status, 401);
  h.clock.now -= 3600;

  t.equal(await h.provider.revokeAccessTokens({ clientId: 'consumer-1', userId: 'alice' }), 1);
  const before = h.storage.snapshot();
  const revoked = await call();
  t.equal(revoked?.error, 'token_revoked');
  t.equal(revoked?.headers['www-authenticate'], 'OAuth realm="Polls"');
  t.same(h.storage.snapshot(), before);
  t.same(h.provider.toErrorResponse(revoked), {
    status: 401,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'www-authenticate': 'OAuth realm="Polls"' },
    body: { error: 'token_revoked', error_description: 'The access token was revoked.' },
  });

  const unknown = await h.provider
    .verifySignedRequest(h.signed({ method: 'GET', url: 'https://auth.example/me', token: 'pco_nope', tokenSecret: 'x' }))
    .then(() => null, (error: OAuthError) => error);
  t.equal(unknown?.error, 'token_rejected');
  const noToken = await h.provider
    .verifySignedRequest(h.signed({ method: 'GET', url: 'https://auth.example/me' }))
    .then(() => null, (error: OAuthError) => error);
  t.equal(noToken?.error, 'parameter_absent');
  t.equal(noToken?.status, 400);
});

t.test('options are checked when the provider is made', async (t) => {
  const storage = new MemoryStorage();
  const issuer = 'https://auth.example';
  t.throws(() => createOAuth1Provider({ storage, issuer, secretKey: Buffer.alloc(16) }), TypeError);
  t.throws(() => createOAuth1Provider({ storage, issuer, secretKey: SECRET_KEY, timestampWindow: 0 }), /timestampWindow/);
  t.throws(() => createOAuth1Provider({ storage, issuer, secretKey: SECRET_KEY, accessTokenTtl: -1 }), /accessTokenTtl/);
  t.throws(() => createOAuth1Provider({ issuer, secretKey: SECRET_KEY } as unknown as OAuth1ProviderOptions), /storage/);
  for (const bad of [undefined, '', '/relative', 'ftp://auth.example', 'not a url']) {
    t.throws(() => createOAuth1Provider({ storage, issuer: bad as string, secretKey: SECRET_KEY }), { name: 'TypeError', message: /issuer/ }, `issuer ${String(bad)}`);
  }
  t.equal(createOAuth1Provider({ storage, issuer, secretKey: SECRET_KEY }).realm, 'portcullis');
});

t.test('concurrent replays and exchanges: exactly one wins', async (t) => {
  const h = await setup();
  const access = await getAccessToken(h);
  const resource = h.signed({ method: 'GET', url: 'https://auth.example/me', token: access.token, tokenSecret: access.secret });
  const outcomes = await Promise.all(
    Array.from({ length: 50 }, () => h.provider.verifySignedRequest(resource).then(() => 'ok', (error: OAuthError) => error.error)),
  );
  t.equal(outcomes.filter((o) => o === 'ok').length, 1);
  t.equal(outcomes.filter((o) => o === 'nonce_used').length, 49);

  const temporary = await getRequestToken(h);
  const verifier = await authorize(h, temporary.token);
  const exchanges = await Promise.all(
    Array.from({ length: 10 }, () =>
      h.provider.handleAccessTokenRequest(
        h.signed({ url: 'https://auth.example/oauth1/access_token', token: temporary.token, tokenSecret: temporary.secret, extra: { oauth_verifier: verifier } }),
      ),
    ),
  );
  t.same(exchanges.map((r) => r.status).sort(), [200, 401, 401, 401, 401, 401, 401, 401, 401, 401]);
  t.same(
    exchanges.filter((r) => r.status === 401).map((r) => (r.body as { error: string }).error),
    Array(9).fill('token_used'),
  );
  t.equal(h.storage.snapshot().oauth1AccessTokens.length, 2, 'one from getAccessToken, one from the race');
});

/** Counts SecretBox.decrypt calls by sealed text, for the length of one test. */
function spyOnDecrypt(t: Test): Map<string, number> {
  const calls = new Map<string, number>();
  const original = SecretBox.prototype.decrypt;
  SecretBox.prototype.decrypt = function (this: SecretBox, sealed: string): string {
    calls.set(sealed, (calls.get(sealed) ?? 0) + 1);
    return original.call(this, sealed);
  };
  t.teardown(() => {
    SecretBox.prototype.decrypt = original;
  });
  return calls;
}

t.test('signed requests open each sealed secret once, then reuse it', async (t) => {
  const h = await setup();
  const calls = spyOnDecrypt(t);
  const access = await getAccessToken(h);
  const client = (await h.storage.findClient('consumer-1'))!;
  const token = (await h.storage.findOAuth1AccessToken(access.token))!;
  const [requestToken] = h.storage.snapshot().requestTokens;

  for (let i = 0; i < 5; i++) {
    const grant = await h.provider.verifySignedRequest(
      h.signed({ method: 'GET', url: 'https://auth.example/me', token: access.token, tokenSecret: access.secret }),
    );
    t.equal(grant.userId, 'alice');
  }
  t.equal(calls.get(token.secretEncrypted), 1, 'the token secret is opened once for five requests');
  t.equal(calls.get(client.oauth1SecretEncrypted!), 1, 'the consumer secret once for the whole dance and the requests');
  t.equal(calls.get(requestToken!.secretEncrypted), 1, 'the request token secret for its one exchange');
  t.equal(calls.size, 3, 'nothing else is opened');

  const forged = await h.provider
    .verifySignedRequest(h.signed({ method: 'GET', url: 'https://auth.example/me', token: access.token, tokenSecret: 'guess' }))
    .then(() => null, (error: OAuthError) => error);
  t.equal(forged?.error, 'signature_invalid', 'a cached secret still checks every signature');
  t.equal(forged?.status, 401);
});

t.test('a tampered sealed secret fails every time and is never kept', async (t) => {
  const h = await setup();
  const access = await getAccessToken(h);
  const sealed = (await h.storage.findClient('consumer-1'))!.oauth1SecretEncrypted!;
  // One character inside the ciphertext changed (the last one may carry only padding bits): the
  // GCM tag no longer matches.
  const at = sealed.length - 10;
  const tampered = `${sealed.slice(0, at)}${sealed[at] === 'A' ? 'B' : 'A'}${sealed.slice(at + 1)}`;
  await h.storage.updateClient('consumer-1', { oauth1SecretEncrypted: tampered });
  const calls = spyOnDecrypt(t);

  for (let i = 0; i < 3; i++) {
    const error = await h.provider
      .verifySignedRequest(h.signed({ method: 'GET', url: 'https://auth.example/me', token: access.token, tokenSecret: access.secret }))
      .then(() => null, (e: OAuthError) => e);
    t.equal(error?.error, 'server_error', `attempt ${i + 1} fails`);
    t.equal(error?.status, 500);
    t.type(error?.cause, Error, 'the decryption failure is the cause');
  }
  t.equal(calls.get(tampered), 3, 'decrypt ran (and threw) on every attempt');
});

t.test('behind the client cache, every leg works on the kept consumer and leaves it as it was', async (t) => {
  const h = await setup({}, { clientCache: true });
  const registered = (await h.storage.findClient('consumer-1'))!;
  const signedGet = (access: { token: string; secret: string }, tokenSecret = access.secret) =>
    h.signed({ method: 'GET', url: 'https://auth.example/me', token: access.token, tokenSecret });

  for (const round of ['a lookup', 'the kept record']) {
    // Request token, authorization and access token: all three legs authenticate the consumer.
    const access = await getAccessToken(h, ['read']);
    const grant = await h.provider.verifySignedRequest(signedGet(access), ['read']);
    t.match(grant, { clientId: 'consumer-1', userId: 'alice', scope: ['read'] }, `a signed request, ${round}`);
    const forged = await h.provider.verifySignedRequest(signedGet(access, 'guess')).then(() => null, (error: OAuthError) => error);
    t.equal(forged?.error, 'signature_invalid', `a wrong token secret, ${round}`);
    const beyond = await h.provider.verifySignedRequest(signedGet(access), ['write']).then(() => null, (error: OAuthError) => error);
    t.equal(beyond?.status, 403, `a scope beyond the grant, ${round}`);
  }
  // The first exchange records the consumer's use (lastUsedAt), which the cache sees at once: one
  // more lookup; the second, within the hour, writes nothing.
  t.equal(h.counted.count('findClient'), 2, 'the consumer was looked up again only after its use was recorded');
  const kept = await h.providerStorage.findClient('consumer-1');
  t.ok(kept?.lastUsedAt instanceof Date, 'the token credentials exchange records the use');
  t.same({ ...kept, lastUsedAt: null }, { ...registered, lastUsedAt: null }, 'nothing else of the kept record changed');
});

t.test('an oauth_callback a Location header cannot carry is refused, and a stored one is never redirected to', async (t) => {
  const h = await setup();
  const unsafe = [
    'https://client.example/cb\r\nSet-Cookie:x=1',
    'https://client.example/c\rb',
    'https://client.example/c\nb',
    'https://client.example/c\tb',
    'https://client.example/cb\u0000',
    'https://client.example/cb\u3002',
    'https://client\u3002example/cb',
    'https://client.example/cb\u2028',
    'https://client.example/c"b',
    'https://client.example/c\\b',
    'https://client.example/c b',
    'https://client.example/cb?x=%zz',
  ];
  for (const callback of unsafe) {
    const request = h.signed({ url: 'https://auth.example/oauth1/request_token', extra: { oauth_callback: callback } });
    const response = await refusedWithoutChange(t, h, () => h.provider.handleRequestTokenRequest(request), 400, 'parameter_rejected');
    t.match((response.body as { error_description: string }).error_description, /oauth_callback/, encodeURI(callback));
  }

  // Records written straight into the store, past the check: the consent step and the decision answer an error and
  // leave the request token as it was.
  const { token } = await getRequestToken(h);
  const stored = await h.storage.findRequestToken(token);
  if (stored === null) return t.fail('the request token was stored');
  for (const [index, callback] of ['https://client.example/cb\r\nSet-Cookie:x=1', 'https://client.example/cb\u3002'].entries()) {
    const legacy = { ...stored, id: `${stored.id}-${index}`, token: `${token}-${index}`, callback };
    await h.storage.saveRequestToken(legacy);
    const before = h.storage.snapshot();
    const validated = await h.provider.validateAuthorizationRequest({
      method: 'GET',
      url: new URL(`https://auth.example/oauth1/authorize?oauth_token=${legacy.token}`),
      headers: {},
      secure: true,
    });
    t.equal(validated.kind, 'error', 'the consent step refuses it');
    for (const approved of [true, false]) {
      const result = await h.provider.completeAuthorization(legacy.token, { userId: 'alice', approved });
      t.equal(result.kind, 'error', `${approved ? 'approval' : 'denial'}: an error, no Location`);
      if (result.kind === 'error') {
        t.equal(result.status, 400);
        t.equal(result.error.error, 'parameter_rejected');
      }
    }
    t.same(h.storage.snapshot(), before, 'the request token is neither authorized nor spent');
  }
});

t.test('the token credentials exchange records the consumer\'s use, at most once an hour', async (t) => {
  const h = await setup();
  const lastUsed = async () => (await h.storage.findClient('consumer-1'))?.lastUsedAt ?? null;
  t.equal(await lastUsed(), null);
  await getRequestToken(h);
  t.equal(await lastUsed(), null, 'temporary credentials are not a use');
  await getAccessToken(h);
  t.same(await lastUsed(), new Date(START * 1000), 'recorded at the exchange');
  h.clock.now += 1800;
  await getAccessToken(h);
  t.same(await lastUsed(), new Date(START * 1000), 'not written again within the hour');
  h.clock.now += 1800;
  await getAccessToken(h);
  t.same(await lastUsed(), new Date((START + 3600) * 1000), 'moved after an hour');
});
