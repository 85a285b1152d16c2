import { StorageError } from '@portcullis/core';
import { StorageFixtures } from '@portcullis/core/testing';
import { createKyselyStorage } from '@portcullis/kysely';
import { MAX_KEYS_PER_LOOKUP } from '../src/mysql-grouped-lookups.js';
import { mysqlTest, openMigratedMysql, sentMysqlStatements } from './helpers/databases.js';

await mysqlTest('grouped lookups on MariaDB/MySQL', async (t) => {
  const { db } = await openMigratedMysql(t);
  const storage = createKyselyStorage(db, { clientCache: false });
  const fx = new StorageFixtures();
  const client = fx.client();
  await storage.createClient(client);
  const pairs = Array.from({ length: 3 }, () => fx.tokenPair({ clientId: client.id }));
  for (const { access, refresh } of pairs) await storage.saveTokens(access, refresh);

  t.test('the lookups of one turn go as one statement, each answered with its own row', async (t) => {
    const unknown = fx.accessToken().digest;
    const digests = [pairs[0]!.access.digest, unknown, pairs[1]!.access.digest, pairs[0]!.access.digest, pairs[2]!.access.digest];
    let found: unknown[] = [];
    const sent = await sentMysqlStatements(async () => {
      found = await Promise.all(digests.map((digest) => storage.findAccessToken(digest)));
    });
    t.same(
      found.map((record) => (record as { id: string } | null)?.id ?? null),
      [pairs[0]!.access.id, null, pairs[1]!.access.id, pairs[0]!.access.id, pairs[2]!.access.id],
    );
    t.equal(sent.length, 1, 'one statement');
    t.match(sent[0], /from `portcullis_access_tokens` where `digest` in \('[^']+', '[^']+', '[^']+', '[^']+'\)/, 'the repeated digest asked once');
    t.same(found[0], await storage.findAccessToken(pairs[0]!.access.digest), 'the same record as a lookup on its own');
  });

  t.test('different tables go as one statement each', async (t) => {
    const sent = await sentMysqlStatements(() =>
      Promise.all([
        storage.findAccessToken(pairs[0]!.access.digest),
        storage.findRefreshToken(pairs[0]!.refresh!.digest),
        storage.findRefreshToken(pairs[1]!.refresh!.digest),
        storage.findClient(client.id),
      ]),
    );
    t.equal(sent.length, 3);
  });

  t.test(`a group of more than ${MAX_KEYS_PER_LOOKUP} keys runs as several statements`, async (t) => {
    const digests = [pairs[1]!.access.digest, ...Array.from({ length: MAX_KEYS_PER_LOOKUP + 5 }, () => fx.accessToken().digest)];
    let found: unknown[] = [];
    const sent = await sentMysqlStatements(async () => {
      found = await Promise.all(digests.map((digest) => storage.findAccessToken(digest)));
    });
    t.equal(sent.length, 2);
    t.equal((found[0] as { id: string }).id, pairs[1]!.access.id);
    t.equal(found.filter((record) => record !== null).length, 1);
  });

  t.test('a lost database fails every lookup of the group with a StorageError', async (t) => {
    await db.destroy();
    const outcomes = await Promise.allSettled(pairs.map(({ access }) => storage.findAccessToken(access.digest)));
    for (const outcome of outcomes) {
      t.equal(outcome.status, 'rejected');
      t.type((outcome as PromiseRejectedResult).reason, StorageError);
    }
  });
});
