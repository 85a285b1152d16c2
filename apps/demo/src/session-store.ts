import type {} from '@fastify/session';
import type { Session } from 'fastify';
import type { DemoDb } from './db/database.js';
import { reportToStderr, settleCallback } from './store-callback.js';

type Callback = (error?: unknown) => void;
type SessionCallback = (error: unknown, session?: Session | null) => void;

export interface DatabaseSessionStoreOptions {
  clock?: () => Date;
  /** Receives what a callback threw (store-callback.ts); the app passes its logger. */
  reportError?: (error: unknown) => void;
}

const DEFAULT_TTL_MS = 8 * 60 * 60 * 1000;

/**
 * @fastify/session's store on the demo database, so sessions survive a restart (the default
 * memory store forgets them and grows without bound).
 */
export class DatabaseSessionStore {
  private readonly clock: () => Date;
  private readonly reportError: (error: unknown) => void;

  constructor(
    private readonly db: DemoDb,
    options: DatabaseSessionStoreOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.reportError = options.reportError ?? reportToStderr;
  }

  set(sessionId: string, session: Session, callback: Callback): void {
    const expires = session.cookie?.expires ? new Date(session.cookie.expires).getTime() : this.clock().getTime() + DEFAULT_TTL_MS;
    const data = JSON.stringify(session);
    const work = this.db.transaction().execute(async (trx) => {
      const updated = await trx.updateTable('demo_sessions').set({ data, expires_at: expires }).where('id', '=', sessionId).executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) {
        await trx.insertInto('demo_sessions').values({ id: sessionId, data, expires_at: expires }).execute();
      }
    });
    settleCallback(work, callback, this.reportError);
  }

  get(sessionId: string, callback: SessionCallback): void {
    const work = this.db
      .selectFrom('demo_sessions')
      .select(['data', 'expires_at'])
      .where('id', '=', sessionId)
      .executeTakeFirst()
      .then((row) => (!row || Number(row.expires_at) <= this.clock().getTime() ? null : (JSON.parse(row.data) as Session)));
    settleCallback(work, callback, this.reportError);
  }

  destroy(sessionId: string, callback: Callback): void {
    settleCallback(this.db.deleteFrom('demo_sessions').where('id', '=', sessionId).execute(), callback, this.reportError);
  }

  /** Drops expired sessions (run by `tokens:purge`). */
  async purgeExpired(): Promise<number> {
    const result = await this.db.deleteFrom('demo_sessions').where('expires_at', '<=', this.clock().getTime()).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
