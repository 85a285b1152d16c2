// The MySQL write procedures of migration 0003: each atomic write is one CALL that writes all or
// nothing, hands the driver its original error, and is retried like a transaction on deadlock.
// Every outcome is checked with plain SELECTs on a connection of its own, not through the store.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { StorageError } from '@portcullis/core';
import { StorageFixtures } from '@portcullis/core/testing';
import { createDatabase, createKyselyStorage, migrate } from '@portcullis/kysely';
import {
  createMysqlTestDatabase,
  MYSQL_SERVER,
  mysqlTest,
  openMigratedMysql,
  MIGRATIONS_AFTER_PROCEDURES,
  PROCEDURE_MIGRATIONS,
} from './helpers/databases.js';

async function count(connection: Connection, table: string, where: string, values: unknown[]): Promise<number> {
  const [rows] = await connection.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`, values);
  return Number(rows[0]!.n);
}

async function consumedAt(connection: Connection, refreshTokenId: string): Promise<unknown> {
  const [rows] = await connection.query<RowDataPacket[]>('SELECT consumed_at FROM portcullis_refresh_tokens WHERE id = ?', [refreshTokenId]);
  return rows[0]?.consumed_at;
}

async function rejection(promise: Promise<unknown>): Promise<StorageError & { cause: { code?: string; errno?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as StorageError & { cause: { code?: string; errno?: number } };
  }
  throw new Error('expected a rejection');
}

await mysqlTest('MariaDB write procedures', async (t) => {
  const database = await createMysqlTestDatabase('portcullis_proc');
  // One pooled connection: a CALL that left a transaction open would hide every later write.
  const db = await createDatabase(database.url, { connectionLimit: 1 });
  const plain = await createConnection({ ...MYSQL_SERVER, database: database.name });
  t.teardown(async () => {
    await plain.end();
    await db.destroy();
    await database.drop();
  });
  await migrate(db);
  const storage = createKyselyStorage(db);
  const fx = new StorageFixtures();

  await t.test('saveTokens: a duplicate in either insert leaves nothing, with the original error', async (t) => {
    const first = fx.tokenPair();
    await storage.saveTokens(first.access, first.refresh);

    const refreshClash = fx.tokenPair({}, { digest: first.refresh.digest });
    const error = await rejection(storage.saveTokens(refreshClash.access, refreshClash.refresh));
    t.type(error, StorageError);
    t.equal(error.message, 'The database failed during saveTokens: a row with the same key already exists.');
    t.equal(error.cause.code, 'ER_DUP_ENTRY', 'RESIGNAL hands over the original error');
    t.equal(error.cause.errno, 1062);
    t.equal(await count(plain, 'portcullis_access_tokens', 'id = ?', [refreshClash.access.id]), 0, 'the access token inserted first was rolled back');

    const accessClash = fx.tokenPair({ digest: first.access.digest });
    t.match((await rejection(storage.saveTokens(accessClash.access, accessClash.refresh))).message, /same key/);
    t.equal(await count(plain, 'portcullis_refresh_tokens', 'id = ?', [accessClash.refresh.id]), 0, 'no refresh token either');

    const next = fx.tokenPair();
    await storage.saveTokens(next.access, next.refresh);
    t.equal(await count(plain, 'portcullis_access_tokens', 'id = ?', [next.access.id]), 1, 'the connection is clean: the next pair is committed');
    t.equal(await count(plain, 'portcullis_refresh_tokens', 'id = ?', [next.refresh.id]), 1);
  });

  await t.test('rotateRefreshToken: a failing insert leaves the old token live and saves nothing', async (t) => {
    const old = fx.tokenPair();
    const other = fx.tokenPair();
    await storage.saveTokens(old.access, old.refresh);
    await storage.saveTokens(other.access, other.refresh);

    // The second insert (the new refresh token) fails on the unique digest.
    const secondFails = fx.tokenPair({ familyId: old.refresh.familyId }, { digest: other.refresh.digest });
    const error = await rejection(storage.rotateRefreshToken(old.refresh.id, new Date(), secondFails.access, secondFails.refresh));
    t.equal(error.message, 'The database failed during rotateRefreshToken: a row with the same key already exists.');
    t.equal(error.cause.code, 'ER_DUP_ENTRY');
    t.equal(await consumedAt(plain, old.refresh.id), null, 'the old refresh token is not consumed');
    t.equal(await count(plain, 'portcullis_access_tokens', 'id = ?', [secondFails.access.id]), 0, 'no new access token');

    // The first insert (the new access token) fails.
    const firstFails = fx.tokenPair({ familyId: old.refresh.familyId, digest: other.access.digest });
    t.match((await rejection(storage.rotateRefreshToken(old.refresh.id, new Date(), firstFails.access, firstFails.refresh))).message, /same key/);
    t.equal(await consumedAt(plain, old.refresh.id), null);
    t.equal(await count(plain, 'portcullis_refresh_tokens', 'id = ?', [firstFails.refresh.id]), 0);

    const next = fx.tokenPair({ familyId: old.refresh.familyId });
    const at = new Date('2030-01-02T00:00:00.000Z');
    t.equal(await storage.rotateRefreshToken(old.refresh.id, at, next.access, next.refresh), true, 'then the rotation works');
    t.equal(Number(await consumedAt(plain, old.refresh.id)), at.getTime(), 'consumed at the given instant');
    t.equal(await count(plain, 'portcullis_access_tokens', 'id = ?', [next.access.id]), 1);
    t.equal(await count(plain, 'portcullis_refresh_tokens', 'id = ?', [next.refresh.id]), 1);

    const late = fx.tokenPair({ familyId: old.refresh.familyId });
    t.equal(await storage.rotateRefreshToken(old.refresh.id, new Date(), late.access, late.refresh), false, 'a consumed token loses');
    await storage.revokeFamily(next.refresh, new Date());
    t.equal(await storage.rotateRefreshToken(next.refresh.id, new Date(), late.access, late.refresh), false, 'a revoked one too');
    t.equal(await storage.rotateRefreshToken('no-such-id', new Date(), late.access, late.refresh), false, 'an unknown one too');
    t.equal(await count(plain, 'portcullis_access_tokens', 'id = ?', [late.access.id]), 0, 'the losers saved nothing');
    t.equal(await count(plain, 'portcullis_refresh_tokens', 'id = ?', [late.refresh.id]), 0);
  });

  await t.test('consumeAuthorizationCode: one CALL tells consumed, reused and missing apart', async (t) => {
    const code = fx.authorizationCode();
    await storage.saveAuthorizationCode(code);
    const at = new Date('2030-01-01T12:00:30.000Z');
    t.strictSame(await storage.consumeAuthorizationCode(code.digest, at), { status: 'consumed', record: { ...code, consumedAt: at } });
    t.strictSame(await storage.consumeAuthorizationCode(code.digest, new Date()), { status: 'reused', record: { ...code, consumedAt: at } });
    t.strictSame(await storage.consumeAuthorizationCode('missing-digest', new Date()), { status: 'missing' });
  });

  await t.test('a rotation picked as deadlock victim inside its CALL is run again', async (t) => {
    const old = fx.tokenPair();
    await storage.saveTokens(old.access, old.refresh);
    const next = fx.tokenPair({ familyId: old.refresh.familyId });
    const blocker = await createConnection({ ...MYSQL_SERVER, database: database.name });
    t.teardown(() => blocker.end());

    // The blocker holds the new access token's digest (uncommitted) and has written many rows, so
    // InnoDB rolls back the smaller transaction, the CALL's, when the two wait on each other.
    await blocker.query('START TRANSACTION');
    for (let i = 0; i < 50; i += 1) {
      await blocker.query('INSERT INTO portcullis_oauth1_nonces (nonce_key, client_id, expires_at) VALUES (?, ?, ?)', [`${randomBytes(8).toString('hex')}`, 'c', 1]);
    }
    const held = fx.accessToken({ digest: next.access.digest });
    await blocker.query(
      'INSERT INTO portcullis_access_tokens (id, digest, client_id, user_id, scope, family_id, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [held.id, held.digest, held.clientId, held.userId, '[]', held.familyId, 1, 2],
    );

    // The CALL consumes the old refresh token (a row lock), then waits on the held digest.
    const rotation = storage.rotateRefreshToken(old.refresh.id, new Date(), next.access, next.refresh);
    for (let i = 0; i < 100 && (await count(plain, 'information_schema.INNODB_TRX', "trx_state = 'LOCK WAIT'", [])) === 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Now the blocker wants the row the CALL holds: a deadlock, and the CALL is the victim.
    await blocker.query('UPDATE portcullis_refresh_tokens SET revoked_at = NULL WHERE id = ?', [old.refresh.id]);
    t.pass('the blocker got the row lock: InnoDB rolled the CALL back');
    await blocker.query('ROLLBACK');

    t.equal(await rotation, true, 'the second attempt rotated');
    t.ok(Number(await consumedAt(plain, old.refresh.id)) > 0);
    t.equal(await count(plain, 'portcullis_access_tokens', 'id = ?', [next.access.id]), 1, 'with the new access token');
    t.equal(await count(plain, 'portcullis_access_tokens', 'id = ?', [held.id]), 0, "and not the blocker's");
  });
});

t.test('MariaDB write procedures in a database whose defaults are latin1', async (t) => {
  // The procedures declare their own character set and collation: the database's defaults
  // neither mangle text nor make digests match regardless of case.
  const { db } = await openMigratedMysql(t, { prefix: 'portcullis_latin1', charset: 'latin1 COLLATE latin1_swedish_ci' });
  const storage = createKyselyStorage(db);
  const fx = new StorageFixtures();
  const userId = 'Zoë 漢字 🙂';

  const { access, refresh } = fx.tokenPair({ userId, scope: ['read', 'écrire'] });
  await storage.saveTokens(access, refresh);
  t.strictSame(await storage.findAccessToken(access.digest), access, 'saved through the CALL, text intact');
  t.strictSame(await storage.findRefreshToken(refresh.digest), refresh);

  const next = fx.tokenPair({ userId, familyId: refresh.familyId });
  t.equal(await storage.rotateRefreshToken(refresh.id, new Date(), next.access, next.refresh), true);
  t.strictSame(await storage.findRefreshToken(next.refresh.digest), next.refresh, 'rotated, text intact');

  const code = fx.authorizationCode({ userId, digest: 'CaseMatters-AbCdEf0123456789-digest-of-a-code' });
  await storage.saveAuthorizationCode(code);
  t.strictSame(await storage.consumeAuthorizationCode(code.digest.toLowerCase(), new Date()), { status: 'missing' }, 'digests compare exactly');
  t.equal((await storage.consumeAuthorizationCode(code.digest, new Date())).status, 'consumed');
});

t.test('MariaDB privileges: migrating needs CREATE ROUTINE, the store needs EXECUTE', async (t) => {
  const database = await createMysqlTestDatabase('portcullis_grants');
  const user = `portcullis_app_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  const admin = await createConnection(MYSQL_SERVER);
  const opened: { destroy(): Promise<void> }[] = [];
  t.teardown(async () => {
    for (const db of opened) await db.destroy();
    await admin.query(`DROP USER IF EXISTS '${user}'@'${MYSQL_SERVER.host}'`);
    await admin.end();
    await database.drop();
  });
  await admin.query(`CREATE USER '${user}'@'${MYSQL_SERVER.host}' IDENTIFIED BY '${password}'`);
  await admin.query(
    `GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER ON \`${database.name}\`.* TO '${user}'@'${MYSQL_SERVER.host}'`,
  );
  const asUser = async () => {
    const db = await createDatabase(`mysql://${user}:${password}@${MYSQL_SERVER.host}:${MYSQL_SERVER.port}/${database.name}`);
    opened.push(db);
    return db;
  };

  const error = await rejection(migrate(await asUser()));
  t.type(error, StorageError);
  t.equal(error.message, 'Portcullis migration failed at 0003_mysql_write_procedures; see the cause.', 'the message names the migration');
  t.notMatch(error.message, user, 'and no driver text');

  const root = await createDatabase(database.url);
  opened.push(root);
  t.strictSame(
    await migrate(root),
    { executed: [...PROCEDURE_MIGRATIONS, ...MIGRATIONS_AFTER_PROCEDURES] },
    'an account with CREATE ROUTINE finishes the job',
  );

  const fx = new StorageFixtures();
  const { access, refresh } = fx.tokenPair();
  const refused = await rejection(createKyselyStorage(await asUser()).saveTokens(access, refresh));
  t.equal(refused.message, 'The database failed during saveTokens.', 'without EXECUTE the CALL is refused');
  t.equal(refused.cause.code, 'ER_PROCACCESS_DENIED_ERROR');
  await admin.query(`GRANT EXECUTE ON \`${database.name}\`.* TO '${user}'@'${MYSQL_SERVER.host}'`);
  const storage = createKyselyStorage(await asUser());
  await storage.saveTokens(access, refresh);
  t.strictSame(await storage.findRefreshToken(refresh.digest), refresh, 'with EXECUTE it works');
});
