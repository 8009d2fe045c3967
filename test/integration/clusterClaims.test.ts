/**
 * The origin side of cluster mode (server/cluster/OriginClaims.ts) on a real Redis, with real registries and
 * leases of two "nodes" and real broadcasts (one mediasoup worker): every row of the claim rule in
 * docs/cluster.md — a free lease, an alive holder (stream_busy, with or without a wrong resume key), a gone
 * holder (taken over without a key, as an encoder reconnecting), this node's own lease from before a
 * restart, the right resume key waiting for an alive-looking origin to be seen gone, Redis unreachable — and
 * the lease living as long as the broadcast bound to it (released and the resume key removed at its end; the
 * broadcast ended when another node takes the lease; the lease taken again when a Redis restart lost it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeRegistry } from '../../server/cluster/NodeRegistry.js';
import { OriginClaims } from '../../server/cluster/OriginClaims.js';
import { OriginLeases } from '../../server/cluster/OriginLeases.js';
import { RedisUnavailable } from '../../server/cluster/RedisUnavailable.js';
import { connectRedis, type Redis } from '../../server/cluster/redisClient.js';
import { Broadcast } from '../../server/live/Broadcast.js';
import { LiveError } from '../../server/live/LiveError.js';
import { createLogger } from '../../server/log/logger.js';
import { WorkerPool } from '../../server/media/WorkerPool.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { until } from '../helpers/until.js';

const logger = createLogger(process.env.ONAIR_TEST_LOG === undefined ? 'silent' : (process.env.ONAIR_TEST_LOG as 'info'));
let server: RedisServer;
let redis: Redis;
let pool: WorkerPool;
let n = 0;

beforeAll(async () => {
  server = await startRedis();
  redis = await connectRedis(server.url);
  pool = await WorkerPool.create({ size: 1, listenIp: '127.0.0.1', announcedIp: '127.0.0.1', firstPort: 0, logger });
});
afterAll(async () => {
  pool?.close();
  redis?.disconnect();
  await server?.close();
});

interface Node {
  id: string;
  registry: NodeRegistry;
  leases: OriginLeases;
  claims: OriginClaims;
}

/** A node's registry entry, leases and claims under this test's key prefix (aliveness checked every 100 ms). */
async function node(id: string, prefix: string, takeoverWaitMs?: number): Promise<Node> {
  const registry = new NodeRegistry({
    redis,
    self: { id, url: `http://127.0.0.1:${10_000 + ++n}`, address: '127.0.0.1', pipePorts: { min: 40_000, max: 40_010 } },
    load: () => ({ streams: 0, viewers: 0, workers: 1 }),
    logger,
    prefix,
    heartbeatMs: 100,
    aliveMs: 500,
  });
  await registry.start();
  const leases = new OriginLeases({ redis, nodeId: id, logger, prefix, ttlMs: 1_000 });
  const claims = new OriginClaims({ redis, leases, registry, logger, prefix, ...(takeoverWaitMs ? { takeoverWaitMs } : {}) });
  return { id, registry, leases, claims };
}

const busy = (p: Promise<unknown>) => expect(p).rejects.toSatisfy((e) => e instanceof LiveError && e.reason === 'stream_busy');

async function broadcast(streamId: string): Promise<Broadcast> {
  return (await Broadcast.create(streamId, 'publisher', { pool, graceMs: 5_000, maxWebrtcViewers: 10, logger })).broadcast;
}

