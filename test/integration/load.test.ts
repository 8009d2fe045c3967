/**
 * Load: 1,000 socket.io viewers (websocket, from this process) join and leave a live broadcast, first in a
 * storm where joins and leaves overlap, then all at once; half of them open a receive transport and
 * consume. No error other than a rate limit; viewer counts exact (Broadcasts, the API and the latest
 * viewers:count event a watcher sees); and once they are gone, nothing of theirs is left: transports,
 * WebRTC seats, sockets, rooms, listeners, timers, memory.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamRoom } from '../../server/signaling/SignalingServer.js';
import { connect, goLive, recvRtpCapabilities, type TestSocket } from '../helpers/signalingClient.js';
import { until } from '../helpers/until.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

// Memory is compared after a full GC. vitest forks this file's worker without --expose-gc (a project of its
// own with execArgv would split the config); V8 takes the flag at run time, and a fresh context then has
// `gc`. The server runs in this process, so the RSS measured is the server's (plus the clients', gone by then).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const VIEWERS = 1000;
/** Viewers connecting, watching or leaving at the same time in the storm. */
const IN_FLIGHT = 200;
const BATCH = 100;

let s: TestServer;
let streamId: string;
let producerId: string;
let sendTransportId: string;
let publisher: TestSocket;
let watcher: TestSocket;
const counts: number[] = [];

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}
const settleGc = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 100));
  }
};
const resources = () => {
  const n: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) n[r] = (n[r] ?? 0) + 1;
  return n;
};
/** Listeners on every long-lived object a viewer touches. */
const listenerTotal = () => {
  const b = s.broadcasts.get(streamId)!;
  const producer = b.producer(producerId)!;
  const emitters = [s.broadcasts, b, b.router, b.router.observer, producer, producer.observer, s.signaling.io, s.signaling.io.of('/'), s.signaling.io.engine] as unknown as NodeJS.EventEmitter[];
  return emitters.map((e) => e.eventNames().reduce((sum, name) => sum + e.listenerCount(name), 0));
};

/** What went wrong in the storm: any error ack other than a rate limit. */
const errors: string[] = [];
let rateLimited = 0;
const check = <R extends { ok: true } | { ok: false; error: string; message: string }>(what: string, r: R): R => {
  if (r.ok) return r;
  if (r.error === 'too_many_requests') rateLimited++;
  else errors.push(`${what}: ${r.error} ${r.message}`);
  return r;
};

/** One viewer: joins; every other one also receives the broadcast. Returns its socket. */
async function joinViewer(i: number): Promise<TestSocket> {
  const c = await connect(s.url);
  check('viewer:join', await c.request('viewer:join', { streamId }));
  if (i % 2 === 0) {
    check('transport:create', await c.request('transport:create', { direction: 'recv' }));
    const k = check('consume', await c.request('consume', { producerId, rtpCapabilities: recvRtpCapabilities }));
    if (k.ok) check('consumer:resume', await c.request('consumer:resume', { consumerId: k.data.id }));
  }
  return c;
}
/** Leaves politely (viewer:leave, then disconnect) or just drops, by turns. */
async function leaveViewer(c: TestSocket, i: number): Promise<void> {
  if (i % 4 < 2) check('viewer:leave', await c.request('viewer:leave', {}));
  c.disconnect();
}

let baseline: { sockets: number; listeners: number[]; resources: Record<string, number> };
/** Memory after the storm: a first round of 1,000 viewers grows pools and compiled code once for good. */
let memBefore: NodeJS.MemoryUsage;

beforeAll(async () => {
  // Every viewer connects from 127.0.0.1: the per-address socket limit is raised above all of them at once.
  s = await startTestServer({ ONAIR_HLS: 'off', ONAIR_MAX_WEBRTC_VIEWERS: String(VIEWERS), ONAIR_MAX_SOCKETS_PER_ADDRESS: String(2 * VIEWERS) });
  const bob = await s.broadcaster('bob');
  streamId = (await s.api('POST', '/api/streams', { token: bob, body: { title: 'Load' } })).body.id;
  publisher = await connect(s.url, bob);
  ({ producerId, transportId: sendTransportId } = await goLive(publisher, streamId));
  watcher = await connect(s.url);
  watcher.on('viewers:count', (e) => counts.push(e.count));
  await watcher.request('viewer:join', { streamId });
  // Warm up (JIT, pools, lazily made buffers), so the baseline is not a cold process.
  const warm = await Promise.all(Array.from({ length: 50 }, (_, i) => joinViewer(i)));
  await Promise.all(warm.map((c, i) => leaveViewer(c, i)));
  // Gone from the audience first (viewer:leave), then their sockets close: the publisher and the watcher stay.
  await until('the warm-up viewers to leave', () => s.broadcasts.viewerCount(streamId) === 1 && s.signaling.io.of('/').sockets.size === 2);
  baseline = { sockets: 2, listeners: listenerTotal(), resources: resources() };
}, 60_000);
afterAll(async () => {
  watcher?.disconnect();
  publisher?.disconnect();
  await s?.close();
});

