/**
 * Cluster mode's shared live state (server/cluster/RedisShared.ts) on a real Redis 7 (test/helpers/redis.ts),
 * with two nodes in this process: each its own Redis client, NodeRegistry, RedisShared and socket.io server
 * (with the Redis adapter) on its own loopback port; clients are real socket.io-client sockets.
 *
 * Shown: an event emitted through the adapter on node A reaches a socket on node B, one emitted with
 * `io.local` does not; viewer counts are summed over the nodes and every node hears the total; a dead node's
 * viewers and sockets stop counting once its registry entry goes stale; shared rate limits, login throttle
 * and sockets per address trip across nodes (also when both nodes take at once); with Redis stopped, what
 * needs it fails at once with `cluster_unavailable` and nothing throws, and after Redis comes back (empty)
 * everything works again without a restart.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodeRegistry } from '../../server/cluster/NodeRegistry.js';
import { connectRedis, type Redis } from '../../server/cluster/redisClient.js';
import { RedisShared, type SharedLimits } from '../../server/cluster/RedisShared.js';
import { RedisUnavailable } from '../../server/cluster/RedisUnavailable.js';
import { shareRestreamState } from '../../server/restream/pushRestreamState.js';
import type { OnAirIo } from '../../server/signaling/SignalingServer.js';
import type { RestreamStateEvent } from '../../shared/restream.js';
import { createLogger } from '../../server/log/logger.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { until } from '../helpers/until.js';

const logger = createLogger('silent');
/** A stream id (the audience channel refuses anything else). */
const S1 = 'streamOne001';
let server: RedisServer;
let n = 0;
const toClose: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  for (const c of toClose.splice(0).reverse()) await c();
});
afterAll(async () => {
  await server?.close();
});

const LIMITS: SharedLimits = {
  streamCreation: { rate: 0.01, burst: 5 },
  chatPerAddress: { rate: 0.01, burst: 3 },
  loginFreeAttempts: { byUser: 3, byAddress: 20 },
  maxSocketsPerAddress: 3,
};

interface TestNode {
  id: string;
  redis: Redis;
  registry: NodeRegistry;
  shared: RedisShared;
  io: Server;
  url: string;
}

/** One node: its own client, registry (fast heartbeats, 3 s staleness: loaded machines delay heartbeats), shared state and socket.io server. */
async function node(id: string, prefix: string, limits: SharedLimits = LIMITS): Promise<TestNode> {
  const redis = await connectRedis(server.url);
  const registry = new NodeRegistry({
    redis,
    self: { id, url: `http://127.0.0.1:${9000 + n}`, address: '127.0.0.1', pipePorts: { min: 41000, max: 41099 } },
    load: () => ({ streams: 0, viewers: 0, workers: 1 }),
    logger,
    prefix,
    heartbeatMs: 250,
    aliveMs: 3_000,
  });
  await registry.start();
  const shared = await RedisShared.start({ redis, registry, limits, logger, prefix, aliveMs: 3_000 });
  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter: shared.adapter(), serveClient: false });
  // A socket says who it is (the signaling server verifies a token; here the test decides).
  io.use((socket, next) => {
    const sub = (socket.handshake.auth as { user?: string }).user;
    socket.data.user = sub ? { sub, role: 'broadcaster', username: sub } : undefined;
    next();
  });
  io.on('connection', (socket) => void socket.join(['stream:s1', `stream:${S1}`]));
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  toClose.push(async () => {
    await new Promise<void>((resolve) => io.close(() => resolve()));
    await shared.close();
    await registry.stop();
    redis.disconnect();
  });
  return { id, redis, registry, shared, io, url };
}

async function twoNodes(limits?: SharedLimits): Promise<[TestNode, TestNode]> {
  const prefix = `t${++n}:`;
  return [await node('node-a', prefix, limits), await node('node-b', prefix, limits)];
}

async function client(url: string, user?: string): Promise<ClientSocket> {
  const socket = connect(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: user ? { user } : {} });
  toClose.push(() => void socket.close());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

/** Kills a node without its goodbye: its heartbeats stop (client gone), its entry ages out. */
function crash(node: TestNode): void {
  node.redis.disconnect();
  void node.shared.close();
}

describe('socket.io across nodes (redis adapter)', () => {
  it('an event emitted to a room on node A reaches a socket on node B; an io.local one does not', async () => {
    const [a, b] = await twoNodes();
    const onB = await client(b.url);
    const heard: string[] = [];
    onB.on('stream:updated', (e: { title: string }) => heard.push(e.title));
    // The adapter subscribes per room as sockets join: wait until A's emit is heard on B.
    await until('an adapter emit from A on B', () => {
      a.io.to('stream:s1').emit('stream:updated', { title: 'from A' });
      return heard.includes('from A');
    });
    a.io.local.to('stream:s1').emit('stream:updated', { title: 'local on A' });
    b.io.local.to('stream:s1').emit('stream:updated', { title: 'local on B' });
    await until('the local emit on B', () => heard.includes('local on B'));
    expect(heard).not.toContain('local on A');
  });
});

