import { MysqlAdapter } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * A Kysely instance over any schema. Kysely's own Migrator and Migration types take
 * `Kysely<any>`: migrations run before (and regardless of) the typed `Database` interface.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyKysely = Kysely<any>;

/** What the store's SQL may rely on, read from the instance's adapter. */
export interface Capabilities {
  /** `UPDATE ... RETURNING` (PostgreSQL, SQLite 3.35+): a consumed row comes back in the same statement. */
  readonly returning: boolean;
  /**
   * The upsert syntax: `ON DUPLICATE KEY UPDATE` on MySQL-compatible servers (MySQL, MariaDB,
   * TiDB, Vitess), `ON CONFLICT ... DO UPDATE` on PostgreSQL and SQLite.
   */
  readonly upsert: 'on-duplicate-key' | 'on-conflict';
}

/**
 * The one place the store's SQL differs by database, decided from the adapter (not the driver or
 * the URL), so any Kysely instance works however it was built.
 */
export function capabilitiesOf(db: AnyKysely): Capabilities {
  const adapter = db.getExecutor().adapter;
  return {
    returning: adapter.supportsReturning,
    upsert: adapter instanceof MysqlAdapter ? 'on-duplicate-key' : 'on-conflict',
  };
}
