import { randomBytes } from 'node:crypto';
import { digestSecret, generateId } from '@portcullis/core';
import type { Database, NewAccessTokenRow } from '@portcullis/kysely';
import { sql, type Kysely } from 'kysely';
import type { Store } from '../protocol.js';

const TABLE = 'portcullis_access_tokens';
/** Rows per INSERT of the portable path: large enough to be quick, small enough for max_allowed_packet. */
const BATCH = 2000;
/** Rows per INSERT ... SELECT of MariaDB's path. */
const CHUNK = 100_000;
/** Filler tokens belong to this many users, as live tokens of a real service do. */
const FILLER_USERS = 10_000;

interface SecondaryIndex {
  name: string;
  unique: boolean;
  /** Its columns in order, with their prefix lengths where the index has one. */
  columns: string[];
}

/**
 * The scale mode's filler: live access tokens that nobody presents, written straight into the
 * store's table (issuing a million through the core, one INSERT each, would take longer than the
 * whole suite). Rows have the shape the store writes: base64url SHA-256 digests, JSON scope,
 * millisecond timestamps, and ids and family ids that sort by time as `generateId`'s do, so they
 * append to those B-trees as production's do.
 *
 * The table's secondary indexes are dropped first and built again afterwards, as they were (same
 * names, columns and uniqueness): InnoDB builds an index by sorting, where a million random digest
 * inserts outgrow the default 128 MiB buffer pool at about half a million rows and slow to disk
 * speed. A million rows took about 150 s by multi-row INSERTs into the indexed table, and take
 * about 18 s this way when MariaDB generates them itself (its SEQUENCE engine). The filler is
 * keyed as tokens made before tokens carried their time were, by digest alone: spread over the
 * whole digest index, the harder case for S2's lookups (production's keys now sort by time, and
 * the tokens in use are the recent ones at its end). A sorted build packs the index pages fuller
 * than random inserts leave them, which makes it somewhat smaller.
 */
export async function insertLiveTokens(db: unknown, store: Store, clientId: string, count: number): Promise<void> {
  const kysely = db as Kysely<Database>;
  if (store === 'postgres') return insertPostgresLiveTokens(kysely, clientId, count);
  const indexes = await readSecondaryIndexes(kysely);
  await alterTable(kysely, indexes.map((index) => `drop index \`${index.name}\``));
  try {
    if (await hasSequenceEngine(kysely)) await generateInDatabase(kysely, clientId, count);
    else await insertInBatches(kysely, clientId, count);
  } finally {
    await alterTable(
      kysely,
      indexes.map((index) => `add ${index.unique ? 'unique ' : ''}index \`${index.name}\` (${index.columns.join(', ')})`),
    );
  }
}

async function readSecondaryIndexes(db: Kysely<Database>): Promise<SecondaryIndex[]> {
  const { rows } = await sql<{ name: string; nonUnique: number; column: string; prefix: number | null }>`
    select index_name as name, non_unique as nonUnique, column_name as \`column\`, sub_part as prefix
    from information_schema.statistics
    where table_schema = database() and table_name = ${TABLE} and index_name <> 'PRIMARY'
    order by index_name, seq_in_index`.execute(db);
  const byName = new Map<string, SecondaryIndex>();
  for (const row of rows) {
    const index = byName.get(row.name) ?? { name: row.name, unique: Number(row.nonUnique) === 0, columns: [] };
    index.columns.push(row.prefix === null ? `\`${row.column}\`` : `\`${row.column}\`(${row.prefix})`);
    byName.set(row.name, index);
  }
  return [...byName.values()];
}

async function alterTable(db: Kysely<Database>, clauses: string[]): Promise<void> {
  if (clauses.length > 0) await sql.raw(`alter table ${TABLE} ${clauses.join(', ')}`).execute(db);
}

async function hasSequenceEngine(db: Kysely<Database>): Promise<boolean> {
  const { rows } = await sql<{ found: number }>`
    select count(*) as found from information_schema.engines
    where engine = 'SEQUENCE' and support in ('YES', 'DEFAULT')`.execute(db);
  return Number(rows[0]?.found ?? 0) > 0;
}