describe('OriginClaims: a new broadcast only under the stream origin lease', () => {
  it('free → taken; alive holder → stream_busy (no key, a wrong key); the lease lives as long as its broadcast', async () => {
    const prefix = `c${++n}:`;
    const [a, b] = [await node('node-a', prefix), await node('node-b', prefix)];
    const claim = await a.claims.claim('s1');
    expect(claim.takenOver).toBe(false);
    const live = await broadcast('s1');
    claim.bind(live);
    await until('resume key published', async () => (await redis.get(`${prefix}resume:s1`)) !== null);
    expect(a.claims.lookup('s1')?.broadcast).toBe(live);

    await busy(b.claims.claim('s1'));
    await busy(b.claims.claim('s1', { resumeKey: 'not-the-key-of-this-broadcast' }));

    await live.end('over');
    await until('lease released, key removed', async () => (await a.leases.current('s1')) === undefined && (await redis.get(`${prefix}resume:s1`)) === null);
    expect(a.claims.lookup('s1')).toBeUndefined();
    const next = await b.claims.claim('s1');
    expect(next.lease.token).toBeGreaterThan(claim.lease.token);
    next.abandon();
    await a.registry.stop();
    await b.registry.stop();
  });

  it('a holder gone from the registry is taken over without a key (an encoder reconnecting); its stale broadcast ends and is no longer current', async () => {
    const prefix = `c${++n}:`;
    const [a, b] = [await node('node-a', prefix), await node('node-b', prefix)];
    const claim = await a.claims.claim('s2');
    const live = await broadcast('s2');
    claim.bind(live);
    // A dies as far as the cluster can tell: its entry is gone; its lease is still in Redis.
    await a.registry.stop();
    const taken = await b.claims.claim('s2');
    expect(taken.takenOver).toBe(false); // no resume key: a new broadcast of the stream
    expect(taken.lease.token).toBeGreaterThan(claim.lease.token);
    // A learns at its next renewal: its lease is lost, its broadcast ends, and it no longer counts as current.
    await until('the stale origin broadcast ended', () => live.ended, 5_000);
    expect(claim.current).toBe(false);
    expect(await b.leases.current('s2')).toEqual({ nodeId: 'node-b', token: taken.lease.token });
    taken.abandon();
    await b.registry.stop();
  });

  it("this node's own lease from before a restart is taken over", async () => {
    const prefix = `c${++n}:`;
    const before = await node('node-a', prefix);
    const old = await before.claims.claim('s3');
    // A restart: new parts, same node id; the old lease is still in Redis.
    const after = await node('node-a', prefix);
    const claim = await after.claims.claim('s3');
    expect(claim.lease.token).toBeGreaterThan(old.lease.token);
    claim.abandon();
    await before.registry.stop();
    await after.registry.stop();
  });

  it('with the resume key, a claim waits for an alive-looking origin to be seen gone, then takes the stream over (takenOver); without it seen gone in time, stream_busy', async () => {
    const prefix = `c${++n}:`;
    const [a, b] = [await node('node-a', prefix), await node('node-b', prefix, 3_000)];
    const claim = await a.claims.claim('s4');
    const live = await broadcast('s4');
    claim.bind(live);
    await until('resume key published', async () => (await redis.get(`${prefix}resume:s4`)) !== null);

    const waiting = b.claims.claim('s4', { resumeKey: live.resumeKey });
    let settled = false;
    void waiting.then(
      () => (settled = true),
      () => (settled = true),
    );
    // Still waiting while A is alive (its heartbeats and renewals go on).
    await new Promise((r) => setTimeout(r, 600));
    expect(settled).toBe(false);
    await a.registry.stop(); // A dies
    const taken = await waiting;
    expect(taken.takenOver).toBe(true);
    expect(taken.lease.token).toBeGreaterThan(claim.lease.token);
    // A learns at its next renewal that the stream was taken: its broadcast ends.
    await until('the stale origin broadcast ended', () => live.ended, 5_000);
    expect(claim.current).toBe(false);
    taken.abandon();

    // An origin that stays alive: the wait ends in stream_busy.
    const c = await node('node-c', prefix);
    const held = await c.claims.claim('s5');
    const s5 = await broadcast('s5');
    held.bind(s5);
    await until('resume key published', async () => (await redis.get(`${prefix}resume:s5`)) !== null);
    await busy(b.claims.claim('s5', { resumeKey: s5.resumeKey }));
    await s5.end('over');
    await b.registry.stop();
    await c.registry.stop();
  });

  it('Redis restarts empty under a live broadcast: its lease is taken again under a new token, the broadcast goes on', async () => {
    const prefix = `c${++n}:`;
    const a = await node('node-a', prefix);
    const claim = await a.claims.claim('s7');
    const live = await broadcast('s7');
    claim.bind(live);
    await server.stop();
    await server.start(); // empty: the lease, the registry entry and the resume key are gone
    await until('the lease taken again', async () => {
      const holder = await a.leases.current('s7').catch(() => undefined);
      return holder?.nodeId === 'node-a' && holder.token > claim.lease.token; // larger, also after the counter was lost
    }, 10_000);
    expect(live.ended).toBe(false);
    expect(claim.current).toBe(true);
    expect(a.claims.lookup('s7')?.lease.token).not.toBe(claim.lease.token);
    await until('the resume key published again', async () => (await redis.get(`${prefix}resume:s7`).catch(() => null)) !== null, 5_000);
    await live.end('over');
    await until('released at the end', async () => (await a.leases.current('s7')) === undefined);
    await a.registry.stop();
  });

  it('Redis unreachable: a claim is refused with cluster_unavailable', async () => {
    const prefix = `c${++n}:`;
    const a = await node('node-a', prefix);
    const cut = await connectRedis(server.url);
    const claims = new OriginClaims({ redis: cut, leases: new OriginLeases({ redis: cut, nodeId: 'node-a', logger, prefix }), registry: a.registry, logger, prefix });
    cut.disconnect();
    await expect(claims.claim('s6')).rejects.toSatisfy((e) => e instanceof RedisUnavailable && e.reason === 'cluster_unavailable');
    await a.registry.stop();
  });
});
