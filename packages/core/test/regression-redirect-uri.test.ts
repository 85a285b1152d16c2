// Regression tests for the redirect URI bug classes published against other OAuth servers:
// lenient comparison (case, decoding, dot segments, userinfo, backslashes), the loopback port
// exception leaking into the path or query, dangerous schemes at registration, and response
// parameters smuggled in a registered query.
import t from 'tap';
import { OAuthError } from '../src/errors.js';
import { isUriText, toUriText } from '../src/oauth2/redirect-uri.js';
import {
  CHALLENGE,
  countRows,
  createAuthorizeRequest,
  createFixture,
  REDIRECT_URI,
  registerTestClient,
  type Fixture,
} from './oauth2-fixtures.js';

async function authorize(fixture: Fixture, clientId: string, redirectUri: string, extra: Record<string, string> = {}) {
  return fixture.server.validateAuthorizationRequest(
    createAuthorizeRequest({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      state: 'st',
      code_challenge: CHALLENGE,
      code_challenge_method: 'S256',
      ...extra,
    }),
  );
}

t.test('a redirect URI that differs in any character is refused, never redirected to', async (t) => {
  const fixture = createFixture();
  const client = await registerTestClient(fixture); // https://client.example.com/cb
  t.equal(REDIRECT_URI, 'https://client.example.com/cb');
  const before = countRows(fixture.storage);
  const variants = [
    'https://client.example.com/CB',
    'https://CLIENT.example.com/cb',
    'HTTPS://client.example.com/cb',
    'https://client.example.com/cb/',
    'https://client.example.com/%63b',
    'https://client.example.com/cb%2f',
    'https://client.example.com/cb/%2e%2e/evil',
    'https://client.example.com/cb/%2E%2E%2Fevil',
    'https://client.example.com/cb/../evil',
    'https://client.example.com/cb/..;/evil',
    'https://client.example.com/cb;evil',
    'https://client.example.com/./cb',
    'https://client.example.com%2f@evil.example/cb',
    'https://client.example.com@evil.example/cb',
    'https://client.example.com:443@evil.example/cb',
    'https://evil.example\\@client.example.com/cb',
    'https://client.example.com\\@evil.example/cb',
    'https://client.example.com\\cb',
    'https://client.example.com/cb\\..\\evil',
    'https://client.example.com.evil.example/cb',
    'https://client.example.com./cb',
    'https://client.example.com:443/cb',
    'http://client.example.com/cb',
    'https://client.example.com/cb?x=1',
    'https://client.example.com/cb?',
    'https://client.example.com/cb#',
    'https://client.example.com/cb#frag',
    'https://client.example.com/cb%00',
    'https://client.example.com/cb%20',
    '//client.example.com/cb',
    '/cb',
  ];
  for (const variant of variants) {
    const result = await authorize(fixture, client.client.id, variant);
    t.equal(result.kind, 'error', `refused: ${variant}`);
    if (result.kind === 'error') {
      t.equal(result.status, 400, variant);
      t.equal(result.error.error, 'invalid_request', variant);
    }
  }
  t.same(countRows(fixture.storage), before, 'nothing stored');
  // The exact URI still works, so the refusals above are about the differences.
  t.equal((await authorize(fixture, client.client.id, REDIRECT_URI)).kind, 'consent');
});

