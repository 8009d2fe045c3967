/**
 * One broadcast's viewers spread over every mediasoup worker (server/live/ViewerRouters.ts): real workers,
 * real pipe transports, viewers through real socket.io signaling.
 */
import dgram from 'node:dgram';
import type { types } from 'mediasoup';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Broadcast } from '../../server/live/Broadcast.js';
import { socketLease, startRtpSource } from '../helpers/rtpSource.js';
import { connect, goLive, recvRtpCapabilities, vp8RtpParameters, type TestSocket } from '../helpers/signalingClient.js';
import { until } from '../helpers/until.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

let s: TestServer;
let ann: string;
const open: TestSocket[] = [];
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  // HLS off: these tests count routers and transports, and the bridge would add its own.
  s = await startTestServer({ ONAIR_WORKERS: '2', ONAIR_HLS: 'off' });
  ann = await s.broadcaster('ann');
});
afterEach(async () => {
  cleanups.splice(0).forEach((stop) => stop());
  open.splice(0).forEach((c) => c.disconnect());
  await s.broadcasts.endAll('test over');
});
afterAll(async () => s?.close());

const sock = async (token?: string) => {
  const c = await connect(s.url, token);
  open.push(c);
  return c;
};

async function liveStream() {
  const id = (await s.api('POST', '/api/streams', { token: ann, body: { title: 'Spread test' } })).body.id as string;
  const pub = await sock(ann);
  const live = await goLive(pub, id);
  return { id, pub, live, broadcast: s.broadcasts.get(id)! };
}

interface Viewer {
  socket: TestSocket;
  transportId: string;
}

async function viewer(streamId: string): Promise<Viewer> {
  const socket = await sock();
  const joined = await socket.request('viewer:join', { streamId });
  if (!joined.ok) throw new Error(joined.message);
  const t = await socket.request('transport:create', { direction: 'recv' });
  if (!t.ok) throw new Error(t.message);
  return { socket, transportId: t.data.id };
}

async function consume(v: Viewer, producerId: string) {
  const c = await v.socket.request('consume', { producerId, rtpCapabilities: recvRtpCapabilities });
  if (!c.ok) throw new Error(c.message);
  expect(await v.socket.request('consumer:resume', { consumerId: c.data.id })).toMatchObject({ ok: true });
  return c.data;
}

/** The server side of a test socket's consumer. */
const serverConsumer = (v: Viewer, consumerId: string): types.Consumer =>
  s.signaling.io.sockets.sockets.get(v.socket.id!)!.data.peer.consumers.get(consumerId)!;

/** The index of the worker that hosts `router`. */
async function workerOf(router: types.Router): Promise<number> {
  for (const w of s.pool.workers()) if ((await w.worker.dump()).routerIds.includes(router.id)) return w.index;
  throw new Error(`router ${router.id} is on no worker`);
}

/** Which worker each viewer's receive transport is on. */
async function placement(b: Broadcast, viewers: Viewer[]): Promise<number[]> {
  const workerOfTransport = new Map<string, number>();
  for (const router of b.viewerRouters()) {
    const index = await workerOf(router);
    for (const id of (await router.dump()).transportIds as string[]) workerOfTransport.set(id, index);
  }
  return viewers.map((v) => workerOfTransport.get(v.transportId)!);
}

/** Producer ids a router holds (originals or piped twins), from the worker's own dump. */
const producerIdsIn = async (router: types.Router): Promise<string[]> => Object.keys((await router.dump()).mapProducerIdConsumerIds);

