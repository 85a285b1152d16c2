import type {} from '@fastify/session';
import type { Session } from 'fastify';
import type { Redis } from 'ioredis';
import { reportToStderr, settleCallback } from './store-callback.js';

type Callback = (error?: unknown) => void;
type SessionCallback = (error: unknown, session?: Session | null) => void;

const DEFAULT_TTL_MS = 8 * 60 * 60 * 1000;

export interface RedisSessionStoreOptions {
  /** Default `portcullis-demo:session:`. */
  keyPrefix?: string;
  clock?: () => Date;
  /** Receives what a callback threw (store-callback.ts); the app passes its logger. */
  reportError?: (error: unknown) => void;
}

/**
 * @fastify/session's store in Redis, for several instances behind a load balancer: a session
 * begun on one is found by the others. Each session is one key that Redis expires with the
 * cookie (TTL = the cookie's remaining max-age), so nothing needs purging.
 */
export class RedisSessionStore {
  private readonly keyPrefix: string;
  private readonly clock: () => Date;
  private readonly reportError: (error: unknown) => void;

  constructor(
    private readonly redis: Redis,
    options: RedisSessionStoreOptions = {},
  ) {
    this.keyPrefix = options.keyPrefix ?? 'portcullis-demo:session:';
    this.clock = options.clock ?? (() => new Date());
    this.reportError = options.reportError ?? reportToStderr;
  }

  private key(sessionId: string): string {
    return this.keyPrefix + sessionId;
  }

  set(sessionId: string, session: Session, callback: Callback): void {
    const expires = session.cookie?.expires ? new Date(session.cookie.expires).getTime() : this.clock().getTime() + DEFAULT_TTL_MS;
    const ttl = expires - this.clock().getTime();
    if (ttl <= 0) {
      this.destroy(sessionId, callback);
      return;
    }
    settleCallback(this.redis.set(this.key(sessionId), JSON.stringify(session), 'PX', ttl), callback, this.reportError);
  }

  get(sessionId: string, callback: SessionCallback): void {
    settleCallback(this.redis.get(this.key(sessionId)).then(parseSession), callback, this.reportError);
  }

  destroy(sessionId: string, callback: Callback): void {
    settleCallback(this.redis.del(this.key(sessionId)), callback, this.reportError);
  }
}

function parseSession(data: string | null): Session | null {
  if (data === null) return null;
  try {
    return JSON.parse(data) as Session;
  } catch {
    // A value that is not ours (or truncated) is no session.
    return null;
  }
}
