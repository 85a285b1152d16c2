import { sql } from 'kysely';
import type { CompiledQuery, Kysely, QueryResult, Transaction } from 'kysely';
import { digestSecret, withClientCache, type ClientCacheOptions } from '@portcullis/core';
import type {
  AccessTokenRecord,
  AuthorizationCodeRecord,
  ClientRecord,
  ClientUpdate,
  ClientUpdateCondition,
  ConsentRecord,
  ConsumeResult,
  DeviceCodeRecord,
  GrantSummary,
  NonceRecord,
  OAuth1AccessTokenRecord,
  OAuthStorage,
  PurgeResult,
  RefreshTokenRecord,
  RequestTokenRecord,
  ScopeRecord,
  SigningKeyRecord,
  TokenListFilter,
} from '@portcullis/core';
import type { ClientRowUpdate, Database, NewOAuth1NonceRow } from './database.js';
import { capabilitiesOf, type Capabilities } from './dialect.js';
import { isDeadlock, isDuplicateKey, toStorageError } from './driver-errors.js';
import type { PreparedStatement } from './prepared-statement.js';
import { COLUMNS, prepareStorageStatements } from './storage-statements.js';
import type { RedemptionRows, StorageStatements } from './storage-statements.js';
import {
  fromAccessTokenRow,
  fromAuthorizationCodeRow,
  fromClientRow,
  fromConsentRow,
  fromDeviceCodeRow,
  fromList,
  fromMillis,
  fromOAuth1AccessTokenRow,
  fromRefreshTokenRow,
  fromRequestTokenRow,
  fromSigningKeyRow,
  toAccessTokenRow,
  toAuthorizationCodeRow,
  toClientRow,
  toConsentRow,
  toDeviceCodeRow,
  toFlag,
  toList,
  toMetadata,
  toMillis,
  toNullableMillis,
  toOAuth1AccessTokenRow,
  toRefreshTokenRow,
  toRequestTokenRow,
  toSigningKeyRow,
} from './row-mapping.js';

const DEFAULT_PURGE_BATCH_SIZE = 1000;
// Bound on the ids in one `IN (...)`: far below SQLite's variable limit and MySQL's packet size.
const MAX_IDS_PER_STATEMENT = 1000;
// OFFSET needs a LIMIT on both dialects; this one means "no limit".
const NO_LIMIT = Number.MAX_SAFE_INTEGER;
const DEADLOCK_ATTEMPTS = 3;

/** The storage port of @portcullis/core on any Kysely instance over the Portcullis schema. */
export interface KyselyStorageOptions {
  /**
   * Client records served from memory (core's `withClientCache`): every token, introspection and
   * OAuth 1.0a request looks its client up. Writes through this storage are seen at once, writes
   * by another process within `ttlMs` (default 5000). `false` reads the database every time.
   */
  clientCache?: ClientCacheOptions | false;
}

export function createKyselyStorage(db: Kysely<Database>, options: KyselyStorageOptions = {}): OAuthStorage {
  const storage = new KyselyStorage(db);
  return options.clientCache === false ? storage : withClientCache(storage, options.clientCache);
}

class KyselyStorage implements OAuthStorage {
  readonly #db: Kysely<Database>;
  readonly #capabilities: Capabilities;

  /**
   * The request path's statements, built once: building a Kysely query costs about as much as
   * running it on SQLite, and these only ever differ in their values.
   */
  readonly #statements: StorageStatements;

  constructor(db: Kysely<Database>) {
    this.#db = db;
    this.#capabilities = capabilitiesOf(db);
    this.#statements = prepareStorageStatements(db, this.#capabilities);
  }