t.test('the loopback exception: only the port of an IP literal may differ', async (t) => {
  const fixture = createFixture({ enforceSecure: true });
  const client = await registerTestClient(fixture, {
    redirectUris: ['http://127.0.0.1/cb', 'http://[::1]/native', 'http://localhost/cb'],
  });
  for (const accepted of ['http://127.0.0.1:9999/cb', 'http://127.0.0.1:1/cb', 'http://127.0.0.1:65535/cb', 'http://127.0.0.1/cb', 'http://[::1]:50123/native']) {
    const result = await authorize(fixture, client.client.id, accepted);
    t.equal(result.kind, 'consent', `accepted: ${accepted}`);
    if (result.kind === 'consent') t.equal(result.request.redirectUri, accepted, 'the result goes to the port asked for');
  }
  const refused = [
    'http://127.0.0.1:9999/cb?x=1',
    'http://127.0.0.1:9999/cb?',
    'http://127.0.0.1:9999/cb/',
    'http://127.0.0.1:9999/CB',
    'http://127.0.0.1:9999/cb/../evil',
    'http://127.0.0.1:9999/cb#x',
    'http://127.0.0.1:0/cb',
    'http://127.0.0.1:65536/cb',
    'http://127.0.0.1:99999/cb',
    'http://127.0.0.1:9999@evil.example/cb',
    'http://127.0.0.1:9999\\@evil.example/cb',
    'http://127.0.0.2:9999/cb',
    'http://127.1:9999/cb',
    'http://2130706433:9999/cb',
    'https://127.0.0.1:9999/cb',
    'http://[::1]:9999/cb',
    'http://127.0.0.1:9999/native',
    // RFC 8252 section 8.3: localhost is not a loopback literal; no port freedom for it.
    'http://localhost:9999/cb',
    'http://127.0.0.1:9999/cb'.replace('127.0.0.1', 'localhost'),
  ];
  for (const variant of refused) {
    const result = await authorize(fixture, client.client.id, variant);
    t.equal(result.kind, 'error', `refused: ${variant}`);
  }
  // localhost registered does not make 127.0.0.1 acceptable, nor the reverse.
  const onlyLocalhost = await registerTestClient(fixture, { redirectUris: ['http://localhost/cb'] });
  t.equal((await authorize(fixture, onlyLocalhost.client.id, 'http://127.0.0.1/cb')).kind, 'error');
  t.equal((await authorize(fixture, onlyLocalhost.client.id, 'http://localhost/cb')).kind, 'consent');
});

t.test('registration refuses script, data and local schemes, fragments and credentials', async (t) => {
  for (const enforceSecure of [true, false]) {
    const fixture = createFixture({ enforceSecure });
    const refused = [
      'javascript:alert(1)',
      'JavaScript:alert(1)',
      'javascript://client.example.com/%0aalert(1)',
      'data:text/html,<script>alert(1)</script>',
      'DATA:text/html;base64,PHNjcmlwdD4=',
      'vbscript:msgbox(1)',
      'file:///etc/passwd',
      'blob:https://client.example.com/uuid',
      ' javascript:alert(1)',
      'java\tscript:alert(1)',
      'https://client.example.com/cb#fragment',
      'https://client.example.com/cb#',
      'https://user:pass@client.example.com/cb',
      'https://client.example.com@evil.example/cb',
      'https://client.example.com/c b',
      'https://client.example.com/cb\n',
      '/relative/cb',
      '',
    ];
    for (const uri of refused) {
      const error = await fixture.server.registerClient({ name: 'Evil', redirectUris: [uri] }).then(
        () => null,
        (caught: unknown) => caught,
      );
      t.ok(error instanceof OAuthError, `refused (${enforceSecure ? 'secure' : 'development'}): ${JSON.stringify(uri)}`);
      if (error instanceof OAuthError) t.equal(error.error, 'invalid_request');
    }
    t.same(await fixture.storage.listClients(), [], 'no client was stored');
  }
  // Plain http off loopback only when TLS is not enforced.
  const secure = createFixture({ enforceSecure: true });
  await t.rejects(secure.server.registerClient({ name: 'Plain', redirectUris: ['http://client.example.com/cb'] }));
  await t.resolves(secure.server.registerClient({ name: 'Loopback', redirectUris: ['http://127.0.0.1/cb', 'http://localhost/cb'] }));
});

