/**
 * Media between two nodes (server/cluster/EdgeFeed.ts, OriginPipes.ts, EdgePipe.ts, EdgePipes.ts): two
 * "nodes" in this process, each with its own mediasoup WorkerPool, Redis client, registry entry, internal API
 * on its own loopback port and pipe port range, sharing one real Redis. The origin runs a real broadcast fed
 * by ffmpeg (test/helpers/rtpSource.ts); the edge pipes it over SRTP with RTX, negotiated over the signed
 * internal API, and a consumer on the edge receives its RTP under the origin's producer ids.
 */
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type { types } from 'mediasoup';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterNode } from '../../server/cluster/ClusterNode.js';
import { parseClusterSettings } from '../../server/cluster/ClusterSettings.js';
import { EdgePipes, NoOriginError } from '../../server/cluster/EdgePipes.js';
import type { EdgePipe } from '../../server/cluster/EdgePipe.js';
import { InternalApi } from '../../server/cluster/InternalApi.js';
import type { InternalClient } from '../../server/cluster/InternalClient.js';
import type { NodeRegistry } from '../../server/cluster/NodeRegistry.js';
import { OriginLeases, type OriginLease } from '../../server/cluster/OriginLeases.js';
import type { OriginPipes, FedBroadcast } from '../../server/cluster/OriginPipes.js';
import { okSchema, openPipeAnswerSchema } from '../../server/cluster/pipeSchemas.js';
import type { PipeTransports } from '../../server/cluster/PipeTransports.js';
import { connectRedis, type Redis } from '../../server/cluster/redisClient.js';
import { Broadcasts } from '../../server/live/Broadcasts.js';
import { createLogger } from '../../server/log/logger.js';
import { WorkerPool } from '../../server/media/WorkerPool.js';
import { openCatalogue } from '../../server/store/sql/catalogue.js';
import { newStreamId } from '../../server/store/ids.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startRtpSource, type RtpSource } from '../helpers/rtpSource.js';
import { until } from '../helpers/until.js';

const SECRET = 'pipe-test-cluster-secret-0123456789abcdef';
const PREFIX = 'pipes:';
const logger = createLogger('silent');

interface TestNode {
  id: string;
  url: string;
  pool: WorkerPool;
  redis: Redis;
  registry: NodeRegistry;
  client: InternalClient;
  transports: PipeTransports;
  leases: OriginLeases;
  broadcasts: Broadcasts;
  /** The node's catalogue (a broadcast starts only for a stream that exists in it). */
  newStream(): Promise<string>;
  /** Streams this node is the origin of, as OriginPipes looks them up. */
  origins: Map<string, { broadcast: FedBroadcast; lease: OriginLease }>;
  originPipes: OriginPipes;
  edgePipes: EdgePipes;
  close(): Promise<void>;
}

