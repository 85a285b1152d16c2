import { createHmac } from 'node:crypto';
import { OAuth } from 'oauth';
import OAuth1a from 'oauth-1.0a';
import t from 'tap';
import type { Test } from 'tap';
import { findFreePort } from './helpers.js';
import { buildOAuth1App, type OAuth1TestApp } from './oauth1-helpers.js';

// The three legs and a signed resource request driven by two independent client libraries from
// npm, `oauth` (node-oauth) and `oauth-1.0a`, over real HTTP on loopback: their base strings,
// encodings and header formats are theirs, not ours. They sign for the issuer's URL, ephemeral
// port included, which the signature covers (RFC 5849 section 3.4.1.2).

const REALM = 'https://auth.example.test';

interface Listening {
  built: OAuth1TestApp;
  origin: string;
}

/**
 * The app on loopback, its issuer the URL the libraries sign for: the server checks signatures
 * against its issuer's origin, ephemeral port included (RFC 5849 section 3.4.1.2).
 */
async function listen(t: Test): Promise<Listening> {
  const port = await findFreePort();
  const origin = `http://127.0.0.1:${port}`;
  // The realm stays the one the assertions name, whatever the port.
  const built = await buildOAuth1App({ plugin: { issuer: origin, oauth1: { realm: REALM } } });
  t.teardown(built.close);
  await built.app.listen({ port, host: '127.0.0.1' });
  return { built, origin };
}

/** A browser's cookie handling, enough for one session cookie. */
class Browser {
  #cookies = new Map<string, string>();
  constructor(readonly origin: string) {}

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#cookies.size > 0) headers.set('cookie', [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(new URL(path, this.origin), { ...init, headers, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const at = pair!.indexOf('=');
      this.#cookies.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
    return response;
  }
}

/**
 * The user's part of leg 2 over HTTP: log in, open the authorization page the client sent them
 * to, press a button. Returns the answer to the button.
 */
async function approveAsUser(
  t: Test,
  origin: string,
  authorizeUrl: string,
  decision: 'approve' | 'deny' = 'approve',
): Promise<Response> {
  const browser = new Browser(origin);
  const anonymous = await browser.fetch(authorizeUrl);
  t.equal(anonymous.status, 302, 'an anonymous user is sent to log in');
  const login = new URL(anonymous.headers.get('location')!, origin);
  t.equal(login.pathname, '/login');
  const back = login.searchParams.get('next')!;
  t.equal(back, new URL(authorizeUrl, origin).pathname + new URL(authorizeUrl, origin).search, 'and told to come back');
  t.equal((await browser.fetch('/login?user=alice', { method: 'POST' })).status, 200);
  const page = await browser.fetch(back);
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /^text\/html/);
  t.equal(page.headers.get('x-frame-options'), 'DENY');
  const html = await page.text();
  t.match(html, /Authorize <strong>Photo &lt;Printer&gt;<\/strong>\?/, 'the consent page names the consumer, escaped');
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1];
  t.ok(csrf, 'the consent page carries a CSRF token');
  return browser.fetch('/oauth1/authorize', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ decision, csrf_token: csrf ?? '' }).toString(),
  });
}

function promised<T extends unknown[]>(call: (done: (error: unknown, ...values: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    call((error, ...values) => (error ? reject(error as Error) : resolve(values)));
  });
}