  /** Runs one operation; anything the driver throws leaves as a StorageError with the driver's error as cause. */
  async #run<T>(operation: string, work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    try {
      return await work(this.#db);
    } catch (error) {
      throw toStorageError(operation, error);
    }
  }

  /** One prepared statement as a whole operation. */
  async #execute<Args, Row>(operation: string, statement: PreparedStatement<Args, Row>, args: Args): Promise<QueryResult<Row>> {
    const query = statement.compile(args);
    return this.#run(operation, (db) => db.executeQuery(query));
  }

  /** The row a prepared lookup by a unique key finds, if any. */
  async #find<Row>(operation: string, statement: PreparedStatement<string, Row>, key: string): Promise<Row | undefined> {
    return (await this.#execute(operation, statement, key)).rows[0];
  }

  /**
   * Statements that succeed or fail together, in one transaction, run again from the start if the
   * server picks it as a deadlock victim or fails it for serialization: the server has rolled it
   * back, so nothing of the first attempt remains.
   */
  async #transaction<T>(operation: string, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.#run(operation, async (db) => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await db.transaction().execute(work);
        } catch (error) {
          if (attempt >= DEADLOCK_ATTEMPTS || !isDeadlock(error)) throw error;
        }
      }
    });
  }

  /**
   * Compiled statements run in order in one transaction: the total of the rows they changed.
   * `uncounted` run after them in the same transaction, their rows left out of the total.
   */
  async #changeAll(operation: string, statements: CompiledQuery[], uncounted: CompiledQuery[] = []): Promise<number> {
    return this.#transaction(operation, async (trx) => {
      let changed = 0;
      for (const statement of statements) changed += changedRows(await trx.executeQuery(statement));
      for (const statement of uncounted) await trx.executeQuery(statement);
      return changed;
    });
  }

  /** The token rows of one issuance: the access token, and the refresh token when there is one. */
  async #insertTokens(trx: Transaction<Database>, rows: RedemptionRows): Promise<void> {
    await trx.executeQuery(this.#statements.insertAccessToken.compile(rows.access));
    if (rows.refresh !== null) await trx.executeQuery(this.#statements.insertRefreshToken.compile(rows.refresh));
  }

  /**
   * A single-use credential's conditional UPDATE and, only if it changed the row, the tokens it
   * buys, in one transaction: false (saving nothing) when another caller consumed it first. The
   * UPDATE's row lock makes a concurrent caller wait for this transaction; its own UPDATE then
   * finds the row consumed and changes nothing.
   */
  async #consumeAndSave(operation: string, consume: CompiledQuery, rows: RedemptionRows): Promise<boolean> {
    return this.#transaction(operation, async (trx) => {
      if (changedRows(await trx.executeQuery(consume)) === 0) return false;
      // A failing insert throws, which rolls the consumption back too.
      await this.#insertTokens(trx, rows);
      return true;
    });
  }

  // Clients

  async createClient(client: ClientRecord): Promise<void> {
    await this.#run('createClient', (db) => db.insertInto('portcullis_clients').values(toClientRow(client)).execute());
  }

  async findClient(id: string): Promise<ClientRecord | null> {
    const row = await this.#find('findClient', this.#statements.findClient, id);
    return row ? fromClientRow(row) : null;
  }

  async updateClient(id: string, update: ClientUpdate, expected?: ClientUpdateCondition): Promise<ClientRecord | null> {
    const set = toClientRowUpdate(update);
    const condition = expected?.registrationTokenDigest;
    const writes = Object.keys(set).length > 0;
    return this.#run('updateClient', async (db) => {
      // One UPDATE of the given columns only: concurrent updates of different fields both land.
      // With a condition its affected-row count decides, so of two writers only one matches.
      if (writes) {
        let write = db.updateTable('portcullis_clients').set(set).where('id', '=', id);
        if (condition !== undefined) write = write.where('registration_token_digest', '=', condition);
        const result = await write.executeTakeFirst();
        if (condition !== undefined && Number(result.numUpdatedRows) === 0) return null;
      }
      let read = db.selectFrom('portcullis_clients').select(COLUMNS.portcullis_clients).where('id', '=', id);
      // Nothing written: the condition is checked by the read (a write may have replaced the digest).
      if (!writes && condition !== undefined) read = read.where('registration_token_digest', '=', condition);
      const row = await read.executeTakeFirst();
      return row ? fromClientRow(row) : null;
    });
  }

  async deleteClient(id: string): Promise<boolean> {
    const result = await this.#run('deleteClient', (db) => db.deleteFrom('portcullis_clients').where('id', '=', id).executeTakeFirst());
    return Number(result.numDeletedRows) > 0;
  }

  async countUnusedClients(now: Date): Promise<number> {
    const row = await this.#run('countUnusedClients', (db) =>
      db
        .selectFrom('portcullis_clients')
        .select((eb) => eb.fn.countAll().as('count'))
        .where('unused_expires_at', '>', toMillis(now))
        .executeTakeFirstOrThrow(),
    );
    return Number(row.count);
  }

  async listClients(): Promise<ClientRecord[]> {
    const rows = await this.#run('listClients', (db) =>
      db.selectFrom('portcullis_clients').select(COLUMNS.portcullis_clients).orderBy('created_at', 'asc').orderBy('id', 'asc').execute(),
    );
    return rows.map(fromClientRow);
  }

  // Scopes

  async saveScopes(scopes: ScopeRecord[]): Promise<void> {
    if (scopes.length === 0) return;
    const rows = scopes.map((scope) => ({ name: scope.name, description: scope.description }));
    await this.#run('saveScopes', async (db) => {
      const insert = db.insertInto('portcullis_scopes').values(rows);
      // One statement either way; only the upsert syntax differs.
      await (this.#capabilities.upsert === 'on-duplicate-key'
        ? insert.onDuplicateKeyUpdate({ description: sql`values(description)` })
        : insert.onConflict((conflict) =>
            conflict.column('name').doUpdateSet({ description: (eb) => eb.ref('excluded.description') }),
          )
      ).execute();
    });
  }

  async listScopes(): Promise<ScopeRecord[]> {
    return this.#run('listScopes', (db) =>
      db.selectFrom('portcullis_scopes').select(['name', 'description']).orderBy('name', 'asc').execute(),
    );
  }

  // Authorization codes

  async saveAuthorizationCode(code: AuthorizationCodeRecord): Promise<void> {
    await this.#execute('saveAuthorizationCode', this.#statements.insertAuthorizationCode, toAuthorizationCodeRow(code));
  }

  async consumeAuthorizationCode(digest: string, now: Date): Promise<ConsumeResult<AuthorizationCodeRecord>> {
    // The conditional UPDATE decides: only one caller can move consumed_at from NULL.
    const args = { key: digest, now: toMillis(now) };
    const { claimAuthorizationCode, consumeAuthorizationCode, findAuthorizationCode } = this.#statements;
    return this.#run('consumeAuthorizationCode', async (db) => {
      if (claimAuthorizationCode !== null) {
        // The row comes back from the UPDATE itself when this call consumed it.
        const claimed = (await db.executeQuery(claimAuthorizationCode.compile(args))).rows[0];
        if (claimed) return { status: 'consumed', record: fromAuthorizationCodeRow(claimed) };
        const row = (await db.executeQuery(findAuthorizationCode.compile(digest))).rows[0];
        return row ? { status: 'reused', record: fromAuthorizationCodeRow(row) } : { status: 'missing' };
      }
      const update = await db.executeQuery(consumeAuthorizationCode.compile(args));
      const row = (await db.executeQuery(findAuthorizationCode.compile(digest))).rows[0];
      if (!row) return { status: 'missing' };
      return { status: changedRows(update) > 0 ? 'consumed' : 'reused', record: fromAuthorizationCodeRow(row) };
    });
  }

  async findAuthorizationCode(digest: string): Promise<AuthorizationCodeRecord | null> {
    const row = await this.#find('findAuthorizationCode', this.#statements.findAuthorizationCode, digest);
    return row ? fromAuthorizationCodeRow(row) : null;
  }

  async redeemAuthorizationCode(
    codeId: string,
    now: Date,
    access: AccessTokenRecord,
    refresh: RefreshTokenRecord | null,
  ): Promise<boolean> {
    const consumption = { key: codeId, now: toMillis(now) };
    return this.#consumeAndSave(
      'redeemAuthorizationCode',
      this.#statements.redeemAuthorizationCode.compile(consumption),
      toTokenRows(access, refresh),
    );
  }

  async listAuthorizationCodes(filter: TokenListFilter): Promise<AuthorizationCodeRecord[]> {
    checkPaging(filter);
    const { clientId, userId, liveAt } = filter;
    const rows = await this.#run('listAuthorizationCodes', (db) =>
      page(
        db
          .selectFrom('portcullis_authorization_codes')
          .select(COLUMNS.portcullis_authorization_codes)
          .$if(clientId !== undefined, (qb) => qb.where('client_id', '=', clientId!))
          .$if(userId !== undefined, (qb) => qb.where('user_id', '=', userId!))
          .$if(liveAt !== undefined, (qb) =>
            qb.where('consumed_at', 'is', null).where('expires_at', '>', toMillis(liveAt!)),
          )
          .orderBy('issued_at', 'desc')
          .orderBy('id', 'asc'),
        filter,
      ).execute(),
    );
    return rows.map(fromAuthorizationCodeRow);
  }

  // Device authorizations (RFC 8628)

  async saveDeviceCode(code: DeviceCodeRecord): Promise<boolean> {
    try {
      // The unique keys on both digests refuse a code already stored: check and save are one INSERT.
      await this.#db.insertInto('portcullis_device_codes').values(toDeviceCodeRow(code)).execute();
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw toStorageError('saveDeviceCode', error);
    }
  }

  async findDeviceCode(digest: string): Promise<DeviceCodeRecord | null> {
    return this.#findDeviceCodeBy('findDeviceCode', 'digest', digest);
  }

  async findDeviceCodeByUserCode(userCodeDigest: string): Promise<DeviceCodeRecord | null> {
    return this.#findDeviceCodeBy('findDeviceCodeByUserCode', 'user_code_digest', userCodeDigest);
  }

  async #findDeviceCodeBy(operation: string, column: 'digest' | 'user_code_digest', value: string): Promise<DeviceCodeRecord | null> {
    const row = await this.#run(operation, (db) =>
      db.selectFrom('portcullis_device_codes').select(COLUMNS.portcullis_device_codes).where(column, '=', value).executeTakeFirst(),
    );
    return row ? fromDeviceCodeRow(row) : null;
  }

  async decideDeviceCode(id: string, decision: { status: 'approved' | 'denied'; userId: string; scope: string[] }): Promise<boolean> {
    const update = await this.#run('decideDeviceCode', (db) =>
      db
        .updateTable('portcullis_device_codes')
        .set({ status: decision.status, user_id: decision.userId, scope: toList(decision.scope) })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst(),
    );
    return Number(update.numUpdatedRows) > 0;
  }

  async recordDeviceCodePoll(id: string, previous: Date | null, now: Date, interval: number): Promise<boolean> {
    const update = await this.#run('recordDeviceCodePoll', (db) =>
      db
        .updateTable('portcullis_device_codes')
        .set({ last_polled_at: toMillis(now), poll_interval: interval })
        .where('id', '=', id)
        .where('last_polled_at', previous === null ? 'is' : '=', toNullableMillis(previous))
        .executeTakeFirst(),
    );
    return Number(update.numUpdatedRows) > 0;
  }

  async redeemDeviceCode(id: string, now: Date, access: AccessTokenRecord, refresh: RefreshTokenRecord | null): Promise<boolean> {
    const consume = this.#db
      .updateTable('portcullis_device_codes')
      .set({ consumed_at: toMillis(now) })
      .where('id', '=', id)
      .where('status', '=', 'approved')
      .where('consumed_at', 'is', null)
      .compile();
    return this.#consumeAndSave('redeemDeviceCode', consume, toTokenRows(access, refresh));
  }

  // Access and refresh tokens

  async saveTokens(access: AccessTokenRecord, refresh: RefreshTokenRecord | null): Promise<void> {
    if (refresh === null) {
      await this.#execute('saveTokens', this.#statements.insertAccessToken, toAccessTokenRow(access));
      return;
    }
    const rows = toTokenRows(access, refresh);
    await this.#transaction('saveTokens', (trx) => this.#insertTokens(trx, rows));
  }

  async findAccessToken(digest: string): Promise<AccessTokenRecord | null> {
    // The hot path of every resource request: one SELECT on the unique digest index.
    const row = await this.#find('findAccessToken', this.#statements.findAccessToken, digest);
    return row ? fromAccessTokenRow(row) : null;
  }

  async findRefreshToken(digest: string): Promise<RefreshTokenRecord | null> {
    const row = await this.#find('findRefreshToken', this.#statements.findRefreshToken, digest);
    return row ? fromRefreshTokenRow(row) : null;
  }

  async rotateRefreshToken(
    refreshTokenId: string,
    now: Date,
    access: AccessTokenRecord,
    refresh: RefreshTokenRecord,
  ): Promise<boolean> {
    const consumption = { key: refreshTokenId, now: toMillis(now) };
    return this.#consumeAndSave(
      'rotateRefreshToken',
      this.#statements.consumeRefreshToken.compile(consumption),
      toTokenRows(access, refresh),
    );
  }

  async reissueRefreshToken(
    refreshTokenId: string,
    consumedSince: Date,
    access: AccessTokenRecord,
    refresh: RefreshTokenRecord,
  ): Promise<boolean> {
    // Retries are rare: built per call. The count changes on every reissue, so every dialect
    // reports the row as affected, and the UPDATE holds the row lock a concurrent revokeFamily
    // also needs.
    const check = this.#db
      .updateTable('portcullis_refresh_tokens')
      .set((eb) => ({ reissue_count: eb('reissue_count', '+', 1) }))
      .where('id', '=', refreshTokenId)
      .where('revoked_at', 'is', null)
      .where('consumed_at', '>=', toMillis(consumedSince))
      .compile();
    return this.#consumeAndSave('reissueRefreshToken', check, toTokenRows(access, refresh));
  }

  async revokeAccessToken(id: string, now: Date): Promise<boolean> {
    const update = await this.#execute('revokeAccessToken', this.#statements.revokeAccessToken, {
      key: id,
      now: toMillis(now),
    });
    return changedRows(update) > 0;
  }

  async revokeFamily(familyId: string, now: Date): Promise<number> {
    // Replays are rare: built per call, found through the family_id index of each table.
    const at = toMillis(now);
    const db = this.#db;
    const refresh = db
      .updateTable('portcullis_refresh_tokens')
      .set({ revoked_at: at })
      .where('family_id', '=', familyId)
      .where('revoked_at', 'is', null)
      .compile();
    // The refresh tokens first: their row locks wait for a rotation or reissue of the family in
    // flight. Its new tokens are visible only to later statements (PostgreSQL's READ COMMITTED
    // takes a snapshot per statement), so the access tokens come next and the refresh tokens again.
    return this.#changeAll('revokeFamily', [
      refresh,
      db
        .updateTable('portcullis_access_tokens')
        .set({ revoked_at: at })
        .where('family_id', '=', familyId)
        .where('revoked_at', 'is', null)
        .compile(),
      refresh,
    ]);
  }

  async revokeTokens(
    filter: { clientId: string; userId?: string | null; scope?: string[]; accessOnly?: boolean },
    now: Date,
  ): Promise<number> {
    const at = toMillis(now);
    const { clientId, userId, scope } = filter;
    return this.#transaction('revokeTokens', async (trx) => {
      let changed = 0;

      const liveAccess = trx
        .updateTable('portcullis_access_tokens')
        .set({ revoked_at: at })
        .where('client_id', '=', clientId)
        .$if(userId !== undefined, (qb) => qb.where('user_id', userId === null ? 'is' : '=', userId ?? null))
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', at);
      if (scope === undefined) {
        changed += Number((await liveAccess.executeTakeFirst()).numUpdatedRows);
      } else {
        // Scope is a set stored as JSON text: the match is made here, then the rows revoked by id.
        const candidates = await trx
          .selectFrom('portcullis_access_tokens')
          .select(['id', 'scope'])
          .where('client_id', '=', clientId)
          .$if(userId !== undefined, (qb) => qb.where('user_id', userId === null ? 'is' : '=', userId ?? null))
          .where('revoked_at', 'is', null)
          .where('expires_at', '>', at)
          .execute();
        for (const ids of chunk(matchingScope(candidates, scope))) {
          changed += Number((await liveAccess.where('id', 'in', ids).executeTakeFirst()).numUpdatedRows);
        }
      }
      if (filter.accessOnly) return changed;

      const liveRefresh = trx
        .updateTable('portcullis_refresh_tokens')
        .set({ revoked_at: at })
        .where('client_id', '=', clientId)
        .$if(userId !== undefined, (qb) => qb.where('user_id', userId === null ? 'is' : '=', userId ?? null))
        .where('revoked_at', 'is', null)
        .where('consumed_at', 'is', null)
        .where('expires_at', '>', at);
      if (scope === undefined) {
        changed += Number((await liveRefresh.executeTakeFirst()).numUpdatedRows);
      } else {
        const candidates = await trx
          .selectFrom('portcullis_refresh_tokens')
          .select(['id', 'scope'])
          .where('client_id', '=', clientId)
          .$if(userId !== undefined, (qb) => qb.where('user_id', userId === null ? 'is' : '=', userId ?? null))
          .where('revoked_at', 'is', null)
          .where('consumed_at', 'is', null)
          .where('expires_at', '>', at)
          .execute();
        for (const ids of chunk(matchingScope(candidates, scope))) {
          changed += Number((await liveRefresh.where('id', 'in', ids).executeTakeFirst()).numUpdatedRows);
        }
      }
      return changed;
    });
  }

  async revokeGrant(grant: { clientId: string; userId: string }, now: Date): Promise<number> {
    const at = toMillis(now);
    const { clientId, userId } = grant;
    const db = this.#db;
    const refresh = db
      .updateTable('portcullis_refresh_tokens')
      .set({ revoked_at: at })
      .where('client_id', '=', clientId)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', at)
      .compile();
    // Every table but the request tokens is reached through its (client_id, user_id) index;
    // request tokens live minutes and are purged, so theirs is a short scan. The refresh tokens
    // come first and again after the access tokens, as in revokeFamily: a rotation in flight
    // holds their row locks, and its new tokens are visible only to the later statements.
    return this.#changeAll('revokeGrant', [
      refresh,
      db
        .updateTable('portcullis_access_tokens')
        .set({ revoked_at: at })
        .where('client_id', '=', clientId)
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', at)
        .compile(),
      refresh,
      db
        .updateTable('portcullis_authorization_codes')
        .set({ consumed_at: at })
        .where('client_id', '=', clientId)
        .where('user_id', '=', userId)
        .where('consumed_at', 'is', null)
        .compile(),
      db
        .updateTable('portcullis_device_codes')
        .set({ consumed_at: at })
        .where('client_id', '=', clientId)
        .where('user_id', '=', userId)
        .where('status', '=', 'approved')
        .where('consumed_at', 'is', null)
        .compile(),
      db
        .updateTable('portcullis_oauth1_request_tokens')
        .set({ consumed_at: at })
        .where('client_id', '=', clientId)
        .where('user_id', '=', userId)
        .where('consumed_at', 'is', null)
        .compile(),
      db
        .updateTable('portcullis_oauth1_access_tokens')
        .set({ revoked_at: at })
        .where('client_id', '=', clientId)
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .compile(),
    ], [db.deleteFrom('portcullis_consents').where('user_id', '=', userId).where('client_id', '=', clientId).compile()]);
  }

  // Remembered consent

  async saveConsent(consent: ConsentRecord): Promise<void> {
    const row = toConsentRow(consent);
    await this.#run('saveConsent', async (db) => {
      const insert = db.insertInto('portcullis_consents').values(row);
      // One statement either way; only the upsert syntax differs. created_at stays the first approval's.
      await (this.#capabilities.upsert === 'on-duplicate-key'
        ? insert.onDuplicateKeyUpdate({ scope: row.scope, audience: row.audience, updated_at: row.updated_at })
        : insert.onConflict((conflict) =>
            conflict.columns(['user_id', 'client_id']).doUpdateSet({ scope: row.scope, audience: row.audience, updated_at: row.updated_at }),
          )
      ).execute();
    });
  }

  async findConsent(grant: { clientId: string; userId: string }): Promise<ConsentRecord | null> {
    const row = await this.#run('findConsent', (db) =>
      db
        .selectFrom('portcullis_consents')
        .selectAll()
        .where('user_id', '=', grant.userId)
        .where('client_id', '=', grant.clientId)
        .executeTakeFirst(),
    );
    return row ? fromConsentRow(row) : null;
  }

  async listConsents(filter: { clientId?: string; userId?: string }): Promise<ConsentRecord[]> {
    const { clientId, userId } = filter;
    const rows = await this.#run('listConsents', (db) =>
      db
        .selectFrom('portcullis_consents')
        .selectAll()
        .$if(clientId !== undefined, (qb) => qb.where('client_id', '=', clientId!))
        .$if(userId !== undefined, (qb) => qb.where('user_id', '=', userId!))
        .orderBy('updated_at', 'desc')
        .orderBy('client_id', 'asc')
        .orderBy('user_id', 'asc')
        .execute(),
    );
    return rows.map(fromConsentRow);
  }

  async deleteConsents(filter: { clientId: string; userId?: string }): Promise<number> {
    const { clientId, userId } = filter;
    const result = await this.#run('deleteConsents', (db) =>
      db
        .deleteFrom('portcullis_consents')
        .where('client_id', '=', clientId)
        .$if(userId !== undefined, (qb) => qb.where('user_id', '=', userId!))
        .executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }

  async listAccessTokens(filter: TokenListFilter): Promise<AccessTokenRecord[]> {
    checkPaging(filter);
    const { clientId, userId, liveAt } = filter;
    const rows = await this.#run('listAccessTokens', (db) =>
      page(
        db
          .selectFrom('portcullis_access_tokens')
          .select(COLUMNS.portcullis_access_tokens)
          .$if(clientId !== undefined, (qb) => qb.where('client_id', '=', clientId!))
          .$if(userId !== undefined, (qb) => qb.where('user_id', '=', userId!))
          .$if(liveAt !== undefined, (qb) =>
            qb.where('revoked_at', 'is', null).where('expires_at', '>', toMillis(liveAt!)),
          )
          .orderBy('issued_at', 'desc')
          .orderBy('id', 'asc'),
        filter,
      ).execute(),
    );
    return rows.map(fromAccessTokenRow);
  }

  async listGrants(userId: string, now: Date): Promise<GrantSummary[]> {
    const at = toMillis(now);
    const grants = new GrantCollector(userId);
    await this.#run('listGrants', async (db) => {
      // Three indexed queries (by user), folded here: no query per client.
      const access = await db
        .selectFrom('portcullis_access_tokens')
        .select(['client_id', 'scope', 'issued_at'])
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', at)
        .execute();
      const refresh = await db
        .selectFrom('portcullis_refresh_tokens')
        .select(['client_id', 'scope', 'issued_at'])
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('consumed_at', 'is', null)
        .where('expires_at', '>', at)
        .execute();
      const oauth1 = await db
        .selectFrom('portcullis_oauth1_access_tokens')
        .select(['client_id', 'scope', 'issued_at'])
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', at)]))
        .execute();
      for (const row of [...access, ...refresh]) grants.add('oauth2', row.client_id, fromList(row.scope), row.issued_at);
      for (const row of oauth1) grants.add('oauth1', row.client_id, fromList(row.scope), row.issued_at);
    });
    return grants.list();
  }

  // OAuth 1.0a

  async saveRequestToken(token: RequestTokenRecord): Promise<void> {
    await this.#execute('saveRequestToken', this.#statements.insertRequestToken, toRequestTokenRow(token));
  }

  async findRequestToken(token: string): Promise<RequestTokenRecord | null> {
    const row = await this.#find('findRequestToken', this.#statements.findRequestToken, token);
    return row ? fromRequestTokenRow(row) : null;
  }

  async authorizeRequestToken(token: string, userId: string, verifierDigest: string, scope: string[]): Promise<boolean> {
    const update = await this.#execute('authorizeRequestToken', this.#statements.authorizeRequestToken, {
      token,
      userId,
      verifierDigest,
      scope: toList(scope),
    });
    return changedRows(update) > 0;
  }

  async consumeRequestToken(token: string, now: Date): Promise<ConsumeResult<RequestTokenRecord>> {
    const statements = this.#statements;
    return this.#run('consumeRequestToken', async (db) => {
      const update = await db.executeQuery(statements.consumeRequestToken.compile({ key: token, now: toMillis(now) }));
      const row = (await db.executeQuery(statements.findRequestToken.compile(token))).rows[0];
      if (!row) return { status: 'missing' };
      return { status: changedRows(update) > 0 ? 'consumed' : 'reused', record: fromRequestTokenRow(row) };
    });
  }

  async saveOAuth1AccessToken(token: OAuth1AccessTokenRecord): Promise<void> {
    await this.#execute('saveOAuth1AccessToken', this.#statements.insertOAuth1AccessToken, toOAuth1AccessTokenRow(token));
  }

  async findOAuth1AccessToken(token: string): Promise<OAuth1AccessTokenRecord | null> {
    const row = await this.#find('findOAuth1AccessToken', this.#statements.findOAuth1AccessToken, token);
    return row ? fromOAuth1AccessTokenRow(row) : null;
  }

  async revokeOAuth1AccessTokens(
    filter: { clientId: string; userId?: string; token?: string },
    now: Date,
  ): Promise<number> {
    const { clientId, userId, token } = filter;
    const update = await this.#run('revokeOAuth1AccessTokens', (db) =>
      db
        .updateTable('portcullis_oauth1_access_tokens')
        .set({ revoked_at: toMillis(now) })
        .where('client_id', '=', clientId)
        .$if(userId !== undefined, (qb) => qb.where('user_id', '=', userId!))
        .$if(token !== undefined, (qb) => qb.where('token', '=', token!))
        .where('revoked_at', 'is', null)
        .executeTakeFirst(),
    );
    return Number(update.numUpdatedRows);
  }

  async recordNonce(nonce: NonceRecord): Promise<boolean> {
    try {
      // The primary key refuses a second insert: check and record are one statement.
      await this.#db.executeQuery(this.#statements.insertNonce.compile(toNonceRow(nonce)));
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw toStorageError('recordNonce', error);
    }
  }

  // Signing keys

  async saveSigningKey(key: SigningKeyRecord): Promise<void> {
    await this.#run('saveSigningKey', (db) => db.insertInto('portcullis_signing_keys').values(toSigningKeyRow(key)).execute());
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const rows = await this.#run('listSigningKeys', (db) =>
      db.selectFrom('portcullis_signing_keys').selectAll().orderBy('activates_at', 'asc').orderBy('kid', 'asc').execute(),
    );
    return rows.map(fromSigningKeyRow);
  }

  async retireSigningKey(kid: string, times: { retiresAt: Date; expiresAt: Date }): Promise<boolean> {
    // The conditional UPDATE decides: only one caller can move retires_at from NULL.
    const result = await this.#run('retireSigningKey', (db) =>
      db
        .updateTable('portcullis_signing_keys')
        .set({ retires_at: toMillis(times.retiresAt), expires_at: toMillis(times.expiresAt) })
        .where('kid', '=', kid)
        .where('retires_at', 'is', null)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) > 0;
  }

  async purgeExpired(now: Date, options: { batchSize?: number } = {}): Promise<PurgeResult> {
    const batchSize = options.batchSize ?? DEFAULT_PURGE_BATCH_SIZE;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new RangeError('purgeExpired batchSize must be a positive integer');
    }
    const before = toMillis(now);
    return this.#run('purgeExpired', async () => ({
      authorizationCodes: await this.#purgeTable('portcullis_authorization_codes', 'id', before, batchSize),
      accessTokens: await this.#purgeTable('portcullis_access_tokens', 'id', before, batchSize),
      refreshTokens: await this.#purgeTable('portcullis_refresh_tokens', 'id', before, batchSize),
      requestTokens: await this.#purgeTable('portcullis_oauth1_request_tokens', 'id', before, batchSize),
      // A NULL expires_at never compares below anything: tokens without expiry stay.
      oauth1AccessTokens: await this.#purgeTable('portcullis_oauth1_access_tokens', 'id', before, batchSize),
      nonces: await this.#purgeTable('portcullis_oauth1_nonces', 'nonce_key', before, batchSize),
      clients: await this.#purgeTable('portcullis_clients', 'id', before, batchSize, 'unused_expires_at'),
      // Null until retired: a key in use never compares below anything.
      signingKeys: await this.#purgeTable('portcullis_signing_keys', 'kid', before, batchSize),
      deviceCodes: await this.#purgeTable('portcullis_device_codes', 'id', before, batchSize),
    }));
  }

  /**
   * Deletes a table's expired rows a batch at a time: select a batch of keys on the expires_at
   * index, delete those by primary key, repeat. Each statement is short, so no lock is held long
   * and memory holds one batch of keys at most.
   */
  async #purgeTable(
    table: keyof Database,
    key: 'id' | 'nonce_key' | 'kid',
    before: number,
    batchSize: number,
    expiresAt: 'expires_at' | 'unused_expires_at' = 'expires_at',
  ): Promise<number> {
    // The table varies, so the typed schema cannot follow; the columns used exist in every table purged.
    const db = this.#db as unknown as Kysely<Record<string, { id: string; nonce_key: string; kid: string; expires_at: number; unused_expires_at: number }>>;
    let deleted = 0;
    for (;;) {
      const rows = await db.selectFrom(table).select(key).where(expiresAt, '<', before).limit(batchSize).execute();
      for (const keys of chunk(rows.map((row) => row[key]))) {
        const result = await db
          .deleteFrom(table)
          .where(key, 'in', keys)
          .where(expiresAt, '<', before)
          .executeTakeFirst();
        deleted += Number(result.numDeletedRows);
      }
      if (rows.length < batchSize) return deleted;
    }
  }
}

