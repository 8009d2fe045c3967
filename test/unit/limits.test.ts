import { afterEach, describe, expect, it, vi } from 'vitest';
import { LoginThrottle } from '../../server/auth/LoginThrottle.js';
import { Coalescer } from '../../server/limits/Coalescer.js';
import { clientAddress, isAddressOrSubnet, proxyTrust, trustLoopback } from '../../server/http/clientAddress.js';
import { KeyedConcurrencyLimit } from '../../server/limits/KeyedConcurrencyLimit.js';
import { KeyedRateLimiter } from '../../server/limits/KeyedRateLimiter.js';
import { isBoundedJson, requestSchemas } from '../../shared/signalingSchemas.js';

describe('KeyedRateLimiter', () => {
  it('gives each key its own bucket: a burst, then the rate, with the wait in whole seconds', () => {
    const perMinute = new KeyedRateLimiter({ rate: 20 / 60, burst: 20 });
    const t0 = 1_000_000;
    for (let i = 0; i < 20; i++) expect(perMinute.take('ann', t0).ok).toBe(true);
    expect(perMinute.take('ann', t0)).toEqual({ ok: false, retryAfterSeconds: 3 });
    expect(perMinute.take('bob', t0).ok).toBe(true);
    expect(perMinute.take('ann', t0 + 3000).ok).toBe(true);
    expect(perMinute.take('ann', t0 + 3000).ok).toBe(false);
  });
});

describe('LoginThrottle', () => {
  it('takes back a failure counted in advance for an attempt that succeeded', () => {
    const t = new LoginThrottle({ baseMs: 1000, freeAttempts: 2 });
    t.fail('10.0.0.1', 0);
    t.fail('10.0.0.1', 0);
    t.forgive('10.0.0.1');
    t.fail('10.0.0.1', 0);
    // Two failures, not three: still free.
    expect(t.retryAfterMs('10.0.0.1', 0)).toBe(0);
    t.forgive('10.0.0.1');
    t.forgive('10.0.0.1');
    t.forgive('10.0.0.1');
    t.fail('10.0.0.1', 0);
    t.fail('10.0.0.1', 0);
    expect(t.retryAfterMs('10.0.0.1', 0)).toBe(0);
  });
});

