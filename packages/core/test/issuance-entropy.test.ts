import t from 'tap';
import { idFromRandom, tokenDigest, type Entropy } from '../src/index.js';
import { createFixture, obtainCode, REDIRECT_URI, registerTestClient, START, tokenRequest, VERIFIER } from './oauth2-fixtures.js';

/** Bytes 0, 1, 2, ... across draws, every draw recorded: each value can be traced to its bytes. */
function recordingEntropy(): Entropy & { draws: Uint8Array[] } {
  let next = 0;
  const draws: Uint8Array[] = [];
  return {
    draws,
    randomBytes(size: number): Uint8Array {
      const bytes = Uint8Array.from({ length: size }, () => next++ % 256);
      draws.push(bytes);
      return bytes;
    },
  };
}

t.test('a client_credentials grant draws once, and its token, id and family each read bytes of their own', async (t) => {
  const entropy = recordingEntropy();
  const fixture = createFixture({ entropy });
  const client = await registerTestClient(fixture, { grantTypes: ['client_credentials'] });
  entropy.draws.length = 0;
  const response = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'client_credentials' }));
  t.equal(response.status, 200);
  t.equal(entropy.draws.length, 1, 'one CSPRNG call');
  const [draw] = entropy.draws as [Uint8Array];
  t.equal(draw.length, 10 + 32 + 10, 'the family id, the token, the token row id');
  const token = (response.body as { access_token: string }).access_token;
  t.equal(token.slice(-43), Buffer.from(draw.subarray(10, 42)).toString('base64url'), 'the token holds 256 bits of the draw');
  const record = await fixture.storage.findAccessToken(tokenDigest(token));
  t.ok(record);
  t.equal(record!.familyId, idFromRandom(draw.subarray(0, 10), START.getTime()), 'the family id reads the first 10 bytes');
  t.equal(record!.id, idFromRandom(draw.subarray(42, 52), START.getTime()), 'the row id reads the last 10');
  t.not(record!.id, record!.familyId);
});

t.test('a code exchange draws once for both tokens; no bytes are shared between them', async (t) => {
  const entropy = recordingEntropy();
  const fixture = createFixture({ entropy });
  const client = await registerTestClient(fixture, { grantTypes: ['authorization_code', 'refresh_token'] });
  const code = await obtainCode(fixture, client);
  entropy.draws.length = 0;
  const response = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  );
  t.equal(response.status, 200);
  t.equal(entropy.draws.length, 1, 'one CSPRNG call');
  const [draw] = entropy.draws as [Uint8Array];
  t.equal(draw.length, 2 * (32 + 10), 'two tokens and their row ids');
  const body = response.body as { access_token: string; refresh_token: string };
  t.equal(body.access_token.slice(-43), Buffer.from(draw.subarray(0, 32)).toString('base64url'));
  t.equal(body.refresh_token.slice(-43), Buffer.from(draw.subarray(42, 74)).toString('base64url'));
  const access = await fixture.storage.findAccessToken(tokenDigest(body.access_token));
  const refresh = await fixture.storage.findRefreshToken(tokenDigest(body.refresh_token));
  t.equal(access?.id, idFromRandom(draw.subarray(32, 42), START.getTime()));
  t.equal(refresh?.id, idFromRandom(draw.subarray(74, 84), START.getTime()));
  t.throws(() => idFromRandom(new Uint8Array(9), 0), RangeError, 'a row id needs 10 random bytes');
});