t.test('the `oauth` library: three legs and a signed GET over loopback', async (t) => {
  const { built, origin } = await listen(t);
  const callback = `${origin}/callback`;
  const client = new OAuth(
    `${origin}/oauth1/request_token`,
    `${origin}/oauth1/access_token`,
    built.client.id,
    built.consumerSecret,
    // RFC 5849 section 3.1: oauth_version, when sent, is "1.0" (node-oauth sends what it is given).
    '1.0',
    callback,
    'HMAC-SHA1',
  );

  const [requestToken, requestSecret, requestResults] = await promised<[string, string, Record<string, string>]>((done) =>
    client.getOAuthRequestToken((error, token, secret, results) => done(error, token, secret, results)),
  );
  t.match(requestToken, /^\S{20,}$/);
  t.ok(requestSecret.length >= 40);
  t.equal(requestResults.oauth_callback_confirmed, 'true');
  const pending = await built.db.selectFrom('portcullis_oauth1_request_tokens').selectAll().execute();
  t.equal(pending.length, 1);
  t.match(pending[0], { client_id: built.client.id, callback, user_id: null, verifier_digest: null, consumed_at: null });
  t.notOk(JSON.stringify(pending).includes(requestSecret), 'the token secret is stored sealed');

  const answer = await approveAsUser(t, origin, `/oauth1/authorize?oauth_token=${encodeURIComponent(requestToken)}`);
  t.equal(answer.status, 303);
  t.equal(answer.headers.get('cache-control'), 'no-store');
  const location = new URL(answer.headers.get('location')!);
  t.equal(`${location.origin}${location.pathname}`, callback);
  t.equal(location.searchParams.get('oauth_token'), requestToken);
  const verifier = location.searchParams.get('oauth_verifier')!;
  t.ok(verifier);

  const [accessToken, accessSecret] = await promised<[string, string]>((done) =>
    client.getOAuthAccessToken(requestToken, requestSecret, verifier, (error, token, secret) => done(error, token, secret)),
  );
  t.not(accessToken, requestToken);
  const issued = await built.db.selectFrom('portcullis_oauth1_access_tokens').selectAll().execute();
  t.equal(issued.length, 1);
  t.match(issued[0], { client_id: built.client.id, user_id: 'alice', revoked_at: null });
  t.notOk(JSON.stringify(issued).includes(accessSecret), 'the access token secret is stored sealed');
  const spent = await built.db.selectFrom('portcullis_oauth1_request_tokens').selectAll().executeTakeFirstOrThrow();
  t.not(spent.consumed_at, null, 'the request token is spent');

  // A signed GET with a query the library encodes its own way (spaces, reserved characters).
  const [data] = await promised<[string | Buffer | undefined]>((done) =>
    client.get(`${origin}/api/me?q=${encodeURIComponent('hello world & more')}&page=2`, accessToken, accessSecret, (error, result) =>
      done(error, result),
    ),
  );
  t.same(JSON.parse(String(data)), {
    oauth: { protocol: 'oauth1', clientId: built.client.id, userId: 'alice', scope: ['read', 'write', 'polls:vote'], audience: [], tokenId: issued[0]!.id },
  });

  // Leg 3 again with the spent request token: refused over HTTP, nothing issued.
  const before = await built.snapshot();
  const reused = await promised<[string, string]>((done) =>
    client.getOAuthAccessToken(requestToken, requestSecret, verifier, (error, token, secret) => done(error, token, secret)),
  ).catch((error: { statusCode: number; data: string }) => error);
  t.match(reused, { statusCode: 401 });
  t.match(JSON.parse((reused as { data: string }).data), { error: 'token_used' });
  const after = await built.snapshot();
  t.same(after.portcullis_oauth1_access_tokens, before.portcullis_oauth1_access_tokens, 'no token credentials issued');
  t.same(after.portcullis_oauth1_request_tokens, before.portcullis_oauth1_request_tokens);

  // A wrong verifier on a fresh request token: refused, no token credentials issued.
  const [freshToken, freshSecret] = await promised<[string, string]>((done) =>
    client.getOAuthRequestToken((error, token, secret) => done(error, token, secret)),
  );
  const fresh = await approveAsUser(t, origin, `/oauth1/authorize?oauth_token=${encodeURIComponent(freshToken)}`);
  t.equal(fresh.status, 303);
  const beforeWrong = await built.snapshot();
  const wrong = await promised<[string, string]>((done) =>
    client.getOAuthAccessToken(freshToken, freshSecret, 'not-the-verifier', (error, token, secret) => done(error, token, secret)),
  ).catch((error: { statusCode: number; data: string }) => error);
  t.match(wrong, { statusCode: 401 });
  t.match(JSON.parse((wrong as { data: string }).data), { error: 'verifier_invalid' });
  const afterWrong = await built.snapshot();
  t.same(afterWrong.portcullis_oauth1_access_tokens, beforeWrong.portcullis_oauth1_access_tokens, 'no token credentials issued');
});