/** A node as the app will make it: settings parsed from its environment, its parts made by ClusterNode. */
async function startNode(id: string, ports: [number, number]): Promise<TestNode> {
  const pool = await WorkerPool.create({ size: 1, listenIp: '127.0.0.1', announcedIp: '127.0.0.1', firstPort: 0, logger });
  let cluster: ClusterNode | undefined;
  const server = await new Promise<Server>((resolve) => {
    const s = express()
      .use('/internal', (req, res, next) => (cluster ? cluster.api.router(req, res, next) : next()))
      .listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const settings = parseClusterSettings({
    ONAIR_REDIS_URL: redisServer.url,
    ONAIR_CLUSTER_SECRET: SECRET,
    ONAIR_NODE_URL: url,
    ONAIR_NODE_ID: id,
    ONAIR_PIPE_LISTEN_IP: '127.0.0.1',
    ONAIR_PIPE_PORT_MIN: String(ports[0]),
    ONAIR_PIPE_PORT_MAX: String(ports[1]),
  })!;
  const catalogue = await openCatalogue({ sqliteFile: ':memory:', nodeId: id });
  const { streams } = catalogue;
  const owner = await catalogue.users.create({ username: `owner-${id}`, passwordHash: 'x', role: 'broadcaster' });
  const newStream = async () => (await streams.create({ ownerId: owner.id, title: 'cluster test', description: '', tags: [], visibility: 'public' })).id;
  const broadcasts = new Broadcasts({ pool, streams, logger, graceMs: 5_000, maxWebrtcViewers: 100 });
  const origins = new Map<string, { broadcast: FedBroadcast; lease: OriginLease }>();
  cluster = await ClusterNode.start({
    settings,
    logger,
    lookup: (s) => origins.get(s),
    load: () => ({ streams: broadcasts.liveCount, viewers: broadcasts.totalViewers, workers: pool.aliveCount }),
    prefix: PREFIX,
  });
  const c = cluster;
  return {
    id, url, pool, broadcasts, origins, newStream,
    redis: c.redis, registry: c.registry, client: c.client, transports: c.transports, leases: c.leases, originPipes: c.originPipes, edgePipes: c.edgePipes,
    async close() {
      await c.close();
      await broadcasts.endAll('test over');
      await new Promise((r) => server.close(r));
      pool.close();
      await catalogue.close();
    },
  };
}

let redisServer: RedisServer;
let origin: TestNode;
let edge: TestNode;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  redisServer = await startRedis();
  origin = await startNode('node-origin', [46000, 46019]);
  edge = await startNode('node-edge', [46100, 46119]);
});
/** Routers left on a node's workers, as the workers report them. */
const routersLeft = async (node: TestNode): Promise<number> => {
  let n = 0;
  for (const w of node.pool.workers()) n += ((await w.worker.dump()) as { routerIds: string[] }).routerIds.length;
  return n;
};

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  // Nothing left behind on either node: no feed, no pipe, no port, no router (and so no transport).
  await until('both nodes clean', async () => {
    const left = [origin.originPipes.size, origin.edgePipes.size, edge.originPipes.size, edge.edgePipes.size, origin.transports.inUse, edge.transports.inUse];
    return left.every((n) => n === 0) && (await routersLeft(origin)) === 0 && (await routersLeft(edge)) === 0;
  }, 5_000);
});
afterAll(async () => {
  await edge?.close();
  await origin?.close();
  await redisServer?.close();
});

interface Live {
  streamId: string;
  source: RtpSource;
  lease: OriginLease;
  end(): Promise<void>;
}

/** A live broadcast on `node`, fed by ffmpeg, with `node` holding the stream's origin lease. */
async function goLive(node: TestNode, leases: OriginLeases = node.leases): Promise<Live> {
  const streamId = await node.newStream();
  const acquired = await leases.acquire(streamId);
  if (!acquired.ok) throw new Error('lease taken');
  const { broadcast, lease: publisher } = await node.broadcasts.start(streamId, 'publisher-1');
  node.origins.set(streamId, { broadcast, lease: acquired.lease });
  const source = await startRtpSource(publisher, { width: 320, height: 240 });
  const live: Live = {
    streamId,
    source,
    lease: acquired.lease,
    async end() {
      source.stop();
      await broadcast.end('test over');
      node.origins.delete(streamId);
      await acquired.lease.release();
    },
  };
  cleanups.push(() => live.end());
  return live;
}

/** A router on the edge node for the stream, and the pipe into it. */
async function pipeToEdge(streamId: string): Promise<{ router: types.Router; pipe: EdgePipe }> {
  const { router } = await edge.pool.createRouter({ streamId });
  cleanups.push(() => router.close());
  return { router, pipe: await edge.edgePipes.open(streamId, router) };
}

/** A consumer on `router` sending `producerId`'s RTP to a UDP socket here. */
async function edgeConsumer(router: types.Router, producerId: string): Promise<types.Consumer> {
  const udp = dgram.createSocket('udp4');
  cleanups.push(() => udp.close());
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  const out = await router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
  await out.connect({ ip: '127.0.0.1', port: udp.address().port });
  return out.consume({ producerId, rtpCapabilities: router.rtpCapabilities });
}

const bytesSent = async (c: types.Consumer): Promise<number> => (await c.getStats()).find((s) => s.type === 'outbound-rtp')?.byteCount ?? 0;
const ids = (producers: { id: string }[]) => producers.map((p) => p.id).sort();