describe('Coalescer', () => {
  afterEach(() => vi.useRealTimers());

  it('sends the first value at once, the latest of a burst at the end of the interval, nothing when quiet', () => {
    vi.useFakeTimers();
    const sent: [string, number][] = [];
    const c = new Coalescer<number>(500, (key, n) => sent.push([key, n]));
    c.push('a', 1);
    c.push('a', 2);
    c.push('a', 3);
    c.push('b', 7);
    expect(sent).toEqual([
      ['a', 1],
      ['b', 7],
    ]);
    vi.advanceTimersByTime(500);
    expect(sent.slice(2)).toEqual([['a', 3]]);
    vi.advanceTimersByTime(500);
    expect(sent).toHaveLength(3);
    // Quiet for an interval: the next value goes at once again.
    c.push('a', 4);
    expect(sent.at(-1)).toEqual(['a', 4]);
    c.push('a', 5);
    c.close();
    vi.advanceTimersByTime(5000);
    expect(sent.at(-1)).toEqual(['a', 4]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('isBoundedJson (mediasoup parameters from clients)', () => {
  it('refuses deep nesting without recursing, large objects and lone surrogates; takes real parameters', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = { a: deep };
    expect(isBoundedJson(deep, 16, 64 * 1024)).toBe(false);
    expect(isBoundedJson({ a: 'x'.repeat(70_000) }, 16, 64 * 1024)).toBe(false);
    expect(isBoundedJson({ value: '\ud800' }, 16, 64 * 1024)).toBe(false);
    expect(isBoundedJson({ '\udfffkey': 1 }, 16, 64 * 1024)).toBe(false);
    expect(isBoundedJson({ value: '🎥 fine' }, 16, 64 * 1024)).toBe(true);
    const dtls = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AB:CD' }] };
    expect(requestSchemas['transport:connect'].safeParse({ transportId: 't', dtlsParameters: dtls }).success).toBe(true);
    expect(requestSchemas['transport:connect'].safeParse({ transportId: 't', dtlsParameters: { ...dtls, role: 'c\ud800' } }).success).toBe(false);
  });
});

describe('KeyedConcurrencyLimit', () => {
  it('gives each key at most max places, takes them back, and forgets keys holding none', () => {
    const limit = new KeyedConcurrencyLimit(2);
    expect(limit.acquire('10.0.0.1')).toBe(true);
    expect(limit.acquire('10.0.0.1')).toBe(true);
    expect(limit.acquire('10.0.0.1')).toBe(false);
    expect(limit.acquire('10.0.0.2')).toBe(true);
    limit.release('10.0.0.1');
    expect(limit.held('10.0.0.1')).toBe(1);
    expect(limit.acquire('10.0.0.1')).toBe(true);
    for (const key of ['10.0.0.1', '10.0.0.1', '10.0.0.2']) limit.release(key);
    expect(limit.size).toBe(0);
    expect(limit.held('10.0.0.1')).toBe(0);
  });
});

describe('clientAddress (the socket handshake; express computes req.ip by the same rule)', () => {
  const req = (remoteAddress: string, xff?: string) => ({ socket: { remoteAddress }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as Parameters<typeof clientAddress>[0];
  const local = (r: ReturnType<typeof req>) => clientAddress(r, trustLoopback);

  it('takes the client a proxy on this host names, walking back through loopback hops only', () => {
    expect(local(req('127.0.0.1'))).toBe('127.0.0.1');
    expect(local(req('127.0.0.1', '203.0.113.7'))).toBe('203.0.113.7');
    expect(local(req('::ffff:127.0.0.1', '203.0.113.7'))).toBe('203.0.113.7');
    expect(local(req('::1', ' 198.51.100.1 , 127.0.0.1'))).toBe('198.51.100.1');
    // The client's own claim (the leftmost entry) is not believed past the first address that is not local.
    expect(local(req('127.0.0.1', '10.9.9.9, 203.0.113.7'))).toBe('203.0.113.7');
  });

  it('ignores X-Forwarded-For from anyone not on this host', () => {
    expect(local(req('203.0.113.7', '127.0.0.1'))).toBe('203.0.113.7');
    expect(local(req('::ffff:203.0.113.7', '10.0.0.1'))).toBe('::ffff:203.0.113.7');
    expect(trustLoopback('10.0.0.1')).toBe(false);
    expect(trustLoopback('not an address')).toBe(false);
    expect(trustLoopback('127.8.8.8')).toBe(true);
  });

  it('believes the proxies of ONAIR_TRUSTED_PROXIES (nginx in a container or on another host), and only them', () => {
    const trust = proxyTrust(['172.18.0.0/16', '10.0.0.5', 'fd00::/8']);
    // nginx at 172.18.0.2 names the viewer; a viewer's own claim behind it is still not believed.
    expect(clientAddress(req('172.18.0.2', '203.0.113.7'), trust)).toBe('203.0.113.7');
    expect(clientAddress(req('::ffff:172.18.3.4', '203.0.113.7'), trust)).toBe('203.0.113.7');
    expect(clientAddress(req('172.18.0.2', '1.2.3.4, 203.0.113.7'), trust)).toBe('203.0.113.7');
    expect(clientAddress(req('10.0.0.5', '198.51.100.9'), trust)).toBe('198.51.100.9');
    expect(clientAddress(req('fd12::1', '198.51.100.9'), trust)).toBe('198.51.100.9');
    // Not listed: the hop is the client.
    expect(clientAddress(req('10.0.0.6', '198.51.100.9'), trust)).toBe('10.0.0.6');
    expect(clientAddress(req('172.19.0.2', '198.51.100.9'), trust)).toBe('172.19.0.2');
    // Loopback stays trusted.
    expect(trust('127.0.0.1')).toBe(true);
  });

  it('accepts addresses and subnets only in the list', () => {
    for (const ok of ['10.0.0.5', '172.18.0.0/16', '0.0.0.0/0', 'fd00::/8', '::1']) expect(isAddressOrSubnet(ok), ok).toBe(true);
    for (const bad of ['', 'nginx', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/', '10.0.0.0/8/1', '10.0.0.0/-1', '10.0.0.0/08x', 'localhost']) {
      expect(isAddressOrSubnet(bad), bad).toBe(false);
    }
  });
});
