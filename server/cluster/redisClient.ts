/**
 * The node's connection to Redis (ioredis). One client per node for commands; it reconnects by itself when
 * Redis comes back (ioredis' retry strategy, capped at 2 s between attempts).
 *
 * Guards, and why:
 * - No offline queue, one retry per request: while Redis is unreachable a command fails at once instead of
 *   waiting in a queue, so what needs Redis (a new join, an internal request) gets a clear error now, while
 *   what does not (media already flowing) carries on. A heartbeat missed then is simply missed.
 * - `connectRedis` waits for the first connection (with a bound), so a node with a wrong URL fails at start.
 */
import { Redis } from 'ioredis';

export type { Redis };

export interface RedisOptions {
  /** How long `connectRedis` waits for the first connection. */
  connectTimeoutMs?: number;
}

export async function connectRedis(url: string, opts: RedisOptions = {}): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: opts.connectTimeoutMs ?? 5_000,
    retryStrategy: (attempt) => Math.min(2_000, 50 * 2 ** Math.min(attempt, 6)),
  });
  // Connection errors are reported by the commands that fail; without a listener ioredis prints each one.
  redis.on('error', () => undefined);
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new Error(`cannot reach Redis at ${redactUrl(url)}: ${(err as Error).message}`);
  }
  return redis;
}

/** The URL with its password masked. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '<redacted>';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}