t.test('response parameters smuggled in a registered query: the server\'s code and state win, once each', async (t) => {
  const fixture = createFixture();
  const registered = 'https://client.example.com/cb?code=attacker&state=attacker&keep=1&iss=https%3A%2F%2Fevil.example';
  const client = await registerTestClient(fixture, { redirectUris: [registered] });
  const validated = await authorize(fixture, client.client.id, registered, { state: 'real-state' });
  t.equal(validated.kind, 'consent');
  if (validated.kind !== 'consent') return;
  const approved = await fixture.server.completeAuthorization(validated.request, { userId: 'user-1', approved: true });
  t.equal(approved.kind, 'redirect');
  if (approved.kind !== 'redirect') return;
  const location = new URL(approved.location);
  t.equal(`${location.origin}${location.pathname}`, 'https://client.example.com/cb');
  t.equal(location.searchParams.getAll('code').length, 1, 'one code parameter');
  t.not(location.searchParams.get('code'), 'attacker');
  t.match(location.searchParams.get('code'), /^pcc_/);
  t.same(location.searchParams.getAll('state'), ['real-state'], 'one state, the client\'s');
  t.same(location.searchParams.getAll('iss'), ['https://auth.example.com'], 'one iss, the server\'s');
  t.same(location.searchParams.getAll('keep'), ['1'], 'the rest of the registered query stays');

  // A denial carries no code at all, not even the registered one.
  const again = await authorize(fixture, client.client.id, registered, { state: 'second' });
  if (again.kind !== 'consent') return t.fail('expected consent');
  const denied = await fixture.server.completeAuthorization(again.request, { userId: 'user-1', approved: false });
  if (denied.kind !== 'redirect') return t.fail('expected a redirect');
  const deniedAt = new URL(denied.location);
  t.equal(deniedAt.searchParams.get('error'), 'access_denied');
  t.same(deniedAt.searchParams.getAll('code'), [], 'no code on a denial');
  t.same(deniedAt.searchParams.getAll('state'), ['second']);
  t.same(deniedAt.searchParams.getAll('keep'), ['1']);

  // Without a state from the client, the registered state does not masquerade as one.
  const stateless = await fixture.server.validateAuthorizationRequest(
    createAuthorizeRequest({ response_type: 'code', client_id: client.client.id, redirect_uri: registered, code_challenge: CHALLENGE, code_challenge_method: 'S256' }),
  );
  if (stateless.kind !== 'consent') return t.fail('expected consent');
  const done = await fixture.server.completeAuthorization(stateless.request, { userId: 'user-1', approved: true });
  if (done.kind !== 'redirect') return t.fail('expected a redirect');
  t.same(new URL(done.location).searchParams.getAll('state'), [], 'no state the client did not send');
});

t.test('a registered query without response parameters is kept as registered', async (t) => {
  const fixture = createFixture();
  const registered = 'https://client.example.com/cb?tenant=a%20b&x=';
  const client = await registerTestClient(fixture, { redirectUris: [registered] });
  const validated = await authorize(fixture, client.client.id, registered);
  if (validated.kind !== 'consent') return t.fail('expected consent');
  const done = await fixture.server.completeAuthorization(validated.request, { userId: 'user-1', approved: true });
  if (done.kind !== 'redirect') return t.fail('expected a redirect');
  t.ok(done.location.startsWith(`${registered}&code=pcc_`), done.location);
});

// Characters a Location header cannot carry, or that RFC 3986 does not allow unencoded: Node
// refuses the header outright for some (ERR_INVALID_CHAR), browsers read the others differently.
const UNSAFE_REDIRECT_URIS = [
  'https://client.example.com\u3002evil.example/cb',
  'https://client.example.com/cb\u3002',
  'https://client.example.com/cb\u2028',
  'https://client.example.com/caf\u00e9',
  'https://client.example.com/\u{1F600}',
  'https://client.example.com/cb\r\nSet-Cookie:x=1',
  'https://client.example.com/c\rb',
  'https://client.example.com/c\nb',
  'https://client.example.com/cb\u0000',
  'https://client.example.com/cb\u007f',
  'https://client.example.com/c"b',
  "https://client.example.com/c\\b",
  'https://client.example.com/c<b>',
  'https://client.example.com/c{b}',
  'https://client.example.com/c|b',
  'https://client.example.com/c^b',
  'https://client.example.com/c`b',
  'https://client.example.com/cb?x=%zz',
  'https://client.example.com/cb%',
  'https://client.example.com/cb?x=a b',
  'com.example.app:/cb\u3002',
];