/** The rows of one issuance's tokens. */
function toTokenRows(access: AccessTokenRecord, refresh: RefreshTokenRecord | null): RedemptionRows {
  return { access: toAccessTokenRow(access), refresh: refresh === null ? null : toRefreshTokenRow(refresh) };
}

/** Rows an UPDATE changed (with mysql2's CLIENT_FOUND_ROWS, matched: the same for the conditional updates here). */
function changedRows(result: QueryResult<unknown>): number {
  return Number(result.numAffectedRows ?? 0n);
}

/** A nonce's row: the key is a digest of what makes a request unique (client, token, timestamp, nonce). */
function toNonceRow(nonce: NonceRecord): NewOAuth1NonceRow {
  return {
    nonce_key: digestSecret([nonce.clientId, nonce.token, String(nonce.timestamp), nonce.nonce].join('\u0000')),
    client_id: nonce.clientId,
    expires_at: toMillis(nonce.expiresAt),
  };
}

/** A bad paging value is the caller's bug, not a database failure: RangeError, as the memory store does. */
function checkPaging(filter: TokenListFilter): void {
  for (const [name, value] of [['limit', filter.limit], ['offset', filter.offset]] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new RangeError(`${name} must be a non-negative integer`);
    }
  }
}

/** LIMIT and OFFSET of a listing; OFFSET alone still needs a LIMIT in SQL. */
function page<QB extends { limit(n: number): QB; offset(n: number): QB }>(qb: QB, filter: TokenListFilter): QB {
  let query = qb;
  if (filter.limit !== undefined) query = query.limit(filter.limit);
  else if (filter.offset !== undefined) query = query.limit(NO_LIMIT);
  if (filter.offset !== undefined) query = query.offset(filter.offset);
  return query;
}