describe('one stream, every worker', () => {
  it('spreads the viewers over both workers; viewers on the edge consume the same producer ids, also after a republish', async () => {
    const { id, pub, live, broadcast } = await liveStream();
    const viewers: Viewer[] = [];
    for (let i = 0; i < 6; i++) {
      const v = await viewer(id);
      await consume(v, live.producerId);
      viewers.push(v);
    }
    const primaryWorker = await workerOf(broadcast.router);
    const workers = await placement(broadcast, viewers);
    expect(workers.filter((w) => w === primaryWorker).length).toBeGreaterThanOrEqual(2);
    expect(workers.filter((w) => w !== primaryWorker).length).toBeGreaterThanOrEqual(2);
    // Every viewer counts, whichever router it is on.
    expect(broadcast.receiverCount).toBe(6);
    expect(s.broadcasts.viewerCount(id)).toBe(6);

    const routers = broadcast.viewerRouters();
    expect(routers).toHaveLength(2);
    const edge = routers[1]!;
    expect(await workerOf(edge)).not.toBe(primaryWorker);
    expect(await producerIdsIn(edge)).toEqual([live.producerId]);

    // The broadcaster republishes: the new producer reaches the edge under its own id, the old one leaves it.
    const onEdge = viewers.filter((_, i) => workers[i] !== primaryWorker);
    const announced = new Promise<string[]>((r) =>
      onEdge[0]!.socket.on('broadcast:producers', (e) => e.producers.length > 0 && r(e.producers.map((p) => p.id))),
    );
    expect(await pub.request('producer:close', { producerId: live.producerId })).toMatchObject({ ok: true });
    const again = await pub.request('produce', {
      transportId: live.transportId,
      kind: 'video',
      rtpParameters: vp8RtpParameters(44444444),
      source: 'camera',
    });
    if (!again.ok) throw new Error(again.message);
    expect(await announced).toEqual([again.data.id]);
    for (const v of onEdge) expect((await consume(v, again.data.id)).producerId).toBe(again.data.id);
    await until('the old producer to leave the edge', async () => (await producerIdsIn(edge)).join() === again.data.id);
  });

  it('spreads viewers who join at the same moment too', async () => {
    const { id, broadcast } = await liveStream();
    const sockets = await Promise.all(Array.from({ length: 8 }, () => sock()));
    for (const socket of sockets) expect(await socket.request('viewer:join', { streamId: id })).toMatchObject({ ok: true });
    // All eight ask for a transport at once: each must see the placements of the others.
    const created = await Promise.all(sockets.map((socket) => socket.request('transport:create', { direction: 'recv' })));
    const viewers = created.map((t, i) => ({ socket: sockets[i]!, transportId: t.ok ? t.data.id : '' }));
    const primaryWorker = await workerOf(broadcast.router);
    const workers = await placement(broadcast, viewers);
    expect(workers.filter((w) => w === primaryWorker).length).toBeGreaterThanOrEqual(3);
    expect(workers.filter((w) => w !== primaryWorker).length).toBeGreaterThanOrEqual(3);
  });

  it('ending the broadcast closes its router and every edge router', async () => {
    const { id, pub, live, broadcast } = await liveStream();
    for (let i = 0; i < 4; i++) await consume(await viewer(id), live.producerId);
    const routers = broadcast.viewerRouters();
    expect(routers).toHaveLength(2);
    expect(await pub.request('broadcast:stop', {})).toMatchObject({ ok: true });
    await until('the broadcast to end', () => broadcast.ended && s.broadcasts.get(id) === undefined);
    expect(routers.every((r) => r.closed)).toBe(true);
    for (const w of s.pool.workers()) expect((await w.worker.dump()).routerIds).toEqual([]);
  });

  it('edge viewers receive the media, ask the broadcaster for keyframes through the pipe, and choose simulcast layers', async () => {
    const { id, pub, live, broadcast } = await liveStream();
    const source = await startRtpSource(socketLease(s, id), { width: 320, height: 240 });
    cleanups.push(() => source.stop());
    // Two viewers: the second lands on the edge (the primary's worker carries the publisher already).
    await consume(await viewer(id), live.producerId);
    const edgeViewer = await viewer(id);
    const edge = broadcast.viewerRouters()[1]!;
    expect((await placement(broadcast, [edgeViewer]))[0]).toBe(await workerOf(edge));

    // Simulcast: a 3-layer producer is a 3-layer simulcast consumer on the edge, and its layer can be chosen.
    const simulcast = await pub.request('produce', {
      transportId: live.transportId,
      kind: 'video',
      rtpParameters: { ...vp8RtpParameters(), mid: '1', encodings: [{ ssrc: 51 }, { ssrc: 52 }, { ssrc: 53 }] },
      source: 'screen',
    });
    if (!simulcast.ok) throw new Error(simulcast.message);
    const layered = await consume(edgeViewer, simulcast.data.id);
    expect(layered.layers).toBe(3);
    const layeredConsumer = serverConsumer(edgeViewer, layered.id);
    expect(layeredConsumer.type).toBe('simulcast');
    expect(await edgeViewer.socket.request('consumer:layers', { consumerId: layered.id, spatialLayer: 0 })).toMatchObject({ ok: true });
    expect(layeredConsumer.preferredLayers?.spatialLayer).toBe(0);

    // Media: RTP from ffmpeg into the primary router comes out of the edge (a plain consumer there sends it
    // to a UDP socket here; a WebRTC viewer's consumer is the same but needs ICE and DTLS first).
    await until('the edge to hold the source', async () => (await producerIdsIn(edge)).includes(source.video.id));
    const udp = dgram.createSocket('udp4');
    cleanups.push(() => udp.close());
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const out = await edge.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
    await out.connect({ ip: '127.0.0.1', port: udp.address().port });
    const onEdge = await out.consume({ producerId: source.video.id, rtpCapabilities: edge.rtpCapabilities });
    const vp8 = onEdge.rtpParameters.codecs[0]!.payloadType;
    let mediaPackets = 0;
    // Payload type 127 is mediasoup's bandwidth probing (padding only), not media.
    udp.on('message', (packet) => (packet[1]! & 0x7f) === vp8 && mediaPackets++);
    await until('VP8 out of the edge', () => mediaPackets > 10);

    // A keyframe request on the edge goes through the pipe to the original producer, which asks its sender.
    // (A request is dropped while the previous one waits for its keyframe: ask until one goes out.)
    await source.video.enableTraceEvent(['pli', 'fir']);
    let askedSender = false;
    source.video.on('trace', (t) => (askedSender ||= t.direction === 'out'));
    await until('a PLI from the original producer', async () => askedSender || void (await onEdge.requestKeyFrame()));
  });

  it('a dead edge worker does not end the broadcast: its viewers are told to make new transports, and get them', async () => {
    const { id, live, broadcast } = await liveStream();
    const viewers: Viewer[] = [];
    for (let i = 0; i < 4; i++) {
      const v = await viewer(id);
      await consume(v, live.producerId);
      viewers.push(v);
    }
    const primaryWorker = await workerOf(broadcast.router);
    const workers = await placement(broadcast, viewers);
    const onEdge = viewers.filter((_, i) => workers[i] !== primaryWorker);
    const onPrimary = viewers.filter((_, i) => workers[i] === primaryWorker);
    expect(onEdge.length).toBeGreaterThan(0);
    expect(onPrimary.length).toBeGreaterThan(0);

    const told = new Map<TestSocket, string[]>();
    for (const v of viewers) v.socket.on('transport:closed', (e) => told.set(v.socket, [...(told.get(v.socket) ?? []), e.transportId]));
    const edgeWorker = s.pool.workers().find((w) => w.index !== primaryWorker)!;
    const replaced = new Promise((r) => s.pool.once('workerreplaced', r));
    process.kill(edgeWorker.pid, 'SIGKILL');

    await until('the edge viewers to be told', () => onEdge.every((v) => told.get(v.socket)?.[0] === v.transportId));
    // A request's answer comes after anything sent to that socket before: the primary viewers were told nothing.
    for (const v of onPrimary) expect(await v.socket.request('viewer:join', { streamId: id })).toMatchObject({ ok: true });
    expect(onPrimary.map((v) => told.get(v.socket))).toEqual(onPrimary.map(() => undefined));
    expect(broadcast.ended).toBe(false);
    expect(broadcast.state).toBe('live');
    expect(broadcast.producer(live.producerId)?.closed).toBe(false);
    expect(broadcast.receiverCount).toBe(onPrimary.length);

    // They come back: a new transport (on a live worker) and the same producer.
    await replaced;
    for (const v of onEdge) {
      const t = await v.socket.request('transport:create', { direction: 'recv' });
      if (!t.ok) throw new Error(t.message);
      expect((await consume({ socket: v.socket, transportId: t.data.id }, live.producerId)).producerId).toBe(live.producerId);
    }
    expect(broadcast.receiverCount).toBe(viewers.length);
  });
});

describe('one worker', () => {
  it('keeps every viewer on the broadcast router: nothing is piped', async () => {
    await s.close();
    s = await startTestServer({ ONAIR_WORKERS: '1', ONAIR_HLS: 'off' }, s.dataDir);
    const { id, live, broadcast } = await liveStream();
    for (let i = 0; i < 3; i++) await consume(await viewer(id), live.producerId);
    expect(broadcast.viewerRouters()).toEqual([broadcast.router]);
    // The publisher's send transport and three receive transports; no pipe transport.
    expect((await broadcast.router.dump()).transportIds).toHaveLength(4);
  });
});
