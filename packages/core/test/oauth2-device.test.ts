import t, { type Test } from 'tap';
import {
  DEVICE_CODE_GRANT_TYPE,
  USER_CODE_ALPHABET,
  normaliseUserCode,
  tokenDigest,
  userCodeDigest,
  type OAuthResponse,
  type PortcullisEvent,
  type RegisteredClient,
} from '../src/index.js';
import { ISSUER, basicAuthorization, bodyOf, countRows, createFixture, createFormRequest, type Fixture } from './oauth2-fixtures.js';

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache', 'content-type': 'application/json' };
const API = 'https://api.example.com';

function assertError(t: Test, response: OAuthResponse, status: number, error: string, message?: string): void {
  t.equal(response.status, status, message ?? `${error} status`);
  t.match(response.headers, NO_STORE, 'no-store headers');
  t.equal(bodyOf(response)['error'], error, message ?? error);
}

async function setup(options: Parameters<typeof createFixture>[0] = {}) {
  const fixture = createFixture({ resources: [API], ...options });
  const device = await fixture.server.registerClient({
    name: 'TV app',
    type: 'public',
    grantTypes: [DEVICE_CODE_GRANT_TYPE, 'refresh_token'],
    scopes: ['read', 'write'],
  });
  const confidential = await fixture.server.registerClient({
    name: 'Printer',
    grantTypes: [DEVICE_CODE_GRANT_TYPE],
    scopes: ['read'],
  });
  const codeOnly = await fixture.server.registerClient({ name: 'Web app', redirectUris: ['https://web.example.com/cb'] });
  return { fixture, device, confidential, codeOnly };
}

function publicRequest(client: RegisteredClient, path: string, body: Record<string, string | string[]>) {
  return createFormRequest(path, { client_id: client.client.id, ...body });
}

async function authorize(fixture: Fixture, client: RegisteredClient, body: Record<string, string | string[]> = {}) {
  const response = await fixture.server.handleDeviceAuthorizationRequest(publicRequest(client, '/oauth/device_authorization', body));
  return { response, body: bodyOf(response) as Record<string, string | number> };
}

function poll(fixture: Fixture, client: RegisteredClient, deviceCode: string) {
  return fixture.server.handleTokenRequest(
    publicRequest(client, '/oauth/token', { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: deviceCode }),
  );
}

async function approve(fixture: Fixture, userCode: string, approved = true, scope?: string[]) {
  const found = await fixture.server.findDeviceAuthorization(userCode);
  if (found.kind !== 'consent') throw new Error(`no device authorization for ${userCode}: ${found.reason}`);
  return fixture.server.completeDeviceAuthorization(found.request, { userId: 'user-1', approved, ...(scope && { scope }) });
}

t.test('device authorization response: RFC 8628 section 3.2, codes kept as digests', async (t) => {
  const { fixture, device } = await setup();
  const { response, body } = await authorize(fixture, device, { scope: 'read', resource: API });
  t.equal(response.status, 200);
  t.match(response.headers, NO_STORE);
  t.match(body, {
    device_code: /^pcd_[0-9A-Z]{10}[A-Za-z0-9_-]{43}$/,
    user_code: new RegExp(`^[${USER_CODE_ALPHABET}]{4}-[${USER_CODE_ALPHABET}]{4}$`),
    verification_uri: `${ISSUER}/oauth/device`,
    expires_in: 600,
    interval: 5,
  });
  t.equal(body['verification_uri_complete'], `${ISSUER}/oauth/device?user_code=${body['user_code']}`);
  const [record] = fixture.storage.snapshot().deviceCodes;
  t.match(record, {
    digest: tokenDigest(String(body['device_code'])),
    userCodeDigest: userCodeDigest(String(body['user_code']).replace('-', '')),
    clientId: device.client.id,
    scope: ['read'],
    audience: [API],
    status: 'pending',
    interval: 5,
  });
  t.notOk(JSON.stringify(fixture.storage.snapshot()).includes(String(body['device_code'])), 'the device code is not stored');
});

