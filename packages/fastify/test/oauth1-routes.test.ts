import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify from 'fastify';
import t from 'tap';
import type { Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import fastifyPortcullis, { type ConsentContext, type PortcullisOptions } from '../src/index.js';
import { CookieJar, createTestStorage, FORM, form, ISSUER, SESSION_SECRET } from './helpers.js';
import {
  authorize,
  buildOAuth1App,
  CALLBACK,
  exchange,
  login,
  parseForm,
  requestToken,
  SECRET_KEY,
  signedHeader,
  type OAuth1TestApp,
} from './oauth1-helpers.js';

const REALM = `OAuth realm="${ISSUER}"`;

async function setup(t: Test, options: Parameters<typeof buildOAuth1App>[0] = {}): Promise<OAuth1TestApp> {
  const built = await buildOAuth1App(options);
  t.teardown(built.close);
  return built;
}

function leg1Header(built: OAuth1TestApp, extra: Record<string, string> = { oauth_callback: CALLBACK }, more = {}): string {
  return signedHeader({
    method: 'POST',
    url: '/oauth1/request_token',
    consumerKey: built.client.id,
    consumerSecret: built.consumerSecret,
    extra,
    ...more,
  });
}

t.test('registration: off by default, needs secretKey, checks its settings', async (t) => {
  const { storage, close } = await createTestStorage();
  t.teardown(close);
  const base: PortcullisOptions = { storage, issuer: ISSUER, getUser: () => null, loginUrl: '/login', development: true };
  const start = async (options: Record<string, unknown>) => {
    const app = Fastify();
    await app.register(fastifyCookie);
    await app.register(fastifySession, { secret: SESSION_SECRET, cookie: { secure: false } });
    try {
      await app.register(fastifyPortcullis, { ...base, ...options } as PortcullisOptions);
      await app.ready();
      return app;
    } catch (error) {
      await app.close();
      throw error;
    }
  };
  await t.rejects(start({ oauth1: true }), { code: 'FST_PORTCULLIS_OAUTH1_SECRET_KEY', message: /secretKey/ });
  await t.rejects(start({ oauth1: { realm: 'x' } }), { code: 'FST_PORTCULLIS_OAUTH1_SECRET_KEY' });
  await t.rejects(start({ oauth1: 'yes', secretKey: SECRET_KEY }), { code: 'FST_PORTCULLIS_INVALID_OPTION' });
  await t.rejects(start({ oauth1: { timestampWindow: -5 }, secretKey: SECRET_KEY }), {
    code: 'FST_PORTCULLIS_INVALID_OPTION',
    message: /timestampWindow/,
  });
  await t.rejects(start({ oauth1: true, secretKey: SECRET_KEY, oauth1RoutePrefix: 'oauth1' }), {
    code: 'FST_PORTCULLIS_INVALID_OPTION',
  });
  await t.rejects(start({ oauth1: true, secretKey: SECRET_KEY, oauth1RoutePrefix: '/oauth' }), {
    code: 'FST_PORTCULLIS_INVALID_OPTION',
    message: /differ/,
  });

  const off = await start({ secretKey: SECRET_KEY });
  t.equal(off.oauth.oauth1, null);
  t.equal(off.oauth.paths.oauth1, null);
  const missing = await off.inject({ method: 'POST', url: '/oauth1/request_token' });
  t.equal(missing.statusCode, 404, 'no OAuth 1.0a routes unless asked for');
  await off.close();

  const on = await start({ oauth1: true, secretKey: SECRET_KEY });
  t.equal(typeof on.oauth.oauth1?.revokeAccessTokens, 'function');
  t.equal(on.oauth.oauth1?.realm, ISSUER, 'the realm defaults to the issuer, as the bearer challenges');
  t.same(on.oauth.paths.oauth1, {
    requestToken: '/oauth1/request_token',
    authorization: '/oauth1/authorize',
    accessToken: '/oauth1/access_token',
  });
  await on.close();
});

t.test('routes follow oauth1RoutePrefix under a register prefix', async (t) => {
  const built = await setup(t, { prefix: '/auth', plugin: { oauth1RoutePrefix: '/o1', oauth1: { realm: 'Photos' } } });
  t.same(built.app.oauth.paths.oauth1, {
    requestToken: '/auth/o1/request_token',
    authorization: '/auth/o1/authorize',
    accessToken: '/auth/o1/access_token',
  });
  const path = '/auth/o1/request_token';
  const response = await built.app.inject({
    method: 'POST',
    url: path,
    headers: {
      authorization: signedHeader({
        method: 'POST',
        url: path,
        consumerKey: built.client.id,
        consumerSecret: built.consumerSecret,
        extra: { oauth_callback: 'oob' },
      }),
    },
  });
  t.equal(response.statusCode, 200);
  const token = parseForm(response.body).oauth_token!;
  const anonymous = await built.app.inject({ method: 'GET', url: `/auth/o1/authorize?oauth_token=${token}` });
  t.equal(anonymous.statusCode, 302);
  t.equal(anonymous.headers.location, `/login?next=${encodeURIComponent(`/auth/o1/authorize?oauth_token=${token}`)}`);
  const unsigned = await built.app.inject({ method: 'POST', url: '/auth/o1/access_token', headers: { authorization: 'OAuth oauth_consumer_key="x"' } });
  t.equal(unsigned.statusCode, 400);
  t.match(unsigned.json(), { error: 'parameter_absent' });
  const wrongPath = await built.app.inject({ method: 'POST', url: '/oauth1/request_token' });
  t.equal(wrongPath.statusCode, 404);
  const forged = await built.app.inject({
    method: 'POST',
    url: path,
    headers: { authorization: leg1Header(built, { oauth_callback: 'oob' }) },
  });
  t.equal(forged.statusCode, 401, 'signed for another path');
  t.equal(forged.headers['www-authenticate'], 'OAuth realm="Photos"', 'the realm option is used');
});

t.test('POST /oauth1/request_token issues temporary credentials', async (t) => {
  const built = await setup(t);
  const before = await built.snapshot();
  const response = await built.app.inject({
    method: 'POST',
    url: '/oauth1/request_token',
    headers: { ...FORM, authorization: leg1Header(built, { oauth_callback: CALLBACK }, { body: { scope: 'read' } }) },
    payload: form({ scope: 'read' }),
  });
  t.equal(response.statusCode, 200);
  t.equal(response.headers['content-type'], 'application/x-www-form-urlencoded');
  t.equal(response.headers['cache-control'], 'no-store');
  const answer = parseForm(response.body);
  t.same(Object.keys(answer), ['oauth_token', 'oauth_token_secret', 'oauth_callback_confirmed']);
  t.equal(answer.oauth_callback_confirmed, 'true');
  const after = await built.snapshot();
  const rows = after.portcullis_oauth1_request_tokens as Record<string, unknown>[];
  t.equal(rows.length, before.portcullis_oauth1_request_tokens!.length + 1);
  t.match(rows[0], { client_id: built.client.id, callback: CALLBACK, scope: '["read"]', user_id: null, consumed_at: null });
  t.notOk(JSON.stringify(after).includes(answer.oauth_token_secret!), 'no secret in clear anywhere in the store');
  t.equal(after.portcullis_oauth1_nonces!.length, 1, 'the nonce is recorded');
});

t.test('POST /oauth1/request_token refusals change nothing', async (t) => {
  const built = await setup(t);
  const send = (headers: Record<string, string>, payload?: string, method: 'POST' | 'GET' = 'POST') =>
    built.app.inject({ method, url: '/oauth1/request_token', headers, ...(payload === undefined ? {} : { payload }) });
  const stale = Math.floor(Date.now() / 1000) - 3600;
  const cases: [string, () => Promise<LightMyRequestResponse>, number, string][] = [
    ['no oauth_callback', () => send({ authorization: leg1Header(built, {}) }), 400, 'parameter_absent'],
    ['a callback that is not a URI', () => send({ authorization: leg1Header(built, { oauth_callback: 'javascript:alert(1)' }) }), 400, 'parameter_rejected'],
    [
      'a callback the consumer did not register',
      () => send({ authorization: leg1Header(built, { oauth_callback: 'https://printer.example.evil/cb' }) }),
      400,
      'parameter_rejected',
    ],
    ['no credentials at all', () => send({}), 400, 'parameter_absent'],
    [
      'an unknown consumer',
      () => send({ authorization: signedHeader({ method: 'POST', url: '/oauth1/request_token', consumerKey: 'nobody', consumerSecret: 'x', extra: { oauth_callback: 'oob' } }) }),
      401,
      'consumer_key_unknown',
    ],
    [
      'a wrong consumer secret',
      () => send({ authorization: leg1Header(built, { oauth_callback: 'oob' }, { consumerSecret: 'guess' }) }),
      401,
      'signature_invalid',
    ],
    [
      'a tampered body',
      () => send({ ...FORM, authorization: leg1Header(built, { oauth_callback: 'oob' }, { body: { scope: 'read' } }) }, form({ scope: 'write' })),
      401,
      'signature_invalid',
    ],
    ['a stale timestamp', () => send({ authorization: leg1Header(built, { oauth_callback: 'oob' }, { timestamp: stale }) }), 401, 'timestamp_refused'],
    [
      'an unknown signature method',
      () => send({ authorization: leg1Header(built, { oauth_callback: 'oob' }).replace('HMAC-SHA1', 'HMAC-MD5') }),
      400,
      'signature_method_rejected',
    ],
    [
      'PLAINTEXT without TLS',
      () => send({ authorization: leg1Header(built, { oauth_callback: 'oob' }, { signatureMethod: 'PLAINTEXT' }) }),
      400,
      'signature_method_rejected',
    ],
    ['oauth_version 2.0', () => send({ authorization: leg1Header(built, { oauth_callback: 'oob', oauth_version: '2.0' }) }), 400, 'version_rejected'],
    [
      'parameters in the header and the body',
      () => send({ ...FORM, authorization: leg1Header(built, { oauth_callback: 'oob' }) }, form({ oauth_nonce: 'x' })),
      400,
      'parameter_rejected',
    ],
    ['a JSON body', () => send({ 'content-type': 'application/json', authorization: leg1Header(built) }, '{}'), 400, 'invalid_request'],
    ['GET', () => send({ authorization: leg1Header(built) }, undefined, 'GET'), 405, 'invalid_request'],
  ];
  const before = await built.snapshot();
  for (const [name, run, status, error] of cases) {
    const response = await run();
    t.equal(response.statusCode, status, name);
    t.match(response.headers['content-type'], /^application\/json/, name);
    t.equal(response.json().error, error, name);
    t.type(response.json().error_description, 'string', name);
    t.equal(response.headers['www-authenticate'], status === 401 ? REALM : undefined, name);
    if (status === 405) t.equal(response.headers.allow, 'POST');
  }
  t.same(await built.snapshot(), before, 'no refused request wrote anything');

  // A replay: the first is served, the same request again is refused and writes nothing.
  const header = leg1Header(built, { oauth_callback: 'oob' });
  t.equal((await send({ authorization: header })).statusCode, 200);
  const afterFirst = await built.snapshot();
  const replay = await send({ authorization: header });
  t.equal(replay.statusCode, 401);
  t.equal(replay.headers['www-authenticate'], REALM);
  t.equal(replay.json().error, 'nonce_used');
  t.same(await built.snapshot(), afterFirst, 'the replay issued nothing');
});

t.test('/oauth1/authorize answers other methods with a 405 page, not a framework body', async (t) => {
  const built = await setup(t);
  for (const method of ['PUT', 'DELETE'] as const) {
    const response = await built.app.inject({ method, url: '/oauth1/authorize' });
    t.equal(response.statusCode, 405, method);
    t.equal(response.headers.allow, 'GET, POST', method);
    t.match(response.headers['content-type'], /^text\/html/, method);
    t.match(response.body, /invalid_request/, method);
  }
});

t.test('GET /oauth1/authorize: login, consent, approval to the callback', async (t) => {
  const built = await setup(t);
  const temporary = await requestToken(built, { scope: 'read polls:vote' });
  const url = `/oauth1/authorize?oauth_token=${encodeURIComponent(temporary.token)}`;
  const jar = new CookieJar();
  const anonymous = await built.app.inject({ method: 'GET', url });
  jar.store(anonymous);
  t.equal(anonymous.statusCode, 302);
  t.equal(anonymous.headers.location, `/login?next=${encodeURIComponent(url)}`);
  t.equal(anonymous.headers['cache-control'], 'no-store');

  await login(built.app, jar);
  const page = await built.app.inject({ method: 'GET', url, headers: { cookie: jar.header() } });
  jar.store(page);
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.equal(page.headers['x-frame-options'], 'DENY');
  t.match(page.headers['content-security-policy'], /form-action 'self' https:\/\/printer\.example$/);
  t.match(page.body, /Photo &lt;Printer&gt;/);
  t.match(page.body, /<form method="post" action="\/oauth1\/authorize">/);
  t.match(page.body, /value="polls:vote" checked/);
  t.notMatch(page.body, /value="write"/, 'only the requested scopes are offered');
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(page.body)![1]!;

  const badCsrf = await built.app.inject({
    method: 'POST',
    url: '/oauth1/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'approve', csrf_token: 'forged' }),
  });
  t.equal(badCsrf.statusCode, 403);
  t.match(badCsrf.body, /invalid_request/);
  const badDecision = await built.app.inject({
    method: 'POST',
    url: '/oauth1/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'maybe', csrf_token: csrf }),
  });
  t.equal(badDecision.statusCode, 400);

  const approved = await built.app.inject({
    method: 'POST',
    url: '/oauth1/authorize',
    headers: { ...FORM, cookie: jar.header() },
    // Alice keeps polls:vote only.
    payload: form({ decision: 'approve', csrf_token: csrf, narrow_scope: '1', granted_scope: 'polls:vote' }),
  });
  t.equal(approved.statusCode, 303);
  t.equal(approved.headers['cache-control'], 'no-store');
  t.equal(approved.headers['referrer-policy'], 'no-referrer');
  const location = new URL(approved.headers.location as string);
  t.equal(location.origin + location.pathname, 'https://printer.example/ready');
  t.equal(location.searchParams.get('from'), 'portcullis');
  t.equal(location.searchParams.get('oauth_token'), temporary.token);
  const verifier = location.searchParams.get('oauth_verifier')!;
  t.ok(verifier);
  const row = await built.db.selectFrom('portcullis_oauth1_request_tokens').selectAll().executeTakeFirstOrThrow();
  t.match(row, { user_id: 'alice', scope: '["polls:vote"]', consumed_at: null });
  t.not(row.verifier_digest, null);
  t.not(row.verifier_digest, verifier, 'only a digest of the verifier is stored');

  // The same form again: nothing is waiting any more.
  const before = await built.snapshot();
  const again = await built.app.inject({
    method: 'POST',
    url: '/oauth1/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'approve', csrf_token: csrf }),
  });
  t.equal(again.statusCode, 400);
  t.match(again.body, /No authorization request is waiting/);
  // The authorized token cannot be shown for consent twice.
  const reopened = await built.app.inject({ method: 'GET', url, headers: { cookie: jar.header() } });
  t.equal(reopened.statusCode, 401);
  t.match(reopened.body, /token_used/);
  t.same(await built.snapshot(), before);

  // Leg 3 gives token credentials limited to what alice kept.
  const access = await exchange(built, temporary, verifier);
  t.equal(access.statusCode, 200);
  const credentials = parseForm(access.body);
  t.same(Object.keys(credentials), ['oauth_token', 'oauth_token_secret']);
  const issued = await built.db.selectFrom('portcullis_oauth1_access_tokens').selectAll().executeTakeFirstOrThrow();
  t.match(issued, { user_id: 'alice', client_id: built.client.id, scope: '["polls:vote"]', revoked_at: null });
});

t.test('GET /oauth1/authorize refuses bad tokens with an error page', async (t) => {
  const built = await setup(t);
  const jar = new CookieJar();
  await login(built.app, jar);
  const before = await built.snapshot();
  const missing = await built.app.inject({ method: 'GET', url: '/oauth1/authorize', headers: { cookie: jar.header() } });
  t.equal(missing.statusCode, 400);
  t.match(missing.headers['content-type'], /^text\/html/);
  t.equal(missing.headers['x-frame-options'], 'DENY');
  t.match(missing.body, /parameter_absent/);
  const unknown = await built.app.inject({ method: 'GET', url: '/oauth1/authorize?oauth_token=nope', headers: { cookie: jar.header() } });
  t.equal(unknown.statusCode, 401);
  t.equal(unknown.headers.location, undefined, 'never redirected');
  t.match(unknown.body, /token_rejected/);
  const twice = await built.app.inject({ method: 'GET', url: '/oauth1/authorize?oauth_token=a&oauth_token=b', headers: { cookie: jar.header() } });
  t.equal(twice.statusCode, 400);
  t.match(twice.body, /parameter_rejected/);
  t.same(await built.snapshot(), before);
});

t.test('deny: the callback hears permission_denied, and the request token is spent', async (t) => {
  const built = await setup(t);
  const temporary = await requestToken(built);
  const denied = await authorize(built, temporary.token, 'deny');
  t.equal(denied.statusCode, 303);
  const location = new URL(denied.headers.location as string);
  t.equal(location.searchParams.get('oauth_problem'), 'permission_denied');
  t.equal(location.searchParams.get('oauth_token'), temporary.token);
  t.equal(location.searchParams.get('oauth_verifier'), null);
  const row = await built.db.selectFrom('portcullis_oauth1_request_tokens').selectAll().executeTakeFirstOrThrow();
  t.equal(row.user_id, null);
  t.not(row.consumed_at, null);

  const before = await built.snapshot();
  const exchanged = await exchange(built, temporary, 'anything');
  t.equal(exchanged.statusCode, 401);
  t.equal(exchanged.json().error, 'permission_denied', 'a refused token gives no credentials');
  t.same(await built.snapshot(), before);
});

t.test('oob: the verifier is shown; a refusal is a page', async (t) => {
  const built = await setup(t);
  const shown = await authorize(built, (await requestToken(built, { callback: 'oob' })).token);
  t.equal(shown.statusCode, 200);
  t.equal(shown.headers['cache-control'], 'no-store');
  t.equal(shown.headers['x-frame-options'], 'DENY');
  t.match(shown.body, /<code id="oauth_verifier">[^<]+<\/code>/);
  t.match(shown.body, /Photo &lt;Printer&gt;/);
  const refused = await authorize(built, (await requestToken(built, { callback: 'oob' })).token, 'deny');
  t.equal(refused.statusCode, 200);
  t.equal(refused.headers.location, undefined);
  t.match(refused.body, /Authorization refused/);
});

t.test('POST /oauth1/authorize with the token in a form, resumed after login; renderConsent sees protocol oauth1', async (t) => {
  const contexts: ConsentContext[] = [];
  const built = await setup(t, {
    plugin: {
      renderConsent: (_request, reply, context) => {
        contexts.push(context);
        return reply.send(`<p>${context.protocol} ${context.csrfToken}</p>`);
      },
    },
  });
  const temporary = await requestToken(built);
  const jar = new CookieJar();
  const anonymous = await built.app.inject({
    method: 'POST',
    url: '/oauth1/authorize',
    headers: FORM,
    payload: form({ oauth_token: temporary.token }),
  });
  jar.store(anonymous);
  t.equal(anonymous.statusCode, 303);
  t.equal(anonymous.headers.location, `/login?next=${encodeURIComponent('/oauth1/authorize')}`, 'the token is not put in a URL');
  await login(built.app, jar);
  const resumed = await built.app.inject({ method: 'GET', url: '/oauth1/authorize', headers: { cookie: jar.header() } });
  jar.store(resumed);
  t.equal(resumed.statusCode, 200);
  t.match(resumed.body, /^<p>oauth1 \S+<\/p>$/);
  const context = contexts[0]!;
  t.equal(context.protocol, 'oauth1');
  if (context.protocol !== 'oauth1') return;
  t.match(context, {
    action: '/oauth1/authorize',
    user: { id: 'alice' },
    scopes: [
      { name: 'read', description: 'Read your data' },
      { name: 'write', description: 'Read and change your data' },
      { name: 'polls:vote', description: 'Vote in polls <for you>' },
    ],
    returnHost: 'printer.example',
    oauth1Request: { token: temporary.token, clientId: built.client.id, clientName: 'Photo <Printer>', callback: CALLBACK },
  });
  const decided = await built.app.inject({
    method: 'POST',
    url: '/oauth1/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'approve', csrf_token: context.csrfToken }),
  });
  t.equal(decided.statusCode, 303);
  t.ok(new URL(decided.headers.location as string).searchParams.get('oauth_verifier'));
});

t.test('the user who answers must be the one who was asked', async (t) => {
  const built = await setup(t);
  const temporary = await requestToken(built);
  const jar = new CookieJar();
  await login(built.app, jar);
  const page = await built.app.inject({ method: 'GET', url: `/oauth1/authorize?oauth_token=${temporary.token}`, headers: { cookie: jar.header() } });
  jar.store(page);
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(page.body)![1]!;
  await login(built.app, jar, 'mallory');
  const before = await built.snapshot();
  const answer = await built.app.inject({
    method: 'POST',
    url: '/oauth1/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'approve', csrf_token: csrf }),
  });
  t.equal(answer.statusCode, 403);
  t.match(answer.body, /not the one who was asked/);
  t.same(await built.snapshot(), before);
});

t.test('POST /oauth1/access_token refusals', async (t) => {
  const built = await setup(t);
  const temporary = await requestToken(built);
  const pendingBefore = await built.snapshot();
  const early = await exchange(built, temporary, 'whatever');
  t.equal(early.statusCode, 401);
  t.equal(early.headers['www-authenticate'], REALM);
  t.equal(early.json().error, 'token_rejected', 'not authorized yet');
  t.same(await built.snapshot(), pendingBefore, 'nothing written');

  const approved = await authorize(built, temporary.token);
  const verifier = new URL(approved.headers.location as string).searchParams.get('oauth_verifier')!;
  const ready = await built.snapshot();
  const stale = await exchange(built, temporary, verifier, { timestamp: Math.floor(Date.now() / 1000) - 301 });
  t.equal(stale.statusCode, 401);
  t.equal(stale.json().error, 'timestamp_refused');
  const wrongSecret = await exchange(built, temporary, verifier, { tokenSecret: 'not-it' });
  t.equal(wrongSecret.statusCode, 401);
  t.equal(wrongSecret.json().error, 'signature_invalid');
  const noVerifier = await exchange(built, temporary, '');
  t.equal(noVerifier.statusCode, 400);
  t.equal(noVerifier.json().error, 'parameter_absent');
  const otherToken = await exchange(built, { token: 'rt_unknown', secret: 'x' }, verifier);
  t.equal(otherToken.statusCode, 401);
  t.equal(otherToken.json().error, 'token_rejected');
  t.same(await built.snapshot(), ready, 'none of these changed anything');

  const nonce = 'fixed-nonce-for-the-replay';
  const first = await exchange(built, temporary, verifier, { nonce });
  t.equal(first.statusCode, 200);
  const issued = await built.snapshot();
  t.equal(issued.portcullis_oauth1_access_tokens!.length, 1);
  // The very same request again: the spent token is met before the nonce.
  const replay = await exchange(built, temporary, verifier, { nonce });
  t.equal(replay.statusCode, 401);
  t.equal(replay.json().error, 'token_used');
  const reused = await exchange(built, temporary, verifier);
  t.equal(reused.statusCode, 401);
  t.equal(reused.json().error, 'token_used');
  const after = await built.snapshot();
  t.same(after.portcullis_oauth1_access_tokens, issued.portcullis_oauth1_access_tokens, 'one exchange, one token');
  t.same(after.portcullis_oauth1_request_tokens, issued.portcullis_oauth1_request_tokens);
});

t.test('a wrong verifier is refused, issues nothing, and spends the request token', async (t) => {
  const built = await setup(t);
  const temporary = await requestToken(built);
  const approved = await authorize(built, temporary.token);
  const verifier = new URL(approved.headers.location as string).searchParams.get('oauth_verifier')!;
  const wrong = await exchange(built, temporary, `${verifier}x`);
  t.equal(wrong.statusCode, 401);
  t.equal(wrong.headers['www-authenticate'], REALM);
  t.equal(wrong.json().error, 'verifier_invalid');
  const rows = await built.snapshot();
  t.equal(rows.portcullis_oauth1_access_tokens!.length, 0, 'no token credentials');
  // The core spends the token on a wrong verifier, so nobody gets to guess verifiers.
  const right = await exchange(built, temporary, verifier);
  t.equal(right.statusCode, 401);
  t.equal(right.json().error, 'token_used');
  t.equal((await built.snapshot()).portcullis_oauth1_access_tokens!.length, 0);
});

t.test('POST /oauth1/authorize: a malformed body is an HTML invalid_request page and changes nothing', async (t) => {
  const built = await setup(t);
  const temporary = await requestToken(built, { scope: 'read polls:vote' });
  const jar = new CookieJar();
  await login(built.app, jar);
  const page = await built.app.inject({
    method: 'GET',
    url: `/oauth1/authorize?oauth_token=${encodeURIComponent(temporary.token)}`,
    headers: { cookie: jar.header() },
  });
  jar.store(page);
  t.equal(page.statusCode, 200);
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(page.body)![1]!;
  const before = await built.snapshot();
  const post = (payload: string, headers: Record<string, string> = FORM) =>
    built.app.inject({ method: 'POST', url: '/oauth1/authorize', headers: { ...headers, cookie: jar.header() }, payload });
  const bad = {
    'a repeated CSRF token': `decision=approve&csrf_token=${csrf}&csrf_token=${csrf}`,
    'a repeated decision': `decision=approve&decision=deny&csrf_token=${csrf}`,
    'an unknown decision': `decision=maybe&csrf_token=${csrf}`,
    'a repeated narrow_scope': `decision=approve&csrf_token=${csrf}&narrow_scope=1&narrow_scope=1&granted_scope=read`,
  };
  for (const [name, payload] of Object.entries(bad)) {
    const response = await post(payload);
    t.equal(response.statusCode, 400, name);
    t.match(response.headers['content-type'], /^text\/html/, name);
    t.equal(response.headers['x-frame-options'], 'DENY', name);
    t.match(response.body, /invalid_request/, name);
    t.match(response.body, /The request is malformed/, name);
  }
  const json = await post(JSON.stringify({ decision: 'approve', csrf_token: csrf }), { 'content-type': 'application/json' });
  t.equal(json.statusCode, 400);
  t.match(json.headers['content-type'], /^text\/html/);
  t.match(json.body, /invalid_request/);
  t.same(await built.snapshot(), before, 'nothing was stored');
  // The request still waits in the session: a well-formed answer completes it.
  const approved = await post(form({ decision: 'approve', csrf_token: csrf }));
  t.equal(approved.statusCode, 303);
  t.match(approved.headers.location, /oauth_verifier=/);
});