describe('restream:state across nodes', () => {
  it("reaches the stream owner's sockets on the other node, and no viewer's", async () => {
    const [a, b] = await twoNodes();
    const ownerOf = async () => 'owner-1';
    const fail = (err: unknown) => {
      throw err;
    };
    const pushOnA = shareRestreamState(a.io as unknown as OnAirIo, ownerOf, fail);
    shareRestreamState(b.io as unknown as OnAirIo, ownerOf, fail);
    const ownerOnB = await client(b.url, 'owner-1');
    const viewerOnB = await client(b.url);
    const ownerOnA = await client(a.url, 'owner-1');
    const seen = { ownerB: [] as string[], viewerB: [] as string[], ownerA: [] as string[] };
    ownerOnB.on('restream:state', (e: RestreamStateEvent) => seen.ownerB.push(e.status.state));
    viewerOnB.on('restream:state', (e: RestreamStateEvent) => seen.viewerB.push(e.status.state));
    ownerOnA.on('restream:state', (e: RestreamStateEvent) => seen.ownerA.push(e.status.state));
    const state = (s: 'connecting' | 'live'): RestreamStateEvent => ({ streamId: S1, destinationId: 'dest-1', status: { state: s, failures: 0, since: new Date().toISOString() } });
    // Node B's adapter may still be subscribing: push until B has heard one.
    await until("the owner's socket on B told", () => {
      pushOnA(state('connecting'));
      return seen.ownerB.length > 0;
    });
    pushOnA(state('live'));
    await until('live on both nodes', () => seen.ownerB.at(-1) === 'live' && seen.ownerA.at(-1) === 'live');
    // A malformed event from another node is dropped, not pushed.
    a.io.serverSideEmit('restream:state', { streamId: S1, status: 'nonsense' });
    pushOnA(state('connecting'));
    await until('the next good one on B', () => seen.ownerB.at(-1) === 'connecting');
    expect(seen.ownerB.every((s) => s === 'connecting' || s === 'live')).toBe(true);
    expect(seen.viewerB).toEqual([]);
  });
});

describe('one audience', () => {
  it('sums the viewers of every node, and every node hears the total', async () => {
    const [a, b] = await twoNodes();
    const changes = { a: [] as number[], b: [] as number[] };
    a.shared.audience.onChange((c) => c.streamId === S1 && changes.a.push(c.total));
    b.shared.audience.onChange((c) => c.streamId === S1 && changes.b.push(c.total));
    a.shared.audience.setLocal(S1, 3);
    b.shared.audience.setLocal(S1, 2);
    await until('a total of 5 on both nodes', () => a.shared.audience.total(S1) === 5 && b.shared.audience.total(S1) === 5);
    expect(changes.a.at(-1)).toBe(5);
    expect(changes.b.at(-1)).toBe(5);
    a.shared.audience.setLocal(S1, 1);
    await until('a total of 3 on both nodes', () => a.shared.audience.total(S1) === 3 && b.shared.audience.total(S1) === 3);
    // Each node heard the totals in the order Redis computed them: the last one is the truth on both.
    expect(changes.a.at(-1)).toBe(3);
    expect(changes.b.at(-1)).toBe(3);
  });

  it('a node started later learns the audiences there are', async () => {
    const prefix = `t${++n}:`;
    const a = await node('node-a', prefix);
    a.shared.audience.setLocal(S1, 4);
    await until('A counts 4', () => a.shared.audience.total(S1) === 4);
    const b = await node('node-b', prefix);
    expect(b.shared.audience.total(S1)).toBe(4);
  });

  it("a dead node's viewers stop counting once its registry entry is stale", async () => {
    const [a, b] = await twoNodes();
    a.shared.audience.setLocal(S1, 3);
    b.shared.audience.setLocal(S1, 2);
    await until('a total of 5 on B', () => b.shared.audience.total(S1) === 5);
    const changes: number[] = [];
    b.shared.audience.onChange((c) => changes.push(c.total));
    crash(a);
    await until("A's viewers dropped on B", () => b.shared.audience.total(S1) === 2);
    expect(changes).toEqual([2]);
  });
});

