import { describe, expect, it } from 'vitest';
import { KeyedRateLimiter } from '../../server/limits/KeyedRateLimiter.js';
import { TokenBucket } from '../../server/limits/TokenBucket.js';

describe('rate limits for WHIP/WHEP offers', () => {
  it('lets a burst through, then one per 1/rate seconds, and says how long to wait', () => {
    const limiter = new KeyedRateLimiter({ rate: 1, burst: 3 });
    const t0 = 1_000_000;
    expect([1, 2, 3].map(() => limiter.take('10.0.0.1', t0).ok)).toEqual([true, true, true]);
    expect(limiter.take('10.0.0.1', t0)).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(limiter.take('10.0.0.2', t0).ok).toBe(true);
    expect(limiter.take('10.0.0.1', t0 + 1000).ok).toBe(true);
    expect(limiter.take('10.0.0.1', t0 + 1000).ok).toBe(false);
  });

  it('remembers a bounded number of keys, forgetting the least recently seen', () => {
    const limiter = new KeyedRateLimiter({ rate: 1, burst: 1, maxKeys: 2 });
    limiter.take('a', 0);
    limiter.take('b', 0);
    limiter.take('a', 0);
    limiter.take('c', 0);
    expect(limiter.size).toBe(2);
    // "b" was forgotten: it starts with a full bucket again; "a" is still limited.
    expect(limiter.take('b', 0).ok).toBe(true);
    expect(limiter.take('c', 0).ok).toBe(false);
  });

  it('computes the wait of a token bucket', () => {
    const bucket = new TokenBucket(2, 1, 0);
    expect(bucket.waitMs(0)).toBe(0);
    expect(bucket.take(0)).toBe(true);
    expect(bucket.waitMs(0)).toBe(500);
    expect(bucket.waitMs(250)).toBe(250);
  });
});