/**
 * MariaDB: rows made by the server from its `seq_1_to_n` tables, so nothing crosses the socket
 * but the statements. Each row's digest is the SHA-256 of a random salt and its number, in the
 * base64url the core writes; ids are the moment's `generateId` time prefix and the row number.
 */
async function generateInDatabase(db: Kysely<Database>, clientId: string, count: number): Promise<void> {
  const issuedAt = Date.now();
  const expiresAt = issuedAt + 24 * 3600 * 1000;
  const timePrefix = generateId().slice(0, 10);
  const salt = randomBytes(16).toString('hex');
  for (let first = 1; first <= count; first += CHUNK) {
    const last = Math.min(count, first + CHUNK - 1);
    const numbers = sql.raw(`seq_${first}_to_${last}`);
    await sql`
      insert into portcullis_access_tokens (id, digest, client_id, user_id, scope, audience, family_id, issued_at, expires_at, revoked_at)
      select concat(${timePrefix}, lpad(seq, 16, '0')),
             replace(replace(trim(trailing '=' from to_base64(unhex(sha2(concat(${salt}, seq), 256)))), '+', '-'), '/', '_'),
             ${clientId}, concat('filler-', seq % ${FILLER_USERS}), '["read"]', '[]',
             concat(${timePrefix}, lpad(seq, 16, '0')), ${issuedAt}, ${expiresAt}, null
      from ${numbers}`.execute(db);
  }
}

/**
 * PostgreSQL: the same rows, made by the server in one `INSERT ... SELECT` from `generate_series`,
 * with the table's secondary indexes dropped first and built again after from their own
 * definitions (`pg_get_indexdef`); indexes behind a constraint (the primary key) stay. Then
 * `ANALYZE`, as autovacuum would do soon after such a load, so S2's lookups are planned on a
 * table of a million rows and not on the statistics of an empty one.
 */
async function insertPostgresLiveTokens(db: Kysely<Database>, clientId: string, count: number): Promise<void> {
  const { rows: indexes } = await sql<{ name: string; definition: string }>`
    select c.relname as name, pg_get_indexdef(i.indexrelid) as definition
    from pg_index i join pg_class c on c.oid = i.indexrelid
    where i.indrelid = ${TABLE}::regclass
      and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)`.execute(db);
  for (const index of indexes) await sql`drop index ${sql.id(index.name)}`.execute(db);
  try {
    const issuedAt = Date.now();
    const expiresAt = issuedAt + 24 * 3600 * 1000;
    const timePrefix = generateId().slice(0, 10);
    const salt = randomBytes(16).toString('hex');
    await sql`
      insert into portcullis_access_tokens (id, digest, client_id, user_id, scope, audience, family_id, issued_at, expires_at, revoked_at)
      select ${timePrefix}::text || lpad(n::text, 16, '0'),
             rtrim(translate(encode(sha256(convert_to(${salt}::text || n::text, 'UTF8')), 'base64'), '+/', '-_'), '='),
             ${clientId}::text, 'filler-' || (n % ${FILLER_USERS}::int)::text, '["read"]', '[]',
             ${timePrefix}::text || lpad(n::text, 16, '0'), ${issuedAt}::bigint, ${expiresAt}::bigint, null
      from generate_series(1, ${count}::int) as n`.execute(db);
  } finally {
    for (const index of indexes) await sql.raw(index.definition).execute(db);
  }
  await sql`analyze portcullis_access_tokens`.execute(db);
}

/** Anywhere else (MySQL): multi-row INSERTs of rows made here. */
async function insertInBatches(db: Kysely<Database>, clientId: string, count: number): Promise<void> {
  const issuedAt = Date.now();
  const expiresAt = issuedAt + 24 * 3600 * 1000;
  for (let done = 0; done < count; done += BATCH) {
    const rows: NewAccessTokenRow[] = [];
    for (let i = 0; i < Math.min(BATCH, count - done); i += 1) {
      rows.push({
        id: generateId(),
        digest: digestSecret(`pca_${randomBytes(32).toString('base64url')}`),
        client_id: clientId,
        user_id: `filler-${(done + i) % FILLER_USERS}`,
        scope: '["read"]',
        audience: '[]',
        family_id: generateId(),
        issued_at: issuedAt,
        expires_at: expiresAt,
        revoked_at: null,
      });
    }
    await db.insertInto(TABLE).values(rows).execute();
  }
}