describe('RemotePipe: a stream from its origin node to an edge node', () => {
  it('pipes the broadcast under the same producer ids; an edge consumer receives its RTP; keyframe requests reach the origin producer', async () => {
    const live = await goLive(origin);
    const { router, pipe } = await pipeToEdge(live.streamId);
    expect(ids(pipe.producers())).toEqual(ids([live.source.video, live.source.audio]));
    expect(pipe.producer(live.source.video.id)!.kind).toBe('video');
    expect(pipe.producer(live.source.video.id)!.appData).toMatchObject({ source: 'whip', height: 240 });
    expect(pipe.token).toBe(live.lease.token);
    expect(origin.originPipes.size).toBe(1);

    // SRTP and RTX on both ends, each on a port of its node's pipe range.
    const originTransport = (await origin.broadcasts.get(live.streamId)!.router.dump()).transportIds as string[];
    expect(originTransport.length).toBeGreaterThan(0);
    const edgeDump = await router.dump();
    expect(edgeDump.transportIds).toHaveLength(1);
    expect(edge.transports.inUse).toBe(1);
    expect(origin.transports.inUse).toBe(1);

    const video = await edgeConsumer(router, live.source.video.id);
    const audio = await edgeConsumer(router, live.source.audio.id);
    await until('video bytes out of the edge', async () => (await bytesSent(video)) > 20_000);
    const first = await bytesSent(video);
    await until('more video bytes', async () => (await bytesSent(video)) > first);
    await until('audio bytes out of the edge', async () => (await bytesSent(audio)) > 1_000);

    // A keyframe request on the edge crosses the pipe as RTCP and makes the origin's producer ask its sender.
    // (A request is dropped while the previous one waits for its keyframe: ask until one goes out.)
    await live.source.video.enableTraceEvent(['pli', 'fir']);
    let askedSender = false;
    live.source.video.on('trace', (t) => (askedSender ||= t.direction === 'out'));
    await until('a PLI from the origin producer', async () => askedSender || void (await video.requestKeyFrame()));
  });

  it('the pipe runs with SRTP and RTX on both ends (what crosses hosts is encrypted and retransmitted)', async () => {
    const live = await goLive(origin);
    const originRouter = origin.broadcasts.get(live.streamId)!.router;
    const made: types.Transport[] = [];
    originRouter.observer.on('newtransport', (t: types.Transport) => made.push(t));
    const { router } = await edge.pool.createRouter({ streamId: live.streamId });
    cleanups.push(() => router.close());
    router.observer.on('newtransport', (t: types.Transport) => made.push(t));
    const pipe = await edge.edgePipes.open(live.streamId, router);
    const pipes = made.filter((t): t is types.PipeTransport => t.constructor.name === 'PipeTransport');
    expect(pipes).toHaveLength(2);
    for (const t of pipes) expect(t.srtpParameters?.cryptoSuite).toMatch(/^(AEAD_AES|AES_CM)/);
    expect(pipes.map((t) => t.tuple.localPort).sort()).toEqual([expect.any(Number), expect.any(Number)]);
    const [onOrigin, onEdge] = [pipes.find((t) => t.tuple.localPort < 46100)!, pipes.find((t) => t.tuple.localPort >= 46100)!];
    expect(onOrigin.tuple.localPort).toBeGreaterThanOrEqual(46000);
    expect(onEdge.tuple.localPort).toBeLessThanOrEqual(46119);
    // Each end sends to the other's announced tuple.
    expect(onOrigin.tuple.remotePort).toBe(onEdge.tuple.localPort);
    expect(onEdge.tuple.remotePort).toBe(onOrigin.tuple.localPort);
    // The piped video carries an RTX stream (enableRtx): lost packets are retransmitted between nodes.
    const video = pipe.producer(live.source.video.id)!;
    expect(video.rtpParameters.codecs.map((c) => c.mimeType.toLowerCase())).toContain('video/rtx');
    expect(video.rtpParameters.encodings?.[0]?.rtx?.ssrc).toEqual(expect.any(Number));
    await until('SRTP bytes received by the edge', async () => ((await onEdge.getStats())[0]?.bytesReceived ?? 0) > 10_000);
  });

  it('mirrors pause and resume of the origin producer', async () => {
    const live = await goLive(origin);
    const { pipe } = await pipeToEdge(live.streamId);
    const onEdge = pipe.producer(live.source.video.id)!;
    expect(onEdge.paused).toBe(false);
    await live.source.video.pause();
    await until('the edge producer paused', () => onEdge.paused);
    await live.source.video.resume();
    await until('the edge producer resumed', () => !onEdge.paused);
  });

  it('re-pipes a republish: the old producers leave the edge, the new ones arrive with their ids', async () => {
    const live = await goLive(origin);
    const { router, pipe } = await pipeToEdge(live.streamId);
    const seen: string[][] = [];
    pipe.on('producers', (p) => seen.push(ids(p)));
    // The publisher drops: its producers close, the broadcast waits for it.
    const broadcast = origin.broadcasts.get(live.streamId)!;
    live.source.stop();
    const { lease } = await origin.broadcasts.start(live.streamId, 'publisher-1');
    await until('the old producers gone from the edge', () => pipe.producers().length === 0 || !pipe.producers().some((p) => p.id === live.source.video.id));
    const again = await startRtpSource(lease, { width: 320, height: 240 });
    cleanups.push(() => again.stop());
    expect(origin.broadcasts.get(live.streamId)).toBe(broadcast);
    await until('the new producers on the edge', () => ids(pipe.producers()).join() === ids([again.video, again.audio]).join());
    expect(seen.at(-1)).toEqual(ids([again.video, again.audio]));
    const video = await edgeConsumer(router, again.video.id);
    await until('new video bytes out of the edge', async () => (await bytesSent(video)) > 5_000);
  });

  it('ending the broadcast closes the pipe on both nodes, and with it the edge producers and their consumers', async () => {
    const live = await goLive(origin);
    const { router, pipe } = await pipeToEdge(live.streamId);
    const video = await edgeConsumer(router, live.source.video.id);
    const closed = new Promise((r) => pipe.once('closed', r));
    const producerClosed = new Promise((r) => video.once('producerclose', () => r(true)));
    await live.end();
    await expect(closed).resolves.toMatchObject({ reason: expect.stringMatching(/.+/) });
    await expect(producerClosed).resolves.toBe(true);
    expect(pipe.producers()).toEqual([]);
    expect(video.closed).toBe(true);
    expect(edge.edgePipes.size).toBe(0);
    await until('the origin feed forgotten', () => origin.originPipes.size === 0);
    expect(origin.transports.inUse).toBe(0);
    expect(edge.transports.inUse).toBe(0);
    // The edge router stays for the edge to decide (its viewers were told by producerclose).
    expect(router.closed).toBe(false);
  });

  it('the edge giving the pipe up closes the origin end; the broadcast goes on', async () => {
    const live = await goLive(origin);
    const { pipe } = await pipeToEdge(live.streamId);
    expect(live.lease.listenerCount('lost')).toBe(1);
    await pipe.close('no viewers left');
    await until('the origin feed closed', () => origin.originPipes.size === 0 && origin.transports.inUse === 0);
    expect(live.lease.listenerCount('lost')).toBe(0);
    expect(origin.broadcasts.get(live.streamId)?.ended).toBe(false);
    // And the edge can come back.
    const { pipe: again } = await pipeToEdge(live.streamId);
    expect(ids(again.producers())).toEqual(ids([live.source.video, live.source.audio]));
  });

  it('one pipe per stream and edge node: concurrent first viewers share one opening, another router is refused', async () => {
    const live = await goLive(origin);
    const { router } = await edge.pool.createRouter({ streamId: live.streamId });
    cleanups.push(() => router.close());
    const [a, b] = await Promise.all([edge.edgePipes.open(live.streamId, router), edge.edgePipes.open(live.streamId, router)]);
    expect(a).toBe(b);
    expect(edge.edgePipes.pipeOf(live.streamId)).toBe(a);
    expect(origin.originPipes.size).toBe(1);
    const { router: other } = await edge.pool.createRouter({ streamId: live.streamId });
    cleanups.push(() => other.close());
    await expect(edge.edgePipes.open(live.streamId, other)).rejects.toThrow(/already piped/);
    // Once it closes, the stream can be piped again (into any router).
    await a.close('test');
    expect(edge.edgePipes.pipeOf(live.streamId)).toBeUndefined();
    const again = await edge.edgePipes.open(live.streamId, other);
    expect(ids(again.producers())).toEqual(ids([live.source.video, live.source.audio]));
  });

  it('a lease lost by the origin closes its feeds and the edge ends (fencing)', async () => {
    const live = await goLive(origin);
    const { pipe } = await pipeToEdge(live.streamId);
    // A second edge node: a second feed under the same lease.
    const edge2 = await startNode('node-edge-2', [46400, 46419]);
    cleanups.push(() => edge2.close());
    const { router: router2 } = await edge2.pool.createRouter({ streamId: live.streamId });
    const second = await edge2.edgePipes.open(live.streamId, router2);
    expect(origin.originPipes.size).toBe(2);
    // One listener on the lease for all its feeds.
    expect(live.lease.listenerCount('lost')).toBe(1);
    const closed = new Promise((r) => pipe.once('closed', r));
    const secondClosed = new Promise((r) => second.once('closed', r));
    // Another node took the stream (the origin was partitioned): the origin's next renewal finds out.
    await origin.redis.set(`${PREFIX}origin:${live.streamId}`, `node-other|${live.lease.token + 1000}`, 'PX', 10_000);
    expect(await live.lease.renew()).toBe(false);
    await expect(closed).resolves.toMatchObject({ reason: expect.stringContaining('no longer the stream origin') });
    await expect(secondClosed).resolves.toMatchObject({ reason: expect.stringContaining('no longer the stream origin') });
    expect(origin.originPipes.size).toBe(0);
    expect(origin.transports.inUse).toBe(0);
  });
});

