import type {} from '@fastify/session';
import type { Session } from 'fastify';
import type { Redis } from 'ioredis';

type Callback = (error?: unknown) => void;
type SessionCallback = (error: unknown, session?: Session | null) => void;

const DEFAULT_TTL_MS = 8 * 60 * 60 * 1000;

/**
 * @fastify/session's store in Redis, for several instances behind a load balancer: a session
 * begun on one is found by the others. Each session is one key that Redis expires with the
 * cookie (TTL = the cookie's remaining max-age), so nothing needs purging.
 */
export class RedisSessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix = 'portcullis-demo:session:',
    private readonly clock: () => Date = () => new Date(),
  ) {}

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
    this.redis.set(this.key(sessionId), JSON.stringify(session), 'PX', ttl).then(() => callback(), callback);
  }

  get(sessionId: string, callback: SessionCallback): void {
    this.redis.get(this.key(sessionId)).then((data) => {
      if (data === null) return callback(null, null);
      try {
        callback(null, JSON.parse(data) as Session);
      } catch {
        // A value that is not ours (or truncated) is no session.
        callback(null, null);
      }
    }, callback);
  }

  destroy(sessionId: string, callback: Callback): void {
    this.redis.del(this.key(sessionId)).then(() => callback(), callback);
  }
}
