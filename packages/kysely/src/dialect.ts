import { MysqlAdapter } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * A Kysely instance over any schema. Kysely's own Migrator and Migration types take
 * `Kysely<any>`: migrations run before (and regardless of) the typed `Database` interface.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyKysely = Kysely<any>;

/**
 * The few places the SQL differs (upsert syntax, table options) ask this. Detected from the
 * adapter so any Kysely instance works, however it was built.
 */
export function isMysql(db: AnyKysely): boolean {
  return db.getExecutor().adapter instanceof MysqlAdapter;
}
