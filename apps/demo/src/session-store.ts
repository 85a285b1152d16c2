import type {} from '@fastify/session';
import type { Session } from 'fastify';
import type { DemoDb } from './db/database.js';

type Callback = (error?: unknown) => void;
type SessionCallback = (error: unknown, session?: Session | null) => void;

const DEFAULT_TTL_MS = 8 * 60 * 60 * 1000;

/**
 * @fastify/session's store on the demo database, so sessions survive a restart (the default
 * memory store forgets them and grows without bound).
 */
export class DatabaseSessionStore {
  constructor(
    private readonly db: DemoDb,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  set(sessionId: string, session: Session, callback: Callback): void {
    const expires = session.cookie?.expires ? new Date(session.cookie.expires).getTime() : this.clock().getTime() + DEFAULT_TTL_MS;
    const data = JSON.stringify(session);
    this.db
      .transaction()
      .execute(async (trx) => {
        const updated = await trx.updateTable('demo_sessions').set({ data, expires_at: expires }).where('id', '=', sessionId).executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) {
          await trx.insertInto('demo_sessions').values({ id: sessionId, data, expires_at: expires }).execute();
        }
      })
      .then(() => callback(), callback);
  }

  get(sessionId: string, callback: SessionCallback): void {
    this.db
      .selectFrom('demo_sessions')
      .select(['data', 'expires_at'])
      .where('id', '=', sessionId)
      .executeTakeFirst()
      .then((row) => {
        if (!row || Number(row.expires_at) <= this.clock().getTime()) return callback(null, null);
        callback(null, JSON.parse(row.data) as Session);
      }, callback);
  }

  destroy(sessionId: string, callback: Callback): void {
    this.db
      .deleteFrom('demo_sessions')
      .where('id', '=', sessionId)
      .execute()
      .then(() => callback(), callback);
  }

  /** Drops expired sessions (run by `tokens:purge`). */
  async purgeExpired(): Promise<number> {
    const result = await this.db.deleteFrom('demo_sessions').where('expires_at', '<=', this.clock().getTime()).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