t.test('registration refuses redirect URIs a Location header cannot carry', async (t) => {
  const fixture = createFixture();
  for (const uri of UNSAFE_REDIRECT_URIS) {
    const error = await fixture.server.registerClient({ name: 'Broken', redirectUris: [REDIRECT_URI, uri] }).then(
      () => null,
      (caught: unknown) => caught,
    );
    t.ok(error instanceof OAuthError, `refused: ${encodeURI(uri)}`);
    if (error instanceof OAuthError) {
      t.equal(error.error, 'invalid_request');
      t.match(error.description, /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/, 'its description names the URI within the wire characters');
    }
  }
  t.same(await fixture.storage.listClients(), [], 'no client was stored');
  // Percent-encoded, the same characters are an ordinary URI; and every RFC 3986 delimiter is fine.
  const accepted = [
    'https://client.example.com/cb%E3%80%82?x=%22%5C%20',
    "https://client.example.com/a;b,c!$&'()*+=@:~-._?q=[x]&r=/?",
    'com.example.app:/cb',
  ];
  const { client } = await fixture.server.registerClient({ name: 'Fine', redirectUris: accepted });
  t.same(client.redirectUris, accepted);
});

t.test('a redirect URI in the store that registration would refuse: an error page, never a Location', async (t) => {
  for (const uri of ['https://client.example.com/cb\u3002', 'https://client.example.com/cb\r\nSet-Cookie:x=1', 'https://client.example.com/c"b']) {
    const fixture = createFixture({ profile: 'oauth2.0' });
    // Straight into the store, past registerClient's checks.
    const registered = await registerTestClient(fixture, { grantTypes: ['authorization_code', 'implicit'] });
    await fixture.storage.createClient({ ...registered.client, id: 'legacy', redirectUris: [uri] });
    const before = countRows(fixture.storage);
    const extras: Record<string, string>[] = [{}, { redirect_uri: uri }, { redirect_uri: uri, response_type: 'bogus' }, { redirect_uri: uri, code_challenge_method: 'bogus' }];
    for (const extra of extras) {
      const result = await fixture.server.validateAuthorizationRequest(
        createAuthorizeRequest({ response_type: 'code', client_id: 'legacy', state: 'st', code_challenge: CHALLENGE, code_challenge_method: 'S256', ...extra }),
      );
      t.equal(result.kind, 'error', `validation: ${encodeURI(uri)} ${JSON.stringify(Object.keys(extra))}`);
      if (result.kind === 'error') {
        t.equal(result.status, 400);
        t.equal(result.error.error, 'invalid_request');
      }
    }
    // A pending request holding the URI (as a session may keep one) is decided.
    for (const approved of [true, false]) {
      for (const responseType of ['code', 'token'] as const) {
        const result = await fixture.server.completeAuthorization(
          {
            clientId: 'legacy',
            clientName: 'Legacy',
            responseType,
            redirectUri: uri,
            redirectUriProvided: true,
            scope: ['read'],
            state: 'st',
            codeChallenge: CHALLENGE,
            codeChallengeMethod: 'S256',
            resource: [],
          },
          { userId: 'user-1', approved },
        );
        t.equal(result.kind, 'error', `completion (${approved ? 'approved' : 'denied'}, ${responseType}): an error page`);
        if (result.kind === 'error') t.equal(result.error.error, 'invalid_request');
      }
    }
    t.same(countRows(fixture.storage), before, 'no code or token was issued');
  }
});

t.test('isUriText and toUriText: RFC 3986 characters, and the rest percent-encoded as UTF-8', async (t) => {
  t.ok(isUriText("/login?next=%2Foauth%2Fauthorize&a=[1]:@!$&'()*+,;=~"));
  for (const text of ['/a b', '/a\u3002', '/a"b', '/a\\b', '/a|b', '/a%', '/a%zz', '/a\r\n', '']) t.notOk(isUriText(text), encodeURI(text || 'empty'));
  t.equal(toUriText('/a b|c^d"e\\f%zz%41\u3002\ud800'), '/a%20b%7Cc%5Ed%22e%5Cf%25zz%41%E3%80%82%EF%BF%BD');
  t.ok(isUriText(toUriText('/x?q=\r\n\u2028')));
});