describe(`${VIEWERS} viewers`, () => {
  it('join and leave in a storm: no errors, the count exact at the end, its updates coalesced', async () => {
    const started = Date.now();
    counts.length = 0;
    await pool(
      Array.from({ length: VIEWERS }, (_, i) => i),
      IN_FLIGHT,
      async (i) => {
        const c = await joinViewer(i);
        await new Promise((r) => setTimeout(r, (i * 37) % 150));
        await leaveViewer(c, i);
      },
    );
    await until('the audience to be back to the watcher', () => s.broadcasts.viewerCount(streamId) === 1 && counts.at(-1) === 1);
    console.log(`load: storm of ${VIEWERS} viewers (${IN_FLIGHT} at a time) in ${Date.now() - started} ms, peak ${Math.max(...counts)}, rate-limited answers ${rateLimited}`);
    expect(errors.slice(0, 10)).toEqual([]);
    expect(counts.every((n) => n >= 1 && n <= IN_FLIGHT + 1)).toBe(true);
    // 2,000 changes; the room hears a few per second, not each (which would be O(viewers²) messages).
    expect(counts.length).toBeLessThan(VIEWERS / 4);
    await until('every viewer socket to be gone on the server', () => s.signaling.io.of('/').sockets.size === baseline.sockets);
    await settleGc();
    memBefore = process.memoryUsage();
  }, 60_000);

  it('are all counted when all are in, and leave nothing behind when all are gone (twice: memory does not grow per round)', async () => {
    const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
    const after: NodeJS.MemoryUsage[] = [];
    for (let round = 1; round <= 2; round++) {
      const started = Date.now();
      counts.length = 0;
      const sockets: TestSocket[] = [];
      for (let i = 0; i < VIEWERS; i += BATCH) sockets.push(...(await Promise.all(Array.from({ length: BATCH }, (_, j) => joinViewer(i + j)))));
      const joinedMs = Date.now() - started;
      const b = s.broadcasts.get(streamId)!;
      await until('the watcher to see everyone', () => counts.at(-1) === VIEWERS + 1);
      expect(s.broadcasts.viewerCount(streamId)).toBe(VIEWERS + 1);
      expect((await s.api('GET', `/api/streams/${streamId}`)).body.viewerCount).toBe(VIEWERS + 1);
      expect(b.receiverCount).toBe(VIEWERS / 2);
      expect((await b.router.dump()).transportIds).toHaveLength(1 + VIEWERS / 2);
      expect(s.signaling.io.of('/').sockets.size).toBe(baseline.sockets + VIEWERS);
      const peak = process.memoryUsage();

      for (let i = 0; i < VIEWERS; i += BATCH) await Promise.all(sockets.slice(i, i + BATCH).map((c, j) => leaveViewer(c, i + j)));
      await until('the audience to be back to the watcher', () => s.broadcasts.viewerCount(streamId) === 1 && counts.at(-1) === 1);
      // The namespace lets go of a socket a moment before engine.io closes its connection: wait for both.
      await until(
        'every viewer socket and connection to be gone on the server',
        () => s.signaling.io.of('/').sockets.size === baseline.sockets && s.signaling.io.engine.clientsCount === baseline.sockets,
      );
      const totalMs = Date.now() - started;
      expect(errors.slice(0, 10)).toEqual([]);

      // Nothing left of them: transports (and so consumers), WebRTC seats, sockets, room members, listeners.
      expect((await b.router.dump()).transportIds).toEqual([sendTransportId]);
      expect(b.receiverCount).toBe(0);
      expect(s.signaling.io.engine.clientsCount).toBe(baseline.sockets);
      expect(s.signaling.socketsPerAddress.held('127.0.0.1')).toBe(baseline.sockets);
      expect(s.signaling.io.of('/').adapter.rooms.get(streamRoom(streamId))?.size).toBe(2);
      expect(listenerTotal()).toEqual(baseline.listeners);
      // Timers and sockets of this process (server and clients): as before, give or take a few in flight.
      await until('timers and sockets to wind down', () => {
        const now = resources();
        return ['Timeout', 'TCPSocketWrap'].every((k) => (now[k] ?? 0) <= (baseline.resources[k] ?? 0) + 5);
      });

      await settleGc();
      after.push(process.memoryUsage());
      console.log(
        `load: round ${round}: ${VIEWERS} viewers joined in ${joinedMs} ms, all gone after ${totalMs} ms; ` +
          `RSS ${mb(memBefore.rss)} → peak ${mb(peak.rss)} → ${mb(after.at(-1)!.rss)} after GC; ` +
          `heap used ${mb(memBefore.heapUsed)} → ${mb(peak.heapUsed)} → ${mb(after.at(-1)!.heapUsed)}`,
      );
    }
    // RSS back within 10 % of what it was before. The heap keeps a few MB the first time a thousand are in at
    // once (hash tables sized for them, compiled code); a leak would grow it again in the second round.
    expect(after[1]!.rss).toBeLessThanOrEqual(memBefore.rss * 1.1);
    expect(after[1]!.heapUsed).toBeLessThanOrEqual(after[0]!.heapUsed * 1.1);

    // And the audience map forgets the stream once the last viewer leaves.
    await watcher.request('viewer:leave', {});
    expect(s.broadcasts.totalViewers).toBe(0);
  }, 90_000);
});