t.test('user codes: normalised case-insensitively and dash-tolerantly; others refused', async (t) => {
  t.equal(normaliseUserCode('bcdf-ghjk'), 'BCDFGHJK');
  t.equal(normaliseUserCode(' BCDF GHJK '), 'BCDFGHJK');
  t.equal(normaliseUserCode('bcdfghjk'), 'BCDFGHJK');
  t.equal(normaliseUserCode('BCDF-GHJ'), null, 'too short');
  t.equal(normaliseUserCode('ABCD-EFGH'), null, 'vowels are not in the alphabet');
  t.equal(normaliseUserCode('BCD0-GHJK'), null, 'digits are not in the alphabet');

  const { fixture, device } = await setup();
  const { body } = await authorize(fixture, device);
  const shown = String(body['user_code']);
  for (const typed of [shown, shown.toLowerCase(), shown.replace('-', ''), ` ${shown.replace('-', ' ')} `]) {
    t.equal((await fixture.server.findDeviceAuthorization(typed)).kind, 'consent', JSON.stringify(typed));
  }
  const wrong = await fixture.server.findDeviceAuthorization('ZZZZ-ZZZZ');
  t.match(wrong, { kind: 'error', reason: 'unknown' });
  t.match(await fixture.server.findDeviceAuthorization('not a code'), { kind: 'error', reason: 'unknown' });
});

t.test('refusals at the device authorization endpoint change nothing', async (t) => {
  const { fixture, device, confidential, codeOnly } = await setup();
  const before = countRows(fixture.storage);
  const withoutGrant = await fixture.server.handleDeviceAuthorizationRequest(
    createFormRequest('/oauth/device_authorization', {}, { authorization: basicAuthorization(codeOnly.client.id, codeOnly.clientSecret!) }),
  );
  assertError(t, withoutGrant, 400, 'unauthorized_client', 'a client without the device grant');
  assertError(t, (await authorize(fixture, device, { scope: 'admin' })).response, 400, 'invalid_scope', 'an unknown scope');
  assertError(t, (await authorize(fixture, confidential, { scope: 'write' })).response, 401, 'invalid_client', 'a confidential client naming itself only');
  assertError(t, (await authorize(fixture, device, { resource: 'https://other.example.com' })).response, 400, 'invalid_target');
  const wrongSecret = await fixture.server.handleDeviceAuthorizationRequest(
    createFormRequest('/oauth/device_authorization', {}, { authorization: basicAuthorization(confidential.client.id, 'wrong') }),
  );
  assertError(t, wrongSecret, 401, 'invalid_client');
  t.equal(wrongSecret.headers['www-authenticate'], `Basic realm="${ISSUER}"`);
  const get = await fixture.server.handleDeviceAuthorizationRequest(
    createFormRequest('/oauth/device_authorization', { client_id: device.client.id }, {}, { method: 'GET' }),
  );
  assertError(t, get, 405, 'invalid_request');
  t.strictSame(countRows(fixture.storage), before, 'nothing stored');

  const ok = await fixture.server.handleDeviceAuthorizationRequest(
    createFormRequest('/oauth/device_authorization', { scope: 'read' }, { authorization: basicAuthorization(confidential.client.id, confidential.clientSecret!) }),
  );
  t.equal(ok.status, 200, 'a confidential client with its secret');
});

