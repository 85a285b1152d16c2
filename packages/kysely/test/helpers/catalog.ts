import { sql } from 'kysely';
import type { AnyKysely } from '@portcullis/kysely';
import type { ExpectedTable } from './expected-schema.js';

// What the database's own catalog says: tables, columns, primary keys and indexes.
export type Catalog = Record<string, ExpectedTable>;

export async function readSqliteCatalog(db: AnyKysely): Promise<Catalog> {
  const tables = await sql<{ name: string }>`
    SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`.execute(db);
  const catalog: Catalog = {};
  for (const { name } of tables.rows) {
    const columns = await sql<{ name: string; pk: number }>`SELECT name, pk FROM pragma_table_info(${name}) ORDER BY cid`.execute(db);
    const indexes = await sql<{ index_name: string; unique: number; origin: string; column_name: string; seqno: number }>`
      SELECT il.name AS index_name, il."unique" AS "unique", il.origin AS origin, ii.name AS column_name, ii.seqno AS seqno
      FROM pragma_index_list(${name}) AS il JOIN pragma_index_info(il.name) AS ii
      ORDER BY il.name, ii.seqno`.execute(db);
    const entry: ExpectedTable = {
      columns: columns.rows.map((column) => column.name),
      primaryKey: columns.rows.filter((column) => column.pk > 0).sort((a, b) => a.pk - b.pk).map((column) => column.name),
      indexes: {},
    };
    for (const row of indexes.rows) {
      if (row.origin === 'pk') continue; // the primary key's own index, covered by primaryKey
      const index = (entry.indexes[row.index_name] ??= { columns: [], unique: row.unique === 1 });
      index.columns.push(row.column_name);
    }
    catalog[name] = entry;
  }
  return catalog;
}

export async function readMysqlCatalog(db: AnyKysely): Promise<Catalog> {
  const columns = await sql<{ table_name: string; column_name: string }>`
    SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION`.execute(db);
  const stats = await sql<{ table_name: string; index_name: string; non_unique: number | string; column_name: string }>`
    SELECT TABLE_NAME AS table_name, INDEX_NAME AS index_name, NON_UNIQUE AS non_unique, COLUMN_NAME AS column_name
    FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()
    ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`.execute(db);
  const catalog: Catalog = {};
  for (const row of columns.rows) {
    (catalog[row.table_name] ??= { columns: [], primaryKey: [], indexes: {} }).columns.push(row.column_name);
  }
  for (const row of stats.rows) {
    const entry = catalog[row.table_name]!;
    if (row.index_name === 'PRIMARY') entry.primaryKey.push(row.column_name);
    else (entry.indexes[row.index_name] ??= { columns: [], unique: Number(row.non_unique) === 0 }).columns.push(row.column_name);
  }
  return catalog;
}

export async function readPostgresCatalog(db: AnyKysely): Promise<Catalog> {
  const columns = await sql<{ table_name: string; column_name: string }>`
    SELECT table_name, column_name FROM information_schema.columns
    WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`.execute(db);
  const keys = await sql<{ table_name: string; index_name: string; is_unique: boolean; is_primary: boolean; column_name: string }>`
    SELECT t.relname AS table_name, i.relname AS index_name, ix.indisunique AS is_unique,
      ix.indisprimary AS is_primary, a.attname AS column_name
    FROM pg_index ix
    JOIN pg_class t ON t.oid = ix.indrelid
    JOIN pg_class i ON i.oid = ix.indexrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
    WHERE n.nspname = current_schema()
    ORDER BY t.relname, i.relname, k.ord`.execute(db);
  const catalog: Catalog = {};
  for (const row of columns.rows) {
    (catalog[row.table_name] ??= { columns: [], primaryKey: [], indexes: {} }).columns.push(row.column_name);
  }
  for (const row of keys.rows) {
    const entry = catalog[row.table_name]!;
    if (row.is_primary) entry.primaryKey.push(row.column_name);
    else (entry.indexes[row.index_name] ??= { columns: [], unique: row.is_unique }).columns.push(row.column_name);
  }
  return catalog;
}