describe('limits shared by every node', () => {
  it('stream creations: one bucket for both nodes, exact when both take at once', async () => {
    const [a, b] = await twoNodes();
    const takes = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).shared.streamCreation.take('user-1')));
    expect(takes.filter((t) => t.ok)).toHaveLength(5);
    const refused = takes.find((t) => !t.ok);
    expect(refused).toMatchObject({ ok: false });
    expect(refused && !refused.ok && refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // Another user has their own bucket.
    expect(await b.shared.streamCreation.take('user-2')).toEqual({ ok: true });
  });

  it('chat messages per address trip across nodes', async () => {
    const [a, b] = await twoNodes();
    expect((await a.shared.chatPerAddress.take('10.0.0.1')).ok).toBe(true);
    expect((await b.shared.chatPerAddress.take('10.0.0.1')).ok).toBe(true);
    expect((await a.shared.chatPerAddress.take('10.0.0.1')).ok).toBe(true);
    expect((await b.shared.chatPerAddress.take('10.0.0.1')).ok).toBe(false);
  });

  it('failed logins counted on one node slow the next attempt on the other; a success clears them', async () => {
    const [a, b] = await twoNodes();
    for (let i = 0; i < 3; i++) await (i % 2 ? a : b).shared.login.byUser.fail('alice');
    expect(await a.shared.login.byUser.retryAfterMs('alice')).toBe(0);
    await b.shared.login.byUser.fail('alice');
    const wait = await a.shared.login.byUser.retryAfterMs('alice');
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(1000);
    await a.shared.login.byUser.succeed('alice');
    expect(await b.shared.login.byUser.retryAfterMs('alice')).toBe(0);
  });

  it('sockets per address: the sum over both nodes; a place given back is free for the other node; a dead node frees its places', async () => {
    const [a, b] = await twoNodes();
    const takes = await Promise.all([a, b, a, b, a, b].map((x) => x.shared.sockets.acquire('10.0.0.9')));
    expect(takes.filter(Boolean)).toHaveLength(3);
    expect(a.shared.sockets.held('10.0.0.9') + b.shared.sockets.held('10.0.0.9')).toBe(3);
    // The node holding more (at least 2 of the 3): it still holds one after giving one back.
    const holder = a.shared.sockets.held('10.0.0.9') >= 2 ? a : b;
    const other = holder === a ? b : a;
    holder.shared.sockets.release('10.0.0.9');
    await until('the released place taken on the other node', () => other.shared.sockets.acquire('10.0.0.9'));
    expect(await other.shared.sockets.acquire('10.0.0.9')).toBe(false);
    // The holder dies with its places: the other node gets them once its entry is stale.
    const held = holder.shared.sockets.held('10.0.0.9');
    expect(held).toBeGreaterThan(0);
    crash(holder);
    await until("the dead node's places free", async () => (await other.shared.sockets.acquire('10.0.0.9')) && other.shared.sockets.held('10.0.0.9') === 3);
    expect(await other.shared.sockets.acquire('10.0.0.9')).toBe(false);
  });
});

describe('Redis unreachable, then back', () => {
  it('fails what needs Redis with cluster_unavailable, throws nothing else, and recovers by itself', async () => {
    const [a, b] = await twoNodes();
    const onB = await client(b.url);
    const heard: string[] = [];
    onB.on('stream:updated', (e: { title: string }) => heard.push(e.title));
    await until('an adapter emit from A on B', () => {
      a.io.to('stream:s1').emit('stream:updated', { title: 'before' });
      return heard.includes('before');
    });
    a.shared.audience.setLocal(S1, 3);
    b.shared.audience.setLocal(S1, 2);
    await until('a total of 5 on both nodes', () => a.shared.audience.total(S1) === 5 && b.shared.audience.total(S1) === 5);

    await server.stop();
    await until('A sees Redis gone', () => !a.shared.ready);
    const refused = await a.shared.streamCreation.take('user-1').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RedisUnavailable);
    expect(refused).toMatchObject({ code: 'not_ready', status: 503, reason: 'cluster_unavailable' });
    await expect(b.shared.login.byAddress.retryAfterMs('10.0.0.1')).rejects.toBeInstanceOf(RedisUnavailable);
    await expect(b.shared.sockets.acquire('10.0.0.1')).rejects.toBeInstanceOf(RedisUnavailable);
    // Neither a count change nor an adapter emit throws or leaves an unhandled rejection (vitest fails on those).
    a.shared.audience.setLocal(S1, 4);
    a.io.to('stream:s1').emit('stream:updated', { title: 'lost' });
    await until('the dropped publish counted', () => a.shared.droppedPublishes > 0);
    // Sockets already connected stay connected.
    expect(onB.connected).toBe(true);
    await a.shared.tick();

    // Back, and empty: every node rewrites what it counts; the adapter subscribes again.
    await server.start();
    await until('both nodes see Redis again', () => a.shared.ready && b.shared.ready, 20_000);
    await until('the total is back on both nodes (4 + 2, written while Redis was down)', () => a.shared.audience.total(S1) === 6 && b.shared.audience.total(S1) === 6, 20_000);
    expect(await a.shared.streamCreation.take('user-1')).toEqual({ ok: true });
    await until('an adapter emit from A on B again', () => {
      a.io.to('stream:s1').emit('stream:updated', { title: 'after' });
      return heard.includes('after');
    }, 20_000);
    expect(heard).not.toContain('lost');
  });
});