function chunk<T>(items: T[], size = MAX_IDS_PER_STATEMENT): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

function matchingScope(rows: { id: string; scope: string }[], wanted: readonly string[]): string[] {
  const target = new Set(wanted);
  return rows
    .filter((row) => {
      const scope = new Set(fromList(row.scope));
      return scope.size === target.size && [...scope].every((name) => target.has(name));
    })
    .map((row) => row.id);
}

function toClientRowUpdate(update: ClientUpdate): ClientRowUpdate {
  const set: ClientRowUpdate = {};
  if (update.name !== undefined) set.name = update.name;
  if (update.type !== undefined) set.type = update.type;
  if (update.secretDigest !== undefined) set.secret_digest = update.secretDigest;
  if (update.redirectUris !== undefined) set.redirect_uris = toList(update.redirectUris);
  if (update.scopes !== undefined) set.scopes = toList(update.scopes);
  if (update.resources !== undefined) set.resources = update.resources === null ? null : toList(update.resources);
  if (update.grantTypes !== undefined) set.grant_types = toList(update.grantTypes);
  if (update.responseTypes !== undefined) set.response_types = toList(update.responseTypes);
  if (update.ownerId !== undefined) set.owner_id = update.ownerId;
  if (update.oauth1Enabled !== undefined) set.oauth1_enabled = toFlag(update.oauth1Enabled);
  if (update.oauth1SecretEncrypted !== undefined) set.oauth1_secret_encrypted = update.oauth1SecretEncrypted;
  if (update.rsaPublicKey !== undefined) set.rsa_public_key = update.rsaPublicKey;
  if (update.disabled !== undefined) set.disabled = toFlag(update.disabled);
  if (update.updatedAt !== undefined) set.updated_at = toMillis(update.updatedAt);
  if (update.origin !== undefined) set.origin = update.origin;
  if (update.registrationTokenDigest !== undefined) set.registration_token_digest = update.registrationTokenDigest;
  if (update.metadata !== undefined) set.metadata = toMetadata(update.metadata);
  if (update.unusedExpiresAt !== undefined) set.unused_expires_at = toNullableMillis(update.unusedExpiresAt);
  if (update.lastUsedAt !== undefined) set.last_used_at = toNullableMillis(update.lastUsedAt);
  if (update.postLogoutRedirectUris !== undefined) set.post_logout_redirect_uris = toList(update.postLogoutRedirectUris);
  if (update.idTokenSignedResponseAlg !== undefined) set.id_token_signed_response_alg = update.idTokenSignedResponseAlg;
  if (update.skipConsent !== undefined) set.skip_consent = toFlag(update.skipConsent);
  if (update.accessTokenTtl !== undefined) set.access_token_ttl = update.accessTokenTtl;
  if (update.refreshTokenTtl !== undefined) set.refresh_token_ttl = update.refreshTokenTtl;
  if (update.authorizationCodeTtl !== undefined) set.authorization_code_ttl = update.authorizationCodeTtl;
  return set;
}

