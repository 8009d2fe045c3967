/**
 * The cluster's shared state in a real Redis 7 (test/helpers/redis.ts): the node registry (heartbeats, the
 * 5 s alive rule, the media address check) and the origin leases (SET NX PX, renewal, fencing, expiry and
 * takeover, release).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodeRegistry, NODE_ALIVE_MS, type NodeInfo } from '../../server/cluster/NodeRegistry.js';
import { OriginLeases, StaleOriginError } from '../../server/cluster/OriginLeases.js';
import { connectRedis, type Redis } from '../../server/cluster/redisClient.js';
import { createLogger } from '../../server/log/logger.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { until } from '../helpers/until.js';

const logger = createLogger('silent');
let server: RedisServer;
let redis: Redis;
let prefix: string;
let n = 0;
const toClose: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  server = await startRedis();
  redis = await connectRedis(server.url);
});
afterEach(async () => {
  for (const c of toClose.splice(0).reverse()) await c();
});
afterAll(async () => {
  redis?.disconnect();
  await server?.close();
});

// Each test its own key space.
const fresh = () => (prefix = `t${++n}:`);

function registry(id: string, opts: { address?: string; ports?: [number, number]; aliveMs?: number; client?: Redis } = {}) {
  const r = new NodeRegistry({
    redis: opts.client ?? redis,
    self: { id, url: `http://127.0.0.1:${8000 + n}`, address: opts.address ?? '127.0.0.1', pipePorts: { min: opts.ports?.[0] ?? 40000, max: opts.ports?.[1] ?? 40099 } },
    load: () => ({ streams: 1, viewers: 7, workers: 2 }),
    logger,
    prefix,
    ...(opts.aliveMs ? { aliveMs: opts.aliveMs } : {}),
  });
  toClose.push(() => r.stop());
  return r;
}

/** Redis's clock, ms. */
async function redisNow(): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

const info = (id: string, address = '127.0.0.1'): NodeInfo => ({
  id,
  url: 'http://127.0.0.1:9999',
  address,
  pipePorts: { min: 41000, max: 41099 },
  load: { streams: 0, viewers: 0, workers: 1 },
  startedAt: 1,
});