t.test('the `oauth-1.0a` library with fetch: three legs in form bodies, a signed GET and POST', async (t) => {
  const { built, origin } = await listen(t);
  const consumer = new OAuth1a({
    consumer: { key: built.client.id, secret: built.consumerSecret },
    signature_method: 'HMAC-SHA1',
    hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64'),
  });
  const callback = `${origin}/callback?app=printer`;

  /** Every parameter in the form body (RFC 5849 section 3.5.2), as this library leaves the transport to us. */
  async function postSigned(path: string, data: Record<string, string>, token?: OAuth1a.Token): Promise<Response> {
    const url = `${origin}${path}`;
    const signed = consumer.authorize({ url, method: 'POST', data }, token);
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...data, ...(signed as unknown as Record<string, string>) }).toString(),
    });
  }

  const leg1 = await postSigned('/oauth1/request_token', { oauth_callback: callback, scope: 'read polls:vote' });
  t.equal(leg1.status, 200);
  t.equal(leg1.headers.get('content-type'), 'application/x-www-form-urlencoded');
  t.equal(leg1.headers.get('cache-control'), 'no-store');
  const temporary = Object.fromEntries(new URLSearchParams(await leg1.text()));
  t.equal(temporary.oauth_callback_confirmed, 'true');
  const pending = await built.db.selectFrom('portcullis_oauth1_request_tokens').selectAll().executeTakeFirstOrThrow();
  t.match(pending, { callback });
  t.same(JSON.parse(pending.scope), ['read', 'polls:vote'], 'the scope of the request is kept');

  const answer = await approveAsUser(t, origin, `/oauth1/authorize?oauth_token=${encodeURIComponent(temporary.oauth_token!)}`);
  t.equal(answer.status, 303);
  const location = new URL(answer.headers.get('location')!);
  t.equal(location.searchParams.get('app'), 'printer', "the callback's own query is kept");
  const verifier = location.searchParams.get('oauth_verifier')!;

  const leg3 = await postSigned(
    '/oauth1/access_token',
    { oauth_verifier: verifier },
    { key: temporary.oauth_token!, secret: temporary.oauth_token_secret! },
  );
  t.equal(leg3.status, 200);
  const credentials = Object.fromEntries(new URLSearchParams(await leg3.text()));
  t.ok(credentials.oauth_token && credentials.oauth_token_secret);
  const token = { key: credentials.oauth_token!, secret: credentials.oauth_token_secret! };
  const issued = await built.db.selectFrom('portcullis_oauth1_access_tokens').selectAll().executeTakeFirstOrThrow();
  t.match(issued, { user_id: 'alice', client_id: built.client.id });
  t.same(JSON.parse(issued.scope), ['read', 'polls:vote']);

  // A GET signed in the header, with a query.
  const meUrl = `${origin}/api/me?filter=${encodeURIComponent('a+b=c')}`;
  const meHeader = consumer.toHeader(consumer.authorize({ url: meUrl, method: 'GET' }, token)).Authorization;
  const me = await fetch(meUrl, { headers: { authorization: meHeader } });
  t.equal(me.status, 200);
  t.same(await me.json(), {
    oauth: { protocol: 'oauth1', clientId: built.client.id, userId: 'alice', scope: ['read', 'polls:vote'], audience: [], tokenId: issued.id },
  });

  // The same request again: a replay.
  const before = await built.snapshot();
  const replay = await fetch(meUrl, { headers: { authorization: meHeader } });
  t.equal(replay.status, 401);
  t.equal(replay.headers.get('www-authenticate'), `OAuth realm="${REALM}"`);
  t.match(await replay.json(), { error: 'nonce_used' });
  t.same(await built.snapshot(), before, 'a replay changes nothing');

  // Tampered: signed for one query, sent with another.
  const tampered = consumer.toHeader(consumer.authorize({ url: `${origin}/api/me?page=1`, method: 'GET' }, token)).Authorization;
  const forged = await fetch(`${origin}/api/me?page=2`, { headers: { authorization: tampered } });
  t.equal(forged.status, 401);
  t.equal(forged.headers.get('www-authenticate'), `OAuth realm="${REALM}"`);
  t.match(await forged.json(), { error: 'signature_invalid' });
  t.same(await built.snapshot(), before, 'a forged request records no nonce');

  // Stale: a timestamp ten minutes old.
  const stale = new OAuth1a({
    consumer: { key: built.client.id, secret: built.consumerSecret },
    signature_method: 'HMAC-SHA1',
    hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64'),
  });
  stale.getTimeStamp = () => Math.floor(Date.now() / 1000) - 600;
  const staleHeader = stale.toHeader(stale.authorize({ url: meUrl, method: 'GET' }, token)).Authorization;
  const staleAnswer = await fetch(meUrl, { headers: { authorization: staleHeader } });
  t.equal(staleAnswer.status, 401);
  t.match(await staleAnswer.json(), { error: 'timestamp_refused' });
  t.same(await built.snapshot(), before, 'a stale request changes nothing');

  // The token holds read and polls:vote, not write: /api/notes refuses it before spending a nonce.
  const notes = await postSigned('/api/notes', { text: 'hello' }, token);
  t.equal(notes.status, 403);
  t.match(await notes.json(), { error: 'insufficient_scope' });
  t.same(await built.snapshot(), before);

  // The user revokes the application; the signature is right, the token is not.
  t.equal(await built.app.oauth.revokeGrant('alice', built.client.id), 1);
  const revokedHeader = consumer.toHeader(consumer.authorize({ url: meUrl, method: 'GET' }, token)).Authorization;
  const revoked = await fetch(meUrl, { headers: { authorization: revokedHeader } });
  t.equal(revoked.status, 401);
  t.match(await revoked.json(), { error: 'token_revoked' });
});

