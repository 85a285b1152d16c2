import type { OAuthStorage } from '@portcullis/core';

/**
 * The three functions of @portcullis/kysely the bench uses, typed here by what it needs of them,
 * so the bench states its expectations of that package in one place.
 */
interface KyselyPackage {
  createDatabase(url: string): Promise<{ destroy(): Promise<void> }>;
  migrate(db: unknown): Promise<unknown>;
  createKyselyStorage(db: unknown): OAuthStorage;
}

export interface OpenedStore {
  storage: OAuthStorage;
  /** The Kysely instance, for the scale mode's bulk inserts. */
  db: unknown;
  close(): Promise<void>;
}

/** Opens the store the way an application does: `createDatabase(url)`, `migrate(db)`, `createKyselyStorage(db)`. */
export async function openKyselyStore(url: string): Promise<OpenedStore> {
  const kysely = (await import('@portcullis/kysely')) as unknown as KyselyPackage;
  for (const name of ['createDatabase', 'migrate', 'createKyselyStorage'] as const) {
    if (typeof kysely[name] !== 'function') throw new Error(`@portcullis/kysely does not export ${name}() yet`);
  }
  const db = await kysely.createDatabase(url);
  await kysely.migrate(db);
  return { storage: kysely.createKyselyStorage(db), db, close: () => db.destroy() };
}