describe('NodeRegistry', () => {
  it('lists a started node with its URL, media address, pipe ports, load and the time of Redis', async () => {
    fresh();
    const a = registry('node-a');
    await a.start();
    const before = await redisNow();
    const [entry, ...others] = await a.aliveNodes();
    expect(others).toEqual([]);
    expect(entry).toMatchObject({ id: 'node-a', address: '127.0.0.1', pipePorts: { min: 40000, max: 40099 }, load: { streams: 1, viewers: 7, workers: 2 } });
    expect(entry!.at).toBeLessThanOrEqual(before);
    expect(entry!.ageMs).toBeGreaterThanOrEqual(0);
  });

  it('heartbeats: the entry is rewritten every second', async () => {
    fresh();
    const a = registry('node-a');
    await a.start();
    const first = (await a.node('node-a'))!.at;
    await until('a second heartbeat', async () => ((await a.node('node-a'))?.at ?? 0) > first, 5_000);
  });

  it('counts a node alive only while its entry is younger than 5 s', async () => {
    fresh();
    const a = registry('node-a');
    await a.start();
    const now = await redisNow();
    await redis.hset(`${prefix}nodes`, 'node-fresh', `${now - (NODE_ALIVE_MS - 1000)}|${JSON.stringify(info('node-fresh'))}`);
    await redis.hset(`${prefix}nodes`, 'node-stale', `${now - (NODE_ALIVE_MS + 1000)}|${JSON.stringify(info('node-stale'))}`);
    expect((await a.aliveNodes()).map((e) => e.id).sort()).toEqual(['node-a', 'node-fresh']);
    expect(await a.node('node-stale')).toBeUndefined();
  });

  it('forgets a node that stops heartbeating (it died) once its entry is too old', async () => {
    fresh();
    const reader = registry('reader', { aliveMs: 500 });
    await reader.start();
    const dead = new NodeRegistry({ redis, self: { ...info('node-dead'), id: 'node-dead' }, load: () => ({ streams: 0, viewers: 0, workers: 1 }), logger, prefix });
    await dead.heartbeat(); // one heartbeat, never another: the node died
    expect((await reader.aliveNodes()).map((e) => e.id)).toContain('node-dead');
    await until('the dead node to drop out', async () => !(await reader.aliveNodes()).some((e) => e.id === 'node-dead'), 5_000);
  });

  it('removes its entry on stop, so the others stop counting on it at once', async () => {
    fresh();
    const a = registry('node-a');
    const b = registry('node-b');
    await a.start();
    await b.start();
    expect((await a.aliveNodes()).map((e) => e.id).sort()).toEqual(['node-a', 'node-b']);
    await b.stop();
    expect((await a.aliveNodes()).map((e) => e.id)).toEqual(['node-a']);
  });

  it('ignores malformed entries and prunes entries silent for a minute', async () => {
    fresh();
    const now = await redisNow();
    await redis.hset(`${prefix}nodes`, 'junk', 'not an entry', 'bad-json', `${now}|{nope`, 'wrong-shape', `${now}|${JSON.stringify({ id: 'wrong-shape', url: 'x' })}`);
    await redis.hset(`${prefix}nodes`, 'mismatch', `${now}|${JSON.stringify(info('someone-else'))}`);
    await redis.hset(`${prefix}nodes`, 'ancient', `${now - 61_000}|${JSON.stringify(info('ancient'))}`);
    const a = registry('node-a');
    await a.start();
    expect((await a.aliveNodes()).map((e) => e.id)).toEqual(['node-a']);
    // The heartbeat's script pruned the minute-old entry and the unreadable one, kept the readable fresh ones.
    const fields = (await redis.hkeys(`${prefix}nodes`)).sort();
    expect(fields).not.toContain('ancient');
    expect(fields).not.toContain('junk');
    expect(fields).toContain('node-a');
  });

  it('knows only alive nodes\' announced addresses inside their pipe port range', async () => {
    fresh();
    const a = registry('node-a', { address: '10.0.0.11', ports: [40000, 40099] });
    const b = registry('node-b', { address: '10.0.0.12', ports: [41000, 41009] });
    await a.start();
    await b.start();
    const now = await redisNow();
    await redis.hset(`${prefix}nodes`, 'node-dead', `${now - NODE_ALIVE_MS - 1}|${JSON.stringify(info('node-dead', '10.0.0.99'))}`);
    expect(await a.isRegisteredAddress('10.0.0.11', 40000)).toBe(true);
    expect(await a.isRegisteredAddress('10.0.0.11', 40099)).toBe(true);
    expect(await a.isRegisteredAddress('10.0.0.12', 41005)).toBe(true);
    expect(await a.isRegisteredAddress('::ffff:10.0.0.12', 41005)).toBe(true);
    expect(await a.isRegisteredAddress('10.0.0.12', 41005, 'node-b')).toBe(true);
    // Another node's address under this node's name, a port outside the range, an unknown or dead host.
    expect(await a.isRegisteredAddress('10.0.0.12', 41005, 'node-a')).toBe(false);
    expect(await a.isRegisteredAddress('10.0.0.11', 40100)).toBe(false);
    expect(await a.isRegisteredAddress('10.0.0.12', 40000)).toBe(false);
    expect(await a.isRegisteredAddress('10.0.0.13', 40000)).toBe(false);
    expect(await a.isRegisteredAddress('10.0.0.99', 41050)).toBe(false);
    expect(await a.isRegisteredAddress('not-an-ip', 40000)).toBe(false);
    expect(await a.isRegisteredAddress('10.0.0.11', 40000.5)).toBe(false);
  });

  it('fails to start while Redis is down, and registers again by itself when Redis comes back', async () => {
    fresh();
    const client = await connectRedis(server.url);
    toClose.push(() => client.disconnect());
    const a = registry('node-a', { client });
    await a.start();
    await server.stop();
    await expect(a.heartbeat()).rejects.toThrow();
    const late = registry('node-late', { client });
    await expect(late.start()).rejects.toThrow();
    await server.start(); // empty: every entry is gone
    await until('node-a to heartbeat again', async () => (await a.aliveNodes().catch(() => [])).some((e) => e.id === 'node-a'), 15_000);
    // The main client reconnects too (later tests use it).
    await until('the main client back', () => redis.ping().then((p) => p === 'PONG', () => false), 15_000);
  });
});