t.test('the `oauth-1.0a` library: a signed POST with a form body reaches a write route', async (t) => {
  const { built, origin } = await listen(t);
  const consumer = new OAuth1a({
    consumer: { key: built.client.id, secret: built.consumerSecret },
    signature_method: 'HMAC-SHA256',
    hash_function: (base, key) => createHmac('sha256', key).update(base).digest('base64'),
  });
  const sign = (url: string, data: Record<string, string>, token?: OAuth1a.Token) =>
    consumer.toHeader(consumer.authorize({ url, method: 'POST', data }, token)).Authorization;

  // Leg 1 with the callback in the header, which this library leaves out of toHeader.
  const leg1Url = `${origin}/oauth1/request_token`;
  const leg1Signed = consumer.authorize({ url: leg1Url, method: 'POST', data: { oauth_callback: 'oob' } });
  const leg1 = await fetch(leg1Url, {
    method: 'POST',
    headers: { authorization: consumer.toHeader({ ...leg1Signed, oauth_callback: 'oob' } as OAuth1a.Authorization).Authorization },
  });
  t.equal(leg1.status, 200);
  const temporary = Object.fromEntries(new URLSearchParams(await leg1.text()));

  // `oob`: the approval page shows the verifier for the user to copy.
  const shown = await approveAsUser(t, origin, `/oauth1/authorize?oauth_token=${encodeURIComponent(temporary.oauth_token!)}`);
  t.equal(shown.status, 200);
  t.equal(shown.headers.get('cache-control'), 'no-store');
  const verifier = /<code id="oauth_verifier">([^<]+)<\/code>/.exec(await shown.text())?.[1];
  t.ok(verifier, 'the verifier is on the page');

  const leg3Url = `${origin}/oauth1/access_token`;
  const leg3Signed = consumer.authorize(
    { url: leg3Url, method: 'POST', data: { oauth_verifier: verifier! } },
    { key: temporary.oauth_token!, secret: temporary.oauth_token_secret! },
  );
  const leg3 = await fetch(leg3Url, {
    method: 'POST',
    headers: {
      authorization: consumer.toHeader({ ...leg3Signed, oauth_verifier: verifier! } as OAuth1a.Authorization).Authorization,
    },
  });
  t.equal(leg3.status, 200);
  const credentials = Object.fromEntries(new URLSearchParams(await leg3.text()));
  const token = { key: credentials.oauth_token!, secret: credentials.oauth_token_secret! };

  const url = `${origin}/api/notes`;
  const body = { text: 'Grüße, 100% ~ok', tags: 'a b' };
  const posted = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: sign(url, body, token) },
    body: new URLSearchParams(body).toString(),
  });
  t.equal(posted.status, 200);
  t.match(await posted.json(), { oauth: { protocol: 'oauth1', userId: 'alice', scope: ['read', 'write', 'polls:vote'] }, body });

  // The body is signed: changing it breaks the signature.
  const tampered = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: sign(url, body, token) },
    body: new URLSearchParams({ ...body, text: 'changed' }).toString(),
  });
  t.equal(tampered.status, 401);
  t.match(await tampered.json(), { error: 'signature_invalid' });
});