t.test('polling: authorization_pending, slow_down raising the interval by 5 s, then tokens once', async (t) => {
  const { fixture, device } = await setup();
  const { body } = await authorize(fixture, device, { scope: 'read write' });
  const deviceCode = String(body['device_code']);

  assertError(t, await poll(fixture, device, deviceCode), 400, 'authorization_pending', 'first poll');
  fixture.clock.advance(2);
  assertError(t, await poll(fixture, device, deviceCode), 400, 'slow_down', 'a poll 2 s after the last');
  t.equal(fixture.storage.snapshot().deviceCodes[0]?.interval, 10, 'the interval is raised by 5 seconds');
  fixture.clock.advance(6);
  assertError(t, await poll(fixture, device, deviceCode), 400, 'slow_down', '6 s is still faster than the new 10 s');
  t.equal(fixture.storage.snapshot().deviceCodes[0]?.interval, 15);
  fixture.clock.advance(15);
  assertError(t, await poll(fixture, device, deviceCode), 400, 'authorization_pending', 'waiting the interval is fine');

  const decided = await approve(fixture, String(body['user_code']), true, ['read']);
  t.strictSame(decided, { kind: 'decided', approved: true, clientName: 'TV app' });
  fixture.clock.advance(1);
  const tokens = await poll(fixture, device, deviceCode);
  t.equal(tokens.status, 200, 'tokens once approved');
  t.match(tokens.headers, NO_STORE);
  t.match(bodyOf(tokens), { token_type: 'Bearer', scope: 'read', access_token: /^pca_/, refresh_token: /^pcr_/ });
  const grant = await fixture.server.verifyAccessToken(String(bodyOf(tokens)['access_token']));
  t.match(grant, { clientId: device.client.id, userId: 'user-1', scope: ['read'] });

  fixture.clock.advance(20);
  assertError(t, await poll(fixture, device, deviceCode), 400, 'invalid_grant', 'a second poll after success');
  t.equal(fixture.storage.snapshot().accessTokens.length, 1, 'no second token');
});

t.test('denied, expired, other client, unknown code', async (t) => {
  const { fixture, device, confidential } = await setup();
  const denied = (await authorize(fixture, device)).body;
  t.match(await approve(fixture, String(denied['user_code']), false), { kind: 'decided', approved: false });
  assertError(t, await poll(fixture, device, String(denied['device_code'])), 400, 'access_denied');
  t.match(await fixture.server.findDeviceAuthorization(String(denied['user_code'])), { kind: 'error', reason: 'decided' });

  const other = (await authorize(fixture, device)).body;
  const otherResponse = await fixture.server.handleTokenRequest(
    createFormRequest(
      '/oauth/token',
      { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: String(other['device_code']) },
      { authorization: basicAuthorization(confidential.client.id, confidential.clientSecret!) },
    ),
  );
  assertError(t, otherResponse, 400, 'invalid_grant', "another client's device code");
  t.equal(fixture.storage.snapshot().deviceCodes.find((code) => code.clientId === device.client.id && code.status === 'pending')?.lastPolledAt, null, 'not even a poll recorded');

  assertError(t, await poll(fixture, device, 'pcd_unknown'), 400, 'invalid_grant', 'an unknown device code');
  assertError(
    t,
    await fixture.server.handleTokenRequest(publicRequest(device, '/oauth/token', { grant_type: DEVICE_CODE_GRANT_TYPE })),
    400,
    'invalid_request',
    'no device_code',
  );

  fixture.clock.advance(601);
  assertError(t, await poll(fixture, device, String(other['device_code'])), 400, 'expired_token', 'past expires_in');
  t.match(await fixture.server.findDeviceAuthorization(String(other['user_code'])), { kind: 'error', reason: 'expired' });
  t.equal((await fixture.server.purgeExpired()).deviceCodes, 2, 'the purge removes expired device codes');
});

