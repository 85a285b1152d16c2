import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Test } from 'tap';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A connection to the test Redis, or null (with a loud notice) when none answers. */
export async function connectTestRedis(): Promise<Redis | null> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch {
    redis.disconnect();
    return null;
  }
}

export function redisSkipMessage(): string {
  return `REDIS TESTS SKIPPED: Redis is not answering on ${REDIS_URL}; set REQUIRE_REDIS=1 to make this a failure`;
}

/** A key prefix of its own, so parallel runs never see each other's sessions or counts. */
export function randomPrefix(): string {
  return `portcullis-test-${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under a prefix (SCAN, never KEYS on a shared server). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/**
 * The test Redis under a fresh key prefix, cleaned up when the test ends; or null, after a loud
 * skip notice (a failure under REQUIRE_REDIS=1).
 */
export async function testRedisOrSkip(t: Test): Promise<{ redis: Redis; prefix: string } | null> {
  const redis = await connectTestRedis();
  if (!redis) {
    const message = redisSkipMessage();
    console.error(`\n${'!'.repeat(message.length)}\n${message}\n${'!'.repeat(message.length)}\n`);
    if (process.env.REQUIRE_REDIS === '1') t.fail(message);
    else t.pass(`skipped: ${message}`);
    return null;
  }
  const prefix = randomPrefix();
  t.teardown(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });
  return { redis, prefix };
}
