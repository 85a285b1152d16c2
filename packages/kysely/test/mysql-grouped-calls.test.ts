import { StorageError } from '@portcullis/core';
import type { OAuthStorage } from '@portcullis/core';
import { StorageFixtures } from '@portcullis/core/testing';
import { createKyselyStorage } from '@portcullis/kysely';
import { mysqlTest, openMigratedMysql, sentMysqlStatements } from './helpers/databases.js';

await mysqlTest('grouped calls on MariaDB/MySQL', async (t) => {
  const { db } = await openMigratedMysql(t);
  const storage: OAuthStorage = createKyselyStorage(db, { clientCache: false });
  const fx = new StorageFixtures();
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

  t.test('a lost database fails every save of the group with a StorageError', async (t) => {
    const tokens = [fx.accessToken(), fx.accessToken(), fx.accessToken()];
    await db.destroy();
    const outcomes = await Promise.allSettled(tokens.map((token) => storage.saveTokens(token, null)));
    for (const outcome of outcomes) {
      t.equal(outcome.status, 'rejected');
      t.type((outcome as PromiseRejectedResult).reason, StorageError);
    }
  });
});