function leases(nodeId: string, opts: { ttlMs?: number; renewMs?: number; client?: Redis } = {}) {
  const l = new OriginLeases({ redis: opts.client ?? redis, nodeId, logger, prefix, ...(opts.ttlMs ? { ttlMs: opts.ttlMs } : {}), ...(opts.renewMs ? { renewMs: opts.renewMs } : {}) });
  toClose.push(() => l.close());
  return l;
}

async function take(l: OriginLeases, streamId: string) {
  const r = await l.acquire(streamId);
  if (!r.ok) throw new Error(`held by ${r.holder.nodeId}`);
  return r.lease;
}

describe('OriginLeases', () => {
  it('gives a stream to one node: the next sees the holder and its token', async () => {
    fresh();
    const a = leases('node-a');
    const b = leases('node-b');
    const lease = await take(a, 'stream1');
    expect(lease).toMatchObject({ streamId: 'stream1', nodeId: 'node-a', held: true });
    expect(await b.acquire('stream1')).toEqual({ ok: false, holder: { nodeId: 'node-a', token: lease.token } });
    // Not even the same node twice: the second start of a stream goes through the first lease.
    expect((await a.acquire('stream1')).ok).toBe(false);
    expect(await b.current('stream1')).toEqual({ nodeId: 'node-a', token: lease.token });
    expect(await b.current('stream2')).toBeUndefined();
    expect(await redis.pttl(`${prefix}origin:stream1`)).toBeGreaterThan(0);
  });

  it('hands out tokens that only grow, across streams and nodes', async () => {
    fresh();
    const a = leases('node-a');
    const b = leases('node-b');
    const tokens = [];
    for (const [l, s] of [[a, 's1'], [b, 's2'], [a, 's3']] as const) tokens.push((await take(l, s)).token);
    expect(tokens).toEqual([...tokens].sort((x, y) => x - y));
    expect(new Set(tokens).size).toBe(3);
  });

  it('keeps a renewed lease past its ttl', async () => {
    fresh();
    const a = leases('node-a', { ttlMs: 300, renewMs: 50 });
    const lease = await take(a, 'stream1');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(lease.held).toBe(true);
    expect(await lease.check()).toBe(true);
    expect(await a.current('stream1')).toEqual({ nodeId: 'node-a', token: lease.token });
  });

  it('expires when its origin stops renewing (paused, dead); another node takes over and the stale origin is fenced off', async () => {
    fresh();
    // node-a's renewals never come in time: a paused process.
    const a = leases('node-a', { ttlMs: 300, renewMs: 60_000 });
    const b = leases('node-b', { ttlMs: 5_000 });
    const stale = await take(a, 'stream1');
    const lost = new Promise((r) => stale.once('lost', r));
    const successor = await until('the lease to expire and node-b to take it', async () => {
      const r = await b.acquire('stream1');
      return r.ok ? r.lease : undefined;
    }, 5_000);
    expect(successor.token).toBeGreaterThan(stale.token);
    // The stale origin wakes up: every action it checks is refused, and its first renewal finds it lost.
    expect(stale.held).toBe(false);
    expect(await stale.check()).toBe(false);
    await expect(stale.assertCurrent('pipe:open')).rejects.toBeInstanceOf(StaleOriginError);
    expect(await stale.renew()).toBe(false);
    await expect(lost).resolves.toEqual({ reason: 'taken' });
    expect(stale.lost).toBe(true);
    await stale.release();
    // Neither its renewal nor its release touched the successor's lease.
    expect(await b.current('stream1')).toEqual({ nodeId: 'node-b', token: successor.token });
    expect(await redis.pttl(`${prefix}origin:stream1`)).toBeGreaterThan(1_000);
    await successor.assertCurrent('pipe:open');
  });

  it('a renewal that finds another holder loses the lease (taken), and stops renewing', async () => {
    fresh();
    const a = leases('node-a', { ttlMs: 5_000, renewMs: 60_000 });
    const lease = await take(a, 'stream1');
    // An operator (or a bug) gave the stream to someone else.
    await redis.set(`${prefix}origin:stream1`, 'node-x|999999', 'PX', 5_000);
    const lost = new Promise((r) => lease.once('lost', r));
    expect(await lease.renew()).toBe(false);
    await expect(lost).resolves.toEqual({ reason: 'taken' });
    expect(lease.held).toBe(false);
    expect(await a.current('stream1')).toEqual({ nodeId: 'node-x', token: 999999 });
  });

  it('an origin cut off from Redis becomes unsure by itself (no origin decisions), and learns it lost the stream when it reaches Redis again', async () => {
    fresh();
    const client = await connectRedis(server.url);
    toClose.push(() => client.disconnect());
    const a = leases('node-a', { ttlMs: 400, renewMs: 100, client });
    const lease = await take(a, 'stream1');
    const unsure = new Promise((r) => lease.once('unsure', () => r(true)));
    client.disconnect(); // partitioned: renewals fail
    await expect(unsure).resolves.toBe(true);
    expect(lease.held).toBe(false);
    expect(lease.lost).toBe(false);
    await expect(lease.assertCurrent('pipe:open')).rejects.toBeInstanceOf(StaleOriginError);
    // Meanwhile Redis expired it: another node takes the stream.
    const b = leases('node-b');
    const successor = await until('node-b to take the stream', async () => {
      const r = await b.acquire('stream1');
      return r.ok ? r.lease : undefined;
    }, 5_000);
    const lost = new Promise((r) => lease.once('lost', r));
    await client.connect(); // the partition heals
    await expect(lost).resolves.toEqual({ reason: 'taken' });
    expect(await b.current('stream1')).toEqual({ nodeId: 'node-b', token: successor.token });
  });

  it('an unsure origin whose lease is still its own when Redis answers again holds it again', async () => {
    fresh();
    const client = await connectRedis(server.url);
    toClose.push(() => client.disconnect());
    const a = leases('node-a', { ttlMs: 400, renewMs: 100, client });
    const lease = await take(a, 'stream1');
    const unsure = new Promise((r) => lease.once('unsure', () => r(true)));
    client.disconnect();
    await expect(unsure).resolves.toBe(true);
    // Redis still holds it as node-a's (an outage shorter than Redis's expiry; set here, as the lease's own
    // ttl may have run out by now).
    await redis.set(`${prefix}origin:stream1`, `node-a|${lease.token}`, 'PX', 10_000);
    const regained = new Promise((r) => lease.once('regained', () => r(true)));
    await client.connect();
    await expect(regained).resolves.toBe(true);
    expect(lease.held).toBe(true);
    await lease.assertCurrent('pipe:open');
  });

  it('an origin that finds its lease gone from Redis (an outage longer than the ttl) loses it: expired', async () => {
    fresh();
    const a = leases('node-a', { ttlMs: 5_000, renewMs: 60_000 });
    const lease = await take(a, 'stream1');
    await redis.del(`${prefix}origin:stream1`);
    const lost = new Promise((r) => lease.once('lost', r));
    expect(await lease.renew()).toBe(false);
    await expect(lost).resolves.toEqual({ reason: 'expired' });
    // It may take the stream again, under a new token.
    const again = await take(a, 'stream1');
    expect(again.token).toBeGreaterThan(lease.token);
  });

  it('releases with compare-and-delete: the stream is free at once, and release twice is harmless', async () => {
    fresh();
    const a = leases('node-a');
    const b = leases('node-b');
    const first = await take(a, 'stream1');
    await first.release();
    await first.release();
    expect(first.held).toBe(false);
    const second = await take(b, 'stream1');
    expect(second.token).toBeGreaterThan(first.token);
    await first.release();
    expect(await b.current('stream1')).toEqual({ nodeId: 'node-b', token: second.token });
  });

  it('close() releases every lease the node holds', async () => {
    fresh();
    const a = leases('node-a');
    await take(a, 's1');
    await take(a, 's2');
    await a.close();
    expect(await a.current('s1')).toBeUndefined();
    expect(await a.current('s2')).toBeUndefined();
  });
});
