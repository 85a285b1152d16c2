import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { DemoDb } from './db/database.js';
import { verifyUserCredentials, type DemoUser } from './users.js';

export interface AccountThrottleSettings {
  /** Wrong passwords one account may take per window; the next attempt is refused, right or wrong. */
  maxFailures: number;
  /** The window, in milliseconds; a refused account may try again once it has passed. */
  windowMs: number;
}

/** A person mistypes a few times; a guesser spread over many addresses gets ten tries per quarter hour. */
export const DEFAULT_ACCOUNT_THROTTLE: AccountThrottleSettings = { maxFailures: 10, windowMs: 15 * 60_000 };

export type PasswordCheck = { kind: 'valid'; user: DemoUser } | { kind: 'invalid' } | { kind: 'locked'; retryAfterSeconds: number };

/**
 * Wrong passwords counted per account, whatever address they come from: the per-address limits
 * (rate-limits.ts) cannot stop a guesser with many addresses. The count lives in Redis when the
 * demo has one (every instance shares it; should Redis fail, each instance counts in memory
 * meanwhile) and in memory otherwise.
 */
export class AccountThrottle {
  private readonly limiter: RateLimiterAbstract;

  constructor(settings: AccountThrottleSettings, redis?: { client: Redis; keyPrefix: string }) {
    const seconds = Math.max(1, Math.ceil(settings.windowMs / 1000));
    const options = { points: settings.maxFailures, duration: seconds, blockDuration: seconds };
    const memory = new RateLimiterMemory({ ...options, keyPrefix: 'login-failures' });
    this.limiter = redis
      ? new RateLimiterRedis({ ...options, storeClient: redis.client, keyPrefix: `${redis.keyPrefix}login-failures`, insuranceLimiter: memory })
      : memory;
  }

  /**
   * Checks a password unless the account is refused for now. One attempt is counted before the
   * check and handed back if the password was right, so attempts running at the same moment
   * cannot all pass before their failures are counted.
   */
  async check(db: DemoDb, username: string, password: string): Promise<PasswordCheck> {
    const key = accountKey(username);
    try {
      await this.limiter.consume(key);
    } catch (refused) {
      if (refused instanceof RateLimiterRes) return { kind: 'locked', retryAfterSeconds: Math.max(1, Math.ceil(refused.msBeforeNext / 1000)) };
      throw refused;
    }
    const user = await verifyUserCredentials(db, username, password);
    if (!user) return { kind: 'invalid' };
    await this.limiter.reward(key);
    return { kind: 'valid', user };
  }
}

/**
 * One key for every spelling the database could take as the same user (MySQL's default collation
 * ignores case and trailing spaces), hashed so that any length of input makes a short key.
 */
function accountKey(username: string): string {
  return createHash('sha256').update(username.normalize('NFKC').trim().toLowerCase()).digest('base64url');
}
