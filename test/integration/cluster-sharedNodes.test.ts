/**
 * Cluster mode's shared live state through two whole OnAir nodes (startOnAir in this process, each with its
 * own port, data dir and node URL) on one real Redis and one real PostgreSQL (test/helpers/redis.ts,
 * postgres.ts): what users of the API and the signaling socket see.
 *
 * Shown: viewers joined on two nodes make one count, pushed to the sockets of both and answered by both
 * APIs; a stream's change made through node A's API reaches a viewer socket on node B exactly once, and a chat
 * message sent on A a chat member on B; stream
 * creations of one user counted across the nodes; /readyz reports Redis; with Redis stopped, a login (it
 * needs the shared throttle) is refused with 503 `cluster_unavailable` at once, a connected viewer stays
 * connected, and after Redis comes back (empty) the node is ready again, logins work and the count is whole
 * again, without a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerEvents } from '../../shared/signaling.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { freePort } from '../helpers/serverProcess.js';
import { connect, type TestSocket } from '../helpers/signalingClient.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';

const CLUSTER_SECRET = 'cluster-shared-test-secret-0123456789abcdef';
const JWT_SECRET = 'cluster-shared-test-jwt-secret-0123456789abcdef';

let redis: RedisServer;
let pg: PostgresServer;
let a: TestServer;
let b: TestServer;
const closers: (() => unknown)[] = [];

async function startNode(databaseUrl: string, pipeBase: number): Promise<TestServer> {
  const port = await freePort();
  return startTestServer({
    PORT: String(port),
    ONAIR_DATABASE_URL: databaseUrl,
    ONAIR_REDIS_URL: redis.url,
    ONAIR_CLUSTER_SECRET: CLUSTER_SECRET,
    ONAIR_NODE_URL: `http://127.0.0.1:${port}`,
    ONAIR_PIPE_LISTEN_IP: '127.0.0.1',
    ONAIR_PIPE_PORT_MIN: String(pipeBase),
    ONAIR_PIPE_PORT_MAX: String(pipeBase + 29),
    ONAIR_JWT_SECRET: JWT_SECRET,
    ONAIR_HLS: 'off',
  });
}

beforeAll(async () => {
  redis = await startRedis();
  pg = await startPostgres();
  const databaseUrl = await pg.createDatabase();
  // The first node migrates the empty catalogue and makes the admin; the second finds it done.
  a = await startNode(databaseUrl, 47600);
  b = await startNode(databaseUrl, 47700);
}, 90_000);

afterAll(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await b?.close().catch(() => undefined);
  await a?.close().catch(() => undefined);
  await redis?.close();
  await pg?.close();
}, 60_000);

async function socketTo(node: TestServer, token?: string): Promise<TestSocket> {
  const s = await connect(node.url, token);
  closers.push(() => s.close());
  return s;
}

function record<E extends keyof ServerEvents>(socket: TestSocket, name: E): Parameters<ServerEvents[E]>[0][] {
  const seen: Parameters<ServerEvents[E]>[0][] = [];
  (socket as unknown as { on(e: string, fn: (p: unknown) => void): void }).on(name, (p) => seen.push(p as Parameters<ServerEvents[E]>[0]));
  return seen;
}

async function newStream(title: string): Promise<{ id: string; token: string }> {
  const token = await a.login();
  const r = await a.api('POST', '/api/streams', { token, body: { title } });
  if (r.status !== 201) throw new Error(`stream creation failed: ${r.status} ${JSON.stringify(r.body)}`);
  return { id: r.body.id as string, token };
}

const apiCount = async (node: TestServer, id: string) => (await node.api('GET', `/api/streams/${id}`)).body.viewerCount as number;

describe('two nodes on one Redis', () => {
  it('viewers on both nodes make one count: pushed to the sockets of both, answered by both APIs', async () => {
    const { id } = await newStream('one audience');
    const onA = await socketTo(a);
    const onB = await socketTo(b);
    const countsA = record(onA, 'viewers:count');
    const countsB = record(onB, 'viewers:count');
    expect((await onA.request('viewer:join', { streamId: id })).ok).toBe(true);
    expect((await onB.request('viewer:join', { streamId: id })).ok).toBe(true);
    await until('a count of 2 pushed on both nodes', () => countsA.at(-1)?.count === 2 && countsB.at(-1)?.count === 2);
    await until('a count of 2 from both APIs', async () => (await apiCount(a, id)) === 2 && (await apiCount(b, id)) === 2);
    expect(a.broadcasts.totalViewers).toBe(1);
    expect(b.broadcasts.totalViewers).toBe(1);
    onB.close();
    await until('a count of 1 pushed on A and answered by B', async () => countsA.at(-1)?.count === 1 && (await apiCount(b, id)) === 1);
  });

  it("a stream's change made through node A's API reaches a viewer on node B once", async () => {
    const { id, token } = await newStream('before');
    const onB = await socketTo(b);
    const onA = await socketTo(a);
    const updatesB = record(onB, 'stream:updated');
    const updatesA = record(onA, 'stream:updated');
    expect((await onB.request('viewer:join', { streamId: id })).ok).toBe(true);
    expect((await onA.request('viewer:join', { streamId: id })).ok).toBe(true);
    const r = await a.api('PATCH', `/api/streams/${id}`, { token, body: { title: 'after' } });
    expect(r.status).toBe(200);
    await until('stream:updated on B', () => updatesB.some((u) => u.stream.title === 'after'));
    await until('stream:updated on A', () => updatesA.some((u) => u.stream.title === 'after'));
    // A second change: whatever of the first was still on its way has arrived once this one is seen.
    await a.api('PATCH', `/api/streams/${id}`, { token, body: { title: 'after again' } });
    await until('the second change on both', () => updatesB.some((u) => u.stream.title === 'after again') && updatesA.some((u) => u.stream.title === 'after again'));
    expect(updatesB.filter((u) => u.stream.title === 'after')).toHaveLength(1);
    expect(updatesA.filter((u) => u.stream.title === 'after')).toHaveLength(1);
  });

  it('a chat message sent on node A reaches a chat member on node B once', async () => {
    const { id } = await newStream('one chat');
    const onA = await socketTo(a);
    const onB = await socketTo(b);
    const heardB = record(onB, 'chat:messages');
    expect((await onA.request('chat:join', { streamId: id, name: 'alice' })).ok).toBe(true);
    expect((await onB.request('chat:join', { streamId: id, name: 'bob' })).ok).toBe(true);
    const texts = () => heardB.flatMap((e) => e.messages.map((m) => m.text));
    // B's adapter subscribes to the chat room's channel as bob joins: send until B hears one.
    let n = 0;
    await until('a message from A on B', async () => {
      const sent = await onA.request('chat:send', { text: `hello ${++n}` });
      if (!sent.ok) throw new Error(`chat:send: ${sent.error}`);
      return texts().length > 0;
    });
    const last = await onA.request('chat:send', { text: 'last one' });
    expect(last.ok).toBe(true);
    await until('the last message on B', () => texts().includes('last one'));
    expect(texts().filter((t) => t === 'last one')).toHaveLength(1);
  });

  it("stream creations of one user are counted across the nodes (20 a minute)", async () => {
    const token = await a.broadcaster('creator');
    const started = Date.now();
    const statuses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).api('POST', '/api/streams', { token, body: { title: `s${i}` } }).then((r) => r.status)),
    );
    // 20 at once, then one every 3 s: at most that many while these ran.
    const allowed = 20 + Math.ceil((Date.now() - started) / 3000);
    const created = statuses.filter((s) => s === 201).length;
    expect(created).toBeGreaterThanOrEqual(20);
    expect(created).toBeLessThanOrEqual(allowed);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30 - created);
  });

  it('Redis stopped: a login fails with cluster_unavailable, viewers stay; Redis back: ready, logins and the count again', async () => {
    const { id } = await newStream('through an outage');
    const onA = await socketTo(a);
    const onB = await socketTo(b);
    expect((await onA.request('viewer:join', { streamId: id })).ok).toBe(true);
    expect((await onB.request('viewer:join', { streamId: id })).ok).toBe(true);
    await until('a count of 2 from both APIs', async () => (await apiCount(a, id)) === 2 && (await apiCount(b, id)) === 2);
    const ready = await a.api('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks.redis).toBe(true);

    await redis.stop();
    await until('A not ready, Redis named', async () => {
      const r = await a.api('GET', '/readyz');
      return r.status === 503 && r.body.checks.redis === false;
    });
    const login = await b.api('POST', '/api/auth/login', { body: { username: 'admin', password: 'admin-password-1' } });
    expect(login.status).toBe(503);
    expect(login.body).toMatchObject({ error: 'not_ready', reason: 'cluster_unavailable' });
    expect(login.headers.get('retry-after')).toBe('5');
    expect(onA.connected && onB.connected).toBe(true);

    await redis.start();
    await until('A and B ready again', async () => (await a.api('GET', '/readyz')).status === 200 && (await b.api('GET', '/readyz')).status === 200, 30_000);
    await until('a login through B', async () => (await b.api('POST', '/api/auth/login', { body: { username: 'admin', password: 'admin-password-1' } })).status === 200, 30_000);
    // Redis came back empty: each node wrote its own viewers again.
    await until('a count of 2 from both APIs again', async () => (await apiCount(a, id)) === 2 && (await apiCount(b, id)) === 2, 30_000);
  });
});
