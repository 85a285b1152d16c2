import { sql } from 'kysely';
import { StorageError } from '@portcullis/core';
import type { OAuthStorage } from '@portcullis/core';
import { StorageFixtures } from '@portcullis/core/testing';
import { createKyselyStorage } from '@portcullis/kysely';
import { mysqlTest, openMigratedMysql, sentMysqlStatements } from './helpers/databases.js';

await mysqlTest('grouped calls on MariaDB/MySQL', async (t) => {
  const { db } = await openMigratedMysql(t);
  const storage: OAuthStorage = createKyselyStorage(db, { clientCache: false });
  const rotate = storage.rotateRefreshTokenByDigest!.bind(storage);
  const fx = new StorageFixtures();
  const at = new Date(Date.UTC(2030, 0, 1));
  const savedPairs = async (count: number) => {
    const pairs = Array.from({ length: count }, () => fx.tokenPair({ expiresAt: new Date(at.getTime() + 60_000) }, { expiresAt: new Date(at.getTime() + 60_000) }));
    for (const pair of pairs) await storage.saveTokens(pair.access, pair.refresh);
    return pairs;
  };

  t.test('the rotations of one turn go as one CALL', async (t) => {
    const pairs = await savedPairs(4);
    const tokens = pairs.map(() => fx.freshTokens(at));
    let results: { exchanged: boolean }[] = [];
    const sent = await sentMysqlStatements(async () => {
      results = await Promise.all(pairs.map((pair, i) => rotate(pair.refresh.digest, pair.refresh.clientId, at, tokens[i]!)));
    });
    t.strictSame(results.map((result) => result.exchanged), [true, true, true, true]);
    t.equal(sent.length, 1);
    t.match(sent[0], /^call portcullis_rotate_refresh_tokens_by_digests\('\[\{/, 'the group as a JSON array');
    t.equal(sent[0]!.split('"client_id').length - 1, 4, 'of four exchanges');
    const rows = await db.selectFrom('portcullis_refresh_tokens').select(['digest', 'consumed_at']).where('digest', 'in', pairs.map((pair) => pair.refresh.digest)).execute();
    t.strictSame(rows.map((row) => Number(row.consumed_at)), [at.getTime(), at.getTime(), at.getTime(), at.getTime()], 'each consumed at its instant');
    const saved = await db.selectFrom('portcullis_access_tokens').select('family_id').where('digest', 'in', tokens.map((token) => token.access.digest)).execute();
    t.strictSame(saved.map((row) => row.family_id).sort(), pairs.map((pair) => pair.refresh.familyId).sort(), 'the fresh tokens in their grants\' families');
  });

  t.test('the redemptions of one turn go as one CALL; a client without refresh gets no refresh token row', async (t) => {
    const redeem = storage.redeemAuthorizationCodeByDigest!.bind(storage);
    const codes = [fx.authorizationCode({ expiresAt: new Date(at.getTime() + 60_000) }), fx.authorizationCode({ expiresAt: new Date(at.getTime() + 60_000) })];
    for (const code of codes) await storage.saveAuthorizationCode(code);
    const tokens = [fx.freshTokens(at), fx.freshTokens(at, false)];
    const expect = (code: (typeof codes)[number]) => ({ clientId: code.clientId, redirectUri: code.redirectUri, codeChallenge: code.codeChallenge });
    let results: { exchanged: boolean }[] = [];
    const sent = await sentMysqlStatements(async () => {
      results = await Promise.all(codes.map((code, i) => redeem(code.digest, expect(code), at, tokens[i]!)));
    });
    t.strictSame(results.map((result) => result.exchanged), [true, true]);
    t.equal(sent.length, 1);
    t.match(sent[0], /^call portcullis_redeem_authorization_codes_by_digests\(/);
    const refresh = await db.selectFrom('portcullis_refresh_tokens').select(['id', 'family_id']).where('family_id', 'in', codes.map((code) => code.familyId)).execute();
    t.strictSame(refresh, [{ id: tokens[0]!.refresh!.id, family_id: codes[0]!.familyId }], 'one refresh token, of the first grant');
    const access = await db.selectFrom('portcullis_access_tokens').select('family_id').where('family_id', 'in', codes.map((code) => code.familyId)).orderBy('family_id').execute();
    t.strictSame(access.map((row) => row.family_id), codes.map((code) => code.familyId).sort(), 'an access token for each');
  });

  t.test('a lone rotation is the procedure\'s CALL', async (t) => {
    const [pair] = await savedPairs(1);
    const sent = await sentMysqlStatements(() => rotate(pair!.refresh.digest, pair!.refresh.clientId, at, fx.freshTokens(at)));
    t.equal(sent.length, 1);
    t.match(sent[0], /^call portcullis_rotate_refresh_token_by_digest/);
  });

  t.test('a group the server refuses runs again exchange by exchange: only the colliding one fails', async (t) => {
    const pairs = await savedPairs(3);
    const tokens = pairs.map(() => fx.freshTokens(at));
    tokens[1] = { ...tokens[1]!, access: { ...tokens[1]!.access, digest: pairs[0]!.access.digest } };
    let outcomes: PromiseSettledResult<{ exchanged: boolean }>[] = [];
    const sent = await sentMysqlStatements(async () => {
      outcomes = await Promise.allSettled(pairs.map((pair, i) => rotate(pair.refresh.digest, pair.refresh.clientId, at, tokens[i]!)));
    });
    t.strictSame(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'fulfilled']);
    t.type((outcomes[1] as PromiseRejectedResult).reason, StorageError);
    t.match((outcomes[1] as PromiseRejectedResult).reason.message, /a row with the same key already exists/);
    t.strictSame(
      sent.map((statement) => statement.slice(0, statement.indexOf('('))),
      ['call portcullis_rotate_refresh_tokens_by_digests', ...Array(3).fill('call portcullis_rotate_refresh_token_by_digest')],
      'the group refused, then each alone',
    );
    const consumed = await db.selectFrom('portcullis_refresh_tokens').select(['digest', 'consumed_at']).where('digest', 'in', pairs.map((pair) => pair.refresh.digest)).execute();
    const byDigest = new Map(consumed.map((row) => [row.digest, row.consumed_at]));
    t.strictSame(pairs.map((pair) => byDigest.get(pair.refresh.digest) !== null), [true, false, true], 'the colliding token unconsumed');
  });

  t.test('the signed requests of one turn look their tokens up and record their nonces in one CALL', async (t) => {
    const find = storage.findOAuth1AccessTokenRecordingNonce!.bind(storage);
    const mine = fx.oauth1AccessToken({ clientId: 'client-a' });
    const theirs = fx.oauth1AccessToken({ clientId: 'client-b' });
    for (const token of [mine, theirs]) await storage.saveOAuth1AccessToken(token);
    const seen = fx.nonce({ token: mine.token });
    await storage.recordNonce(seen);
    const twice = fx.nonce({ token: mine.token });
    const nonces = [
      fx.nonce({ token: mine.token }),
      fx.nonce({ token: theirs.token }),
      fx.nonce({ token: 'no-such-token' }),
      seen,
      twice,
      twice,
    ];
    let answers: { record: { id: string } | null; nonceRecorded: boolean }[] = [];
    const sent = await sentMysqlStatements(async () => {
      answers = await Promise.all(nonces.map((nonce) => find(nonce)));
    });
    t.equal(sent.length, 1);
    t.match(sent[0], /^call portcullis_find_oauth1_access_tokens_recording_nonces\('\[\{/);
    t.strictSame(
      answers.map((answer) => [answer.record?.id ?? null, answer.nonceRecorded]),
      [
        [mine.id, true],
        [theirs.id, false],
        [null, false],
        [mine.id, false],
        [mine.id, true],
        [mine.id, false],
      ],
      "the signing client's token records its nonce once; another client's token, an unknown token and a seen nonce record nothing",
    );
    t.strictSame(answers[0]!.record, mine, 'the token as stored');
    const rows = await db.selectFrom('portcullis_oauth1_nonces').select('client_id').execute();
    t.equal(rows.length, 3, 'the nonce recorded before, and the two recorded now');
    t.ok(rows.every((row) => row.client_id === 'client-a'));
  });

  t.test('a group of signed requests the server refuses runs again request by request: only the refused one fails', async (t) => {
    const find = storage.findOAuth1AccessTokenRecordingNonce!.bind(storage);
    const mine = fx.oauth1AccessToken({ clientId: 'client-a' });
    const poisoned = fx.oauth1AccessToken({ clientId: 'client-poison' });
    for (const token of [mine, poisoned]) await storage.saveOAuth1AccessToken(token);
    // The server refuses this client's nonces, inside the group's CALL and inside 0006's alike.
    await sql`create trigger refuse_poisoned_nonces before insert on portcullis_oauth1_nonces for each row
      begin if new.client_id = 'client-poison' then signal sqlstate '45000' set message_text = 'refused'; end if; end`.execute(db);
    t.teardown(() => sql`drop trigger if exists refuse_poisoned_nonces`.execute(db).then(() => undefined));
    const before = (await db.selectFrom('portcullis_oauth1_nonces').select('nonce_key').execute()).length;
    const nonces = [fx.nonce({ token: mine.token }), fx.nonce({ token: poisoned.token, clientId: 'client-poison' }), fx.nonce({ token: mine.token })];
    let outcomes: PromiseSettledResult<{ nonceRecorded: boolean }>[] = [];
    const sent = await sentMysqlStatements(async () => {
      outcomes = await Promise.allSettled(nonces.map((nonce) => find(nonce)));
    });
    t.strictSame(
      sent.map((statement) => statement.slice(0, statement.indexOf('('))),
      ['call portcullis_find_oauth1_access_tokens_recording_nonces', ...Array(3).fill('call portcullis_find_oauth1_access_token_recording_nonce')],
      'the group refused, then each alone',
    );
    t.strictSame(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'fulfilled']);
    t.type((outcomes[1] as PromiseRejectedResult).reason, StorageError);
    t.strictSame(outcomes.filter((outcome) => outcome.status === 'fulfilled').map((outcome) => outcome.value.nonceRecorded), [true, true]);
    t.equal((await db.selectFrom('portcullis_oauth1_nonces').select('nonce_key').execute()).length, before + 2, 'the two others recorded, once each');
  });

  t.test('the access tokens saved alone in one turn go as one INSERT; a duplicate id fails only its own save', async (t) => {
    const tokens = [fx.accessToken(), fx.accessToken(), fx.accessToken()];
    const sent = await sentMysqlStatements(() => Promise.all(tokens.map((token) => storage.saveTokens(token, null))));
    t.equal(sent.length, 1);
    t.match(sent[0], /^insert into `portcullis_access_tokens` .* values \([^)]*\), \([^)]*\), \([^)]*\)$/);
    for (const token of tokens) t.strictSame(await storage.findAccessToken(token.digest), token);

    const again = [fx.accessToken(), fx.accessToken({ id: tokens[0]!.id })];
    let outcomes: PromiseSettledResult<void>[] = [];
    const retried = await sentMysqlStatements(async () => {
      outcomes = await Promise.allSettled(again.map((token) => storage.saveTokens(token, null)));
    });
    t.equal(retried.length, 3, 'the group refused, then each alone');
    t.strictSame(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected']);
    t.match((outcomes[1] as PromiseRejectedResult).reason.message, /a row with the same key already exists/);
    t.strictSame(await storage.findAccessToken(again[0]!.digest), again[0], 'the other one saved');
    t.equal(await storage.findAccessToken(again[1]!.digest), null);
  });

  t.test('a lost database fails every exchange of the group with a StorageError', async (t) => {
    const pairs = await savedPairs(3);
    await db.destroy();
    const outcomes = await Promise.allSettled(pairs.map((pair) => rotate(pair.refresh.digest, pair.refresh.clientId, at, fx.freshTokens(at))));
    for (const outcome of outcomes) {
      t.equal(outcome.status, 'rejected');
      t.type((outcome as PromiseRejectedResult).reason, StorageError);
    }
  });
});