t.test('a decision is taken once, and checked against the pending code', async (t) => {
  const { fixture, device } = await setup();
  const { body } = await authorize(fixture, device, { scope: 'read' });
  const found = await fixture.server.findDeviceAuthorization(String(body['user_code']));
  if (found.kind !== 'consent') return t.fail('not found');
  t.match(found.request, { clientId: device.client.id, clientName: 'TV app', scope: ['read'] });
  t.match(
    await fixture.server.completeDeviceAuthorization(found.request, { userId: 'user-1', approved: true, scope: ['write'] }),
    { kind: 'error', error: { error: 'invalid_scope' } },
    'approval cannot widen the scope',
  );
  t.match(
    await fixture.server.completeDeviceAuthorization({ ...found.request, deviceCodeId: 'other' }, { userId: 'user-1', approved: true }),
    { kind: 'error', error: { error: 'invalid_request' } },
  );
  t.match(await fixture.server.completeDeviceAuthorization(found.request, { userId: 'user-1', approved: true }), { kind: 'decided', approved: true });
  t.match(
    await fixture.server.completeDeviceAuthorization(found.request, { userId: 'user-2', approved: false }),
    { kind: 'error', error: { error: 'invalid_grant' } },
    'a second decision',
  );
  t.match(fixture.storage.snapshot().deviceCodes[0], { status: 'approved', userId: 'user-1' });
});

t.test('metadata and registration', async (t) => {
  const { fixture } = await setup();
  const metadata = bodyOf(fixture.server.getMetadata());
  t.equal(metadata['device_authorization_endpoint'], `${ISSUER}/oauth/device_authorization`);
  t.ok((metadata['grant_types_supported'] as string[]).includes(DEVICE_CODE_GRANT_TYPE));

  const machine = createFixture({ endpoints: { authorization: null } });
  const machineMetadata = bodyOf(machine.server.getMetadata());
  t.equal(machineMetadata['device_authorization_endpoint'], undefined, 'no verification page, no device grant');
  t.notOk((machineMetadata['grant_types_supported'] as string[]).includes(DEVICE_CODE_GRANT_TYPE));

  const deviceOnly = await fixture.server.registerClient({ name: 'CLI', type: 'public', grantTypes: [DEVICE_CODE_GRANT_TYPE] });
  t.strictSame(deviceOnly.client.redirectUris, [], 'a device client needs no redirect URI');
  t.strictSame(deviceOnly.client.responseTypes, []);

  const legacy = createFixture({ profile: 'oauth2.0', resources: [API] });
  const legacyClient = await legacy.server.registerClient({ name: 'CLI', type: 'public', grantTypes: [DEVICE_CODE_GRANT_TYPE] });
  t.equal((await authorize(legacy, legacyClient)).response.status, 200, 'offered under both profiles');
});

t.test('events: device_code.approved on approval, token.issued once the device has its tokens', async (t) => {
  const events: PortcullisEvent[] = [];
  const { fixture, device } = await setup({ onEvent: (event) => void events.push(event) });
  events.length = 0; // the clients' registrations
  const { body } = await authorize(fixture, device, { scope: 'read write' });
  const deviceCode = String(body['device_code']);
  const userCode = String(body['user_code']);
  await approve(fixture, userCode, true, ['read']);
  const record = fixture.storage.snapshot().deviceCodes[0]!;
  t.match(events.map((event) => event.type), ['device_code.approved'], 'approval is announced');
  t.match(events[0], { type: 'device_code.approved', clientId: device.client.id, userId: 'user-1', scope: ['read'], deviceCodeId: record.id });
  const tokens = await poll(fixture, device, deviceCode);
  t.equal(tokens.status, 200);
  const access = fixture.storage.snapshot().accessTokens[0]!;
  t.match(events[1], { type: 'token.issued', grantType: DEVICE_CODE_GRANT_TYPE, clientId: device.client.id, userId: 'user-1', accessTokenId: access.id });
  const serialized = JSON.stringify(events);
  for (const secret of [deviceCode, userCode, userCode.replace('-', ''), record.digest, String(bodyOf(tokens)['access_token'])]) {
    t.notOk(serialized.includes(secret), 'no code, token or digest in the events');
  }

  const denied = await authorize(fixture, device);
  await approve(fixture, String(denied.body['user_code']), false);
  t.equal(events.filter((event) => event.type === 'device_code.approved').length, 1, 'a denial is not an approval');
});