describe('RemotePipe refusals', () => {
  // (Not a refusal: what the pipe does NOT stop for.)
  it('Redis unreachable from the origin: its lease goes unsure, and the media keeps flowing to the edge', async () => {
    const client = await connectRedis(redisServer.url);
    cleanups.push(() => client.disconnect());
    const shortLeases = new OriginLeases({ redis: client, nodeId: origin.id, logger, prefix: PREFIX, ttlMs: 500, renewMs: 100 });
    const live = await goLive(origin, shortLeases);
    const { router, pipe } = await pipeToEdge(live.streamId);
    const video = await edgeConsumer(router, live.source.video.id);
    await until('video bytes out of the edge', async () => (await bytesSent(video)) > 5_000);
    const unsure = new Promise((r) => live.lease.once('unsure', () => r(true)));
    client.disconnect();
    await expect(unsure).resolves.toBe(true);
    const before = await bytesSent(video);
    await until('more video bytes while the origin cannot reach Redis', async () => (await bytesSent(video)) > before + 20_000);
    expect(pipe.closed).toBe(false);
    expect(origin.originPipes.size).toBe(1);
  });

  it('no origin, or this node is the origin: no pipe', async () => {
    const { router } = await edge.pool.createRouter({});
    cleanups.push(() => router.close());
    await expect(edge.edgePipes.open(newStreamId(), router)).rejects.toBeInstanceOf(NoOriginError);
    const live = await goLive(origin);
    const { router: onOrigin } = await origin.pool.createRouter({});
    cleanups.push(() => onOrigin.close());
    await expect(origin.edgePipes.open(live.streamId, onOrigin)).rejects.toThrow(/this node is the origin/);
    expect(edge.transports.inUse).toBe(0);
  });

  it('the origin refuses to send media to an address that is not the asking node\'s registered address and range', async () => {
    const live = await goLive(origin);
    const srtpParameters = { cryptoSuite: 'AEAD_AES_256_GCM' as const, keyBase64: Buffer.alloc(44, 7).toString('base64') };
    for (const where of [
      { ip: '127.0.0.1', port: 46000 }, // the origin's own range, not the edge's
      { ip: '127.0.0.1', port: 9 }, // outside every range
      { ip: '10.9.9.9', port: 46100 }, // an unregistered host
    ]) {
      const r = await edge.client
        .request(origin.url, 'POST', '/internal/pipes', { streamId: live.streamId, pipeId: `pipe-${where.port}-x`, edge: { ...where, srtpParameters } }, openPipeAnswerSchema)
        .catch((e: unknown) => e);
      expect(r).toMatchObject({ status: 403, code: 'forbidden' });
    }
    expect(origin.transports.inUse).toBe(0);
    expect(origin.originPipes.size).toBe(0);
  });

  it('a stale origin (its lease taken) refuses to open a pipe', async () => {
    const live = await goLive(origin);
    await origin.redis.set(`${PREFIX}origin:${live.streamId}`, `${origin.id}|${live.lease.token + 1000}`, 'PX', 10_000);
    // The lease says node-origin with a newer token: the origin's own lease is stale, it refuses (409).
    await expect(pipeToEdge(live.streamId)).rejects.toMatchObject({ status: 409 });
    expect(edge.transports.inUse).toBe(0);
    expect(origin.transports.inUse).toBe(0);
  });

  it('the edge refuses an answer whose token is not the lease it looked up (an origin answering on an old lease)', async () => {
    const live = await goLive(origin);
    // An edge whose look-up saw an earlier holder's token (its own internal API is not mounted: no updates needed).
    const stale = new EdgePipes({
      api: new InternalApi({ secret: SECRET, redis: edge.redis, logger }),
      originOf: async () => ({ nodeId: origin.id, token: live.lease.token - 1 }),
      registry: edge.registry,
      transports: edge.transports,
      client: edge.client,
      logger,
    });
    const { router } = await edge.pool.createRouter({});
    cleanups.push(() => router.close());
    await expect(stale.open(live.streamId, router)).rejects.toThrow(/answered with lease token/);
    expect(stale.size).toBe(0);
    expect(edge.transports.inUse).toBe(0);
    // The edge told the origin to drop what it opened.
    await until('the origin feed dropped', () => origin.originPipes.size === 0 && origin.transports.inUse === 0);
  });

  it('the edge refuses an origin whose media address is not its registered range', async () => {
    // A node that pipes from 46300-46319 but announces 46200-46209 (it stops heartbeating; its entry,
    // rewritten by hand, stays fresh for the few seconds of this test).
    const rogue = await startNode('node-rogue', [46300, 46319]);
    cleanups.push(() => rogue.close());
    await rogue.registry.stop();
    const entry = { id: rogue.id, url: rogue.url, address: '127.0.0.1', pipePorts: { min: 46200, max: 46209 }, load: { streams: 0, viewers: 0, workers: 1 }, startedAt: 1 };
    const [sec, usec] = await rogue.redis.time();
    await rogue.redis.hset(`${PREFIX}nodes`, rogue.id, `${Number(sec) * 1000 + Math.floor(Number(usec) / 1000)}|${JSON.stringify(entry)}`);
    const live = await goLive(rogue);
    await expect(pipeToEdge(live.streamId)).rejects.toThrow(/not a media address of node node-rogue/);
    expect(edge.transports.inUse).toBe(0);
    await until('the rogue origin told the edge left', () => rogue.originPipes.size === 0);
  });

  it('updates of a pipe come only from its origin, with its token', async () => {
    const live = await goLive(origin);
    const { pipe } = await pipeToEdge(live.streamId);
    const update = { token: pipe.token, remove: [live.source.video.id] };
    const path = `/internal/pipes/${pipe.pipeId}/update`;
    await expect(edge.client.request(edge.url, 'POST', path, update, okSchema)).rejects.toMatchObject({ status: 403 });
    await expect(origin.client.request(edge.url, 'POST', path, { ...update, token: pipe.token - 1 }, okSchema)).rejects.toMatchObject({ status: 409 });
    await expect(origin.client.request(edge.url, 'POST', '/internal/pipes/unknown-pipe-id/update', update, okSchema)).rejects.toMatchObject({ status: 404 });
    expect(ids(pipe.producers())).toEqual(ids([live.source.video, live.source.audio]));
    // The genuine origin with the right token is obeyed.
    await origin.client.request(edge.url, 'POST', path, update, okSchema);
    expect(ids(pipe.producers())).toEqual([live.source.audio.id]);
  });
});