/** One summary per client and protocol: the union of the live tokens' scopes, the newest issue time. */
class GrantCollector {
  readonly #userId: string;
  readonly #grants = new Map<string, { clientId: string; protocol: 'oauth2' | 'oauth1'; scope: Set<string>; last: number }>();

  constructor(userId: string) {
    this.#userId = userId;
  }

  add(protocol: 'oauth2' | 'oauth1', clientId: string, scope: string[], issuedAt: number | string): void {
    const key = `${protocol}\u0000${clientId}`;
    let grant = this.#grants.get(key);
    if (!grant) {
      grant = { clientId, protocol, scope: new Set(), last: Number.NEGATIVE_INFINITY };
      this.#grants.set(key, grant);
    }
    for (const name of scope) grant.scope.add(name);
    grant.last = Math.max(grant.last, Number(issuedAt));
  }

  list(): GrantSummary[] {
    const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    return [...this.#grants.values()]
      .sort((a, b) => b.last - a.last || compare(a.clientId, b.clientId) || compare(a.protocol, b.protocol))
      .map((grant) => ({
        clientId: grant.clientId,
        userId: this.#userId,
        scope: [...grant.scope].sort(compare),
        lastIssuedAt: fromMillis(grant.last),
        protocol: grant.protocol,
      }));
  }
}
