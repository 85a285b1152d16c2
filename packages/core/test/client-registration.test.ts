import t from 'tap';
import type { Test } from 'tap';
import { digestSecret, invalidClientMetadata, type ClientRegistrationEvent, type OAuthRequest, type OAuthResponse } from '../src/index.js';
import { ISSUER, START, bodyOf, countRows, createFixture, createFormRequest, type Fixture } from './oauth2-fixtures.js';

const NO_STORE = { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' };
const METADATA = {
  client_name: 'MCP Inspector',
  redirect_uris: ['http://127.0.0.1:6274/oauth/callback', 'https://app.example/cb'],
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  scope: 'read',
};

function request(method: string, headers: OAuthRequest['headers'] = {}, path = '/oauth/register'): OAuthRequest {
  return { ...createFormRequest(path, undefined, headers, { method }), body: undefined };
}

function registrationFixture(registration: Record<string, unknown> = {}): Fixture & { events: ClientRegistrationEvent[] } {
  const events: ClientRegistrationEvent[] = [];
  const fixture = createFixture({ registration: { enabled: true, onClientRegistration: (event) => events.push(event), ...registration } });
  return { ...fixture, events };
}

async function register(fixture: Fixture, metadata: unknown = METADATA, headers: OAuthRequest['headers'] = {}): Promise<OAuthResponse> {
  return fixture.server.handleClientRegistration(request('POST', headers), metadata);
}

function expectRefusal(t: Test, response: OAuthResponse, status: number, error: string, description?: RegExp): void {
  t.equal(response.status, status, `status ${status}`);
  t.match(response.headers, NO_STORE);
  t.equal(bodyOf(response).error, error);
  if (description !== undefined) t.match(bodyOf(response).error_description, description);
}

t.test('a public client registers: 201, the RFC 7591 response, digests at rest, an event without secrets', async (t) => {
  const fixture = registrationFixture();
  const response = await register(fixture);
  t.equal(response.status, 201);
  t.strictSame(response.headers, NO_STORE);
  const body = bodyOf(response);
  const clientId = body.client_id as string;
  const token = body.registration_access_token as string;
  t.match(token, /^pcg_[A-Za-z0-9_-]{43}$/, '256 random bits');
  t.strictSame(body, {
    client_id: clientId,
    client_id_issued_at: START.getTime() / 1000,
    registration_access_token: token,
    registration_client_uri: `${ISSUER}/oauth/register/${clientId}`,
    client_name: 'MCP Inspector',
    redirect_uris: METADATA.redirect_uris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    application_type: 'web',
    scope: 'read',
  });
  const [client] = fixture.storage.snapshot().clients;
  t.equal(client?.origin, 'dynamic');
  t.equal(client?.type, 'public');
  t.equal(client?.registrationTokenDigest, digestSecret(token), 'only the digest is kept');
  t.strictSame(client?.unusedExpiresAt, new Date(START.getTime() + 24 * 3600_000), 'unused for a day at most');
  t.strictSame(fixture.events, [
    {
      action: 'registered',
      clientId,
      clientName: 'MCP Inspector',
      type: 'public',
      redirectUris: METADATA.redirect_uris,
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['read'],
      softwareId: null,
    },
  ]);
  t.notMatch(JSON.stringify(fixture.events), token);
});

t.test('a confidential client gets a secret once, kept as a digest', async (t) => {
  const fixture = registrationFixture();
  const response = await register(fixture, { ...METADATA, token_endpoint_auth_method: 'client_secret_post' });
  t.equal(response.status, 201);
  const body = bodyOf(response);
  t.match(body.client_secret, /^pcs_/);
  t.equal(body.client_secret_expires_at, 0);
  const [client] = fixture.storage.snapshot().clients;
  t.equal(client?.secretDigest, digestSecret(body.client_secret as string));
  t.equal(client?.metadata?.tokenEndpointAuthMethod, 'client_secret_post');
});

t.test('each bad registration: its RFC 7591 error and nothing stored', async (t) => {
  const fixture = registrationFixture();
  const refusals: [string, unknown, string, RegExp][] = [
    ['not an object', [], 'invalid_client_metadata', /JSON object/],
    ['a fragment', { ...METADATA, redirect_uris: ['https://app.example/cb#x'] }, 'invalid_redirect_uri', /fragment/],
    ['javascript:', { ...METADATA, redirect_uris: ['javascript:alert(1)'] }, 'invalid_redirect_uri', /not allowed/],
    ['data:', { ...METADATA, redirect_uris: ['data:text/html,hi'] }, 'invalid_redirect_uri', /not allowed/],
    ['http off loopback', { ...METADATA, redirect_uris: ['http://app.example/cb'] }, 'invalid_redirect_uri', /https/],
    ['relative', { ...METADATA, redirect_uris: ['/cb'] }, 'invalid_redirect_uri', /absolute/],
    ['a web client with a private scheme', { ...METADATA, redirect_uris: ['com.example.app:/cb'] }, 'invalid_redirect_uri', /web client/],
    ['a native scheme not a domain', { ...METADATA, application_type: 'native', redirect_uris: ['myapp:/cb'] }, 'invalid_redirect_uri', /reverse domain/],
    ['no redirect URI for the code grant', { ...METADATA, redirect_uris: [] }, 'invalid_redirect_uri', /at least one/],
    ['code without authorization_code', { ...METADATA, grant_types: ['refresh_token'] }, 'invalid_client_metadata', /do not match/],
    ['authorization_code without code', { ...METADATA, response_types: [] }, 'invalid_client_metadata', /do not match/],
    ['token without implicit', { ...METADATA, response_types: ['code', 'token'] }, 'invalid_client_metadata', /do not match/],
    ['implicit under OAuth 2.1', { ...METADATA, grant_types: ['implicit'], response_types: ['token'] }, 'invalid_client_metadata', /implicit/],
    ['password', { ...METADATA, grant_types: ['password'], response_types: [] }, 'invalid_client_metadata', /password/],
    ['client_credentials without a secret', { ...METADATA, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }, 'invalid_client_metadata', /client_credentials/],
    ['an unknown auth method', { ...METADATA, token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata', /token_endpoint_auth_method/],
    ['an unknown scope', { ...METADATA, scope: 'read admin' }, 'invalid_client_metadata', /admin/],
    ['a bad application_type', { ...METADATA, application_type: 'desktop' }, 'invalid_client_metadata', /application_type/],
    ['an http logo', { ...METADATA, logo_uri: 'http://app.example/logo.png' }, 'invalid_client_metadata', /logo_uri/],
    ['contacts not strings', { ...METADATA, contacts: [1] }, 'invalid_client_metadata', /contacts/],
    ['a long name', { ...METADATA, client_name: 'x'.repeat(256) }, 'invalid_client_metadata', /client_name/],
  ];
  for (const [name, metadata, error, description] of refusals) {
    await t.test(name, async (t) => expectRefusal(t, await register(fixture, metadata), 400, error, description));
  }
  t.equal(countRows(fixture.storage).clients, 0, 'nothing stored');
  t.strictSame(fixture.events, []);
});

t.test('native clients may use loopback and reverse-domain schemes', async (t) => {
  const fixture = registrationFixture();
  const response = await register(fixture, { ...METADATA, application_type: 'native', redirect_uris: ['com.example.app:/cb', 'http://[::1]/cb'] });
  t.equal(response.status, 201);
  t.equal(bodyOf(response).application_type, 'native');
});

t.test('registration is off unless enabled: 404 and nothing stored', async (t) => {
  const fixture = createFixture();
  expectRefusal(t, await register(fixture), 404, 'invalid_request');
  t.equal(fixture.server.registrationEnabled, false);
  t.notOk('registration_endpoint' in bodyOf(fixture.server.getMetadata()));
  t.equal(bodyOf(registrationFixture().server.getMetadata()).registration_endpoint, `${ISSUER}/oauth/register`);
  t.equal(countRows(fixture.storage).clients, 0);
});

t.test('an initial access token is required when configured', async (t) => {
  const initial = 'iat-'.padEnd(40, 'k');
  const fixture = registrationFixture({ initialAccessToken: initial });
  const missing = await register(fixture);
  expectRefusal(t, missing, 401, 'invalid_token');
  t.equal(missing.headers['www-authenticate'], `Bearer realm="${ISSUER}"`);
  const wrong = await register(fixture, METADATA, { authorization: `Bearer ${initial}x` });
  expectRefusal(t, wrong, 401, 'invalid_token');
  t.match(wrong.headers['www-authenticate'], /^Bearer realm=".*", error="invalid_token"/);
  t.equal(countRows(fixture.storage).clients, 0);
  t.equal((await register(fixture, METADATA, { authorization: `Bearer ${initial}` })).status, 201);
});

t.test('the policy may adjust or refuse', async (t) => {
  const fixture = registrationFixture({
    policy: (metadata: { redirect_uris: string[]; scope: string | null }) => {
      if (metadata.redirect_uris.some((uri) => uri.includes('evil'))) throw invalidClientMetadata('That host is not allowed here.');
      return { ...metadata, scope: 'read' };
    },
  });
  expectRefusal(t, await register(fixture, { ...METADATA, redirect_uris: ['https://evil.example/cb'] }), 400, 'invalid_client_metadata', /not allowed here/);
  t.equal(countRows(fixture.storage).clients, 0);
  const response = await register(fixture, { ...METADATA, scope: 'write' });
  t.equal(bodyOf(response).scope, 'read', 'the scope capped');
});

t.test('unused registrations are bounded, expire, and the purge removes them; a used one stays', async (t) => {
  const fixture = registrationFixture({ maxUnusedClients: 2, unusedClientTtl: 600 });
  t.equal((await register(fixture)).status, 201);
  t.equal((await register(fixture)).status, 201);
  const refused = await register(fixture);
  expectRefusal(t, refused, 429, 'temporarily_unavailable', /not obtained a token/);
  t.equal(countRows(fixture.storage).clients, 2, 'the third was not stored');

  // One of them obtains a token: it no longer counts and is kept.
  fixture.clock.advance(1);
  const [first, second] = fixture.storage.snapshot().clients;
  await fixture.storage.updateClient(first!.id, { grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'], type: 'confidential', secretDigest: digestSecret('pcs_secret') });
  const tokenResponse = await fixture.server.handleTokenRequest(
    createFormRequest('/oauth/token', { grant_type: 'client_credentials', client_id: first!.id, client_secret: 'pcs_secret' }),
  );
  t.equal(tokenResponse.status, 200);
  const used = fixture.storage.snapshot().clients.find((client) => client.id === first!.id);
  t.equal(used?.unusedExpiresAt, null, 'a used client no longer expires');
  t.strictSame(used?.lastUsedAt, fixture.clock.now);
  t.equal((await register(fixture)).status, 201, 'room for one more');

  fixture.clock.advance(601);
  const purged = await fixture.server.purgeExpired();
  t.equal(purged.clients, 2, 'the two never used are purged');
  t.strictSame(fixture.storage.snapshot().clients.map((client) => client.id), [first!.id]);
  t.equal(await fixture.storage.findClient(second!.id), null);
});

t.test('RFC 7592: read, update and delete with the registration access token; another client\'s token is refused', async (t) => {
  const fixture = registrationFixture();
  const a = bodyOf(await register(fixture));
  const b = bodyOf(await register(fixture, { ...METADATA, client_name: 'Other' }));
  const manage = (method: string, clientId: unknown, token: unknown, body?: unknown) =>
    fixture.server.handleClientConfiguration(request(method, { authorization: `Bearer ${String(token)}` }), String(clientId), body);

  const read = await manage('GET', a.client_id, a.registration_access_token);
  t.equal(read.status, 200);
  const { registration_access_token: _token, ...withoutToken } = a;
  t.strictSame(bodyOf(read), withoutToken, 'the registration, without the token');

  const before = fixture.storage.snapshot();
  for (const [method, body] of [['GET', undefined], ['PUT', { ...METADATA, client_id: a.client_id, client_name: 'Stolen' }], ['DELETE', undefined]] as const) {
    const crossed = await manage(method, a.client_id, b.registration_access_token, body);
    expectRefusal(t, crossed, 401, 'invalid_token');
    t.match(crossed.headers['www-authenticate'], /error="invalid_token"/);
    expectRefusal(t, await manage(method, a.client_id, 'pcg_wrong', body), 401, 'invalid_token');
    expectRefusal(t, await manage(method, 'no-such-client', a.registration_access_token, body), 401, 'invalid_token');
  }
  t.strictSame(fixture.storage.snapshot(), before, 'nothing changed');

  expectRefusal(t, await manage('PUT', a.client_id, a.registration_access_token, { ...METADATA, client_id: b.client_id }), 400, 'invalid_request');
  expectRefusal(
    t,
    await manage('PUT', a.client_id, a.registration_access_token, { ...METADATA, client_id: a.client_id, registration_access_token: 'x' }),
    400,
    'invalid_request',
  );
  expectRefusal(
    t,
    await manage('PUT', a.client_id, a.registration_access_token, { ...METADATA, client_id: a.client_id, redirect_uris: ['https://x.example/#f'] }),
    400,
    'invalid_redirect_uri',
  );
  t.strictSame(fixture.storage.snapshot(), before, 'refused updates changed nothing');

  const updated = await manage('PUT', a.client_id, a.registration_access_token, {
    ...METADATA,
    client_id: a.client_id,
    client_name: 'Renamed',
    redirect_uris: ['https://app.example/other'],
  });
  t.equal(updated.status, 200);
  t.equal(bodyOf(updated).client_name, 'Renamed');
  t.notOk('client_secret' in bodyOf(updated), 'a public client gets no secret');
  const rotated = bodyOf(updated).registration_access_token as string;
  t.match(rotated, /^pcg_[A-Za-z0-9_-]{43}$/, 'a new registration access token, by default');
  t.not(rotated, a.registration_access_token);
  const stored = await fixture.storage.findClient(a.client_id as string);
  t.strictSame(stored?.redirectUris, ['https://app.example/other']);
  t.equal(stored?.registrationTokenDigest, digestSecret(rotated), 'only its digest is kept');
  expectRefusal(t, await manage('GET', a.client_id, a.registration_access_token), 401, 'invalid_token');

  const deleted = await manage('DELETE', a.client_id, rotated);
  t.equal(deleted.status, 204);
  t.equal(await fixture.storage.findClient(a.client_id as string), null);
  expectRefusal(t, await manage('GET', a.client_id, rotated), 401, 'invalid_token');
  t.ok(await fixture.storage.findClient(b.client_id as string), 'the other client stays');
  t.strictSame(
    fixture.events.map((event) => event.action),
    ['registered', 'registered', 'updated', 'deleted'],
  );
});

t.test('RFC 7592: two updates at once with one registration access token: one lands, the other is invalid_token', async (t) => {
  const fixture = registrationFixture();
  const a = bodyOf(await register(fixture));
  const put = (name: string) =>
    fixture.server.handleClientConfiguration(
      request('PUT', { authorization: `Bearer ${String(a.registration_access_token)}` }),
      String(a.client_id),
      { ...METADATA, client_id: a.client_id, client_name: name },
    );
  const answers = await Promise.all([put('First'), put('Second')]);
  t.strictSame(answers.map((answer) => answer.status).sort(), [200, 401], 'the token was rotated by the first write');
  const winner = bodyOf(answers.find((answer) => answer.status === 200)!);
  const stored = await fixture.storage.findClient(String(a.client_id));
  t.equal(stored?.name, winner.client_name, "the stored record is the winner's");
  t.equal(stored?.registrationTokenDigest, digestSecret(winner.registration_access_token as string), 'and only its new token works');
});

t.test('an unused registration past its expiry is refused before the purge removes it, and stays unused', async (t) => {
  const fixture = registrationFixture({ unusedClientTtl: 60 });
  const body = bodyOf(await register(fixture, { ...METADATA, token_endpoint_auth_method: 'client_secret_basic', grant_types: ['authorization_code', 'client_credentials'] }));
  fixture.clock.advance(60);
  const before = fixture.storage.snapshot();
  const token = await fixture.server.handleTokenRequest(
    createFormRequest('/oauth/token', { grant_type: 'client_credentials', client_id: String(body.client_id), client_secret: String(body.client_secret) }),
  );
  expectRefusal(t, token, 401, 'invalid_client');
  const url = new URL('/oauth/authorize', ISSUER);
  url.search = new URLSearchParams({ response_type: 'code', client_id: String(body.client_id), redirect_uri: METADATA.redirect_uris[1]!, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }).toString();
  const authorize = await fixture.server.validateAuthorizationRequest({ method: 'GET', url, headers: {}, secure: true });
  t.match(authorize, { kind: 'error', status: 400 }, 'the authorization endpoint shows an error, never redirects');
  t.strictSame(fixture.storage.snapshot(), before, 'nothing changed: the client is still unused');
  fixture.clock.advance(1);
  t.equal((await fixture.server.purgeExpired()).clients, 1, 'the purge removes what expired before now');
});

t.test('RFC 7592 update with rotateClientSecret and without rotating the registration access token', async (t) => {
  const fixture = registrationFixture({ rotateClientSecret: true, rotateRegistrationAccessToken: false });
  const confidential = { ...METADATA, token_endpoint_auth_method: 'client_secret_basic', grant_types: ['authorization_code', 'client_credentials'] };
  const a = bodyOf(await register(fixture, confidential));
  const clientId = a.client_id as string;
  const tokenWith = (secret: unknown) =>
    fixture.server.handleTokenRequest(createFormRequest('/oauth/token', { grant_type: 'client_credentials', client_id: clientId, client_secret: String(secret) }));
  const put = (body: unknown) =>
    fixture.server.handleClientConfiguration(request('PUT', { authorization: `Bearer ${String(a.registration_access_token)}` }), clientId, body);

  const before = fixture.storage.snapshot();
  expectRefusal(t, await put({ ...confidential, client_id: clientId, client_secret: 'pcs_not-the-secret' }), 400, 'invalid_request', /client_secret/);
  t.strictSame(fixture.storage.snapshot(), before, 'a wrong secret in the body changes nothing');

  const updated = await put({ ...confidential, client_id: clientId, client_secret: a.client_secret });
  t.equal(updated.status, 200);
  const body = bodyOf(updated);
  t.match(body.client_secret, /^pcs_/);
  t.not(body.client_secret, a.client_secret);
  t.equal(body.client_secret_expires_at, 0);
  t.notOk('registration_access_token' in body, 'the registration access token is kept');
  const stored = await fixture.storage.findClient(clientId);
  t.equal(stored?.secretDigest, digestSecret(body.client_secret as string), 'only the new secret\'s digest is kept');
  t.equal(stored?.registrationTokenDigest, digestSecret(a.registration_access_token as string));

  expectRefusal(t, await tokenWith(a.client_secret), 401, 'invalid_client');
  t.equal((await tokenWith(body.client_secret)).status, 200, 'the new secret works');
  const read = await fixture.server.handleClientConfiguration(request('GET', { authorization: `Bearer ${String(a.registration_access_token)}` }), clientId);
  t.equal(read.status, 200, 'the old registration access token still works');
  t.notOk('client_secret' in bodyOf(read), 'a read never shows the secret');
});

t.test('the rotation options must be booleans', async (t) => {
  for (const name of ['rotateRegistrationAccessToken', 'rotateClientSecret']) {
    t.throws(() => createFixture({ registration: { enabled: true, [name]: 'yes' } as never }), new TypeError(`options.registration.${name} must be true or false`));
  }
});