describe('RemotePipe faults', () => {
  it('the origin worker dies: the edge pipe closes; after the republish on a new router the edge pipes again', async () => {
    const live = await goLive(origin);
    const { router, pipe } = await pipeToEdge(live.streamId);
    const closed = new Promise((r) => pipe.once('closed', r));
    const broadcast = origin.broadcasts.get(live.streamId)!;
    const oldRouter = broadcast.router;
    live.source.stop();
    process.kill(origin.pool.workers()[0]!.pid, 'SIGKILL');
    await expect(closed).resolves.toMatchObject({ reason: expect.stringMatching(/router/) });
    expect(pipe.producers()).toEqual([]);
    // The broadcaster republishes (same broadcast, a new router on the replacement worker).
    const { lease } = await origin.broadcasts.start(live.streamId, 'publisher-1');
    expect(broadcast.router).not.toBe(oldRouter);
    const again = await startRtpSource(lease, { width: 320, height: 240 });
    cleanups.push(() => again.stop());
    const repiped = await edge.edgePipes.open(live.streamId, router);
    expect(ids(repiped.producers())).toEqual(ids([again.video, again.audio]));
    const video = await edgeConsumer(router, again.video.id);
    await until('video bytes through the new pipe', async () => (await bytesSent(video)) > 5_000);
  });
});
