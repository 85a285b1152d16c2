import { Writable } from 'node:stream';
import t, { type Test } from 'tap';
import type { PortcullisEvent } from '@portcullis/core';
import { basicAuth, buildTestApp, FORM, form } from './helpers.js';

/** A Fastify logger writing JSON lines into `lines`. */
function capturingLogger(lines: Record<string, unknown>[]) {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { level: 'warn', stream };
}

/** A token request that succeeds and one that fails client authentication, on an app with `onEvent`. */
async function exercise(t: Test, onEvent: (event: PortcullisEvent) => void | Promise<void>, lines: Record<string, unknown>[] = []) {
  const built = await buildTestApp({ plugin: { onEvent }, fastify: { logger: capturingLogger(lines) } });
  t.teardown(built.close);
  const { client, clientSecret } = await built.app.oauth.registerClient({ name: 'Reporting', grantTypes: ['client_credentials'], scopes: ['read'] });
  const token = (secret: string) =>
    built.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...FORM, authorization: basicAuth(client.id, secret) }, payload: form({ grant_type: 'client_credentials' }) });
  const ok = await token(clientSecret!);
  const refused = await token('not-the-secret');
  const live = await built.storage.listAccessTokens({ clientId: client.id });
  return { ok, refused, live };
}



t.test('onEvent hears the core events through the plugin', async (t) => {
  const events: PortcullisEvent[] = [];
  const { ok, refused } = await exercise(t, (event) => void events.push(event));
  t.equal(ok.statusCode, 200);
  t.equal(refused.statusCode, 401);
  t.same(
    events.map((event) => event.type),
    ['client.registered', 'token.issued', 'client.authentication_failed', 'token.refused'],
  );
  t.match(events[1], { type: 'token.issued', grantType: 'client_credentials', scope: ['read'], issuer: 'https://auth.example.test' });
  t.notOk(JSON.stringify(events).includes(ok.json().access_token as string), 'no event carries the token');
});

t.test('an onEvent that throws or rejects changes no response and is logged at warn', async (t) => {
  const calm = await exercise(t, () => {});
  for (const [name, onEvent] of [
    ['throws', () => { throw new Error('listener broke'); }],
    ['rejects', () => Promise.reject(new Error('listener rejected'))],
  ] as const) {
    const lines: Record<string, unknown>[] = [];
    const { ok, refused, live } = await exercise(t, onEvent, lines);
    t.equal(ok.statusCode, 200, `${name}: the token is issued`);
    t.same(Object.keys(ok.json()).sort(), Object.keys(calm.ok.json()).sort());
    t.equal(ok.headers['cache-control'], 'no-store');
    t.equal(live.length, 1, `${name}: the token is stored`);
    t.equal(refused.statusCode, 401);
    t.same(refused.json(), calm.refused.json(), `${name}: the refusal is the same`);
    t.equal(refused.headers['www-authenticate'], calm.refused.headers['www-authenticate']);
    await new Promise((resolve) => setImmediate(resolve));
    const warnings = lines.filter((line) => line['msg'] === 'portcullis: onEvent failed');
    t.same(
      warnings.map((line) => line['eventType']),
      ['client.registered', 'token.issued', 'client.authentication_failed', 'token.refused'],
      `${name}: each failure is logged with its event type`,
    );
    t.equal(warnings[0]?.['level'], 40);
    t.match(warnings[0]?.['err'], { message: /listener (broke|rejected)/ });
  }
});

t.test('onEvent must be a function', async (t) => {
  await t.rejects(buildTestApp({ plugin: { onEvent: 'log' as never } }), { code: 'FST_PORTCULLIS_INVALID_OPTION', message: /"onEvent" option must be a function/ });
});
