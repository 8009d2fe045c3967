/**
 * The cluster end to end (issue 12): Redis, PostgreSQL and nginx (Debian's packages, deploy/nginx/onair.conf)
 * and three OnAir nodes on loopback, started by this spec (test/helpers/cluster.ts), with Chromium as the
 * studio and the viewers. Clients reach the nodes through nginx; each browser carries the sticky cookie of
 * deploy/nginx/onair.conf with a value that nginx maps to the node the test wants (found by asking nginx),
 * so "the viewer on node 2" is a real client of the load balancer that happens to land on node 2, and lands
 * elsewhere when node 2 dies.
 *
 * In order (serial: each step needs the state the previous one left):
 * 1. the studio publishes through nginx (landing on node 0: the origin); viewers on each node play (frames
 *    advance); a signaling client on each node sees the same producer ids; the count is exact on every node;
 * 2. 200 HLS clients through nginx make at most one origin request per segment (and part, and init segment)
 *    of the rendition, counted from nginx's access log;
 * 3. SIGKILL an edge (node 1): its viewer plays again on another node without a reload (time printed);
 * 4. SIGKILL the origin (node 0): the studio republishes through nginx onto another node and every viewer
 *    plays again (time printed);
 * 5. the killed nodes restart: each ends only its own streams (node 1's stream without a broadcaster ends,
 *    the moved stream stays live);
 * 6. WHIP into one node and WHEP from another play.
 * Recovery times are printed, not asserted (no timing assertions in tests; bench/cluster.ts measures).
 */
import { expect, test, type Page } from '@playwright/test';
import type { OwnedStream, PublicStream } from '../../shared/api.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { redisCommand } from '../helpers/redis.js';
import { connect, goLive as socketGoLive, type TestSocket } from '../helpers/signalingClient.js';
import { closeBrowsers, newPage } from './helpers/browser.js';
import { expectSameDocument, markDocument, reportRecovery } from './helpers/faults.js';
import { currentSource, recoveryAfter, startFrameClock } from './helpers/frameClock.js';
import { createStream, expectVideoPlaying, getStream, goLive, login, MEDIA_TIMEOUT, signInStudio, studioState } from './helpers/onair.js';

test.describe.configure({ mode: 'serial' });

const HLS_CLIENTS = 200;
const HLS_RUN_MS = 6_000;

let cluster: TestCluster;
let token: string;
let stream: OwnedStream;
/** A stream broadcast by node 1 alone (a signaling client, no reconnect): node 1's own, for step 5. */
let ownStream: OwnedStream;
let ownBroadcaster: TestSocket | undefined;
/** Cookie values nginx maps to each node, by node index. */
const pins: string[] = [];
let studio: Page;
/** The viewer page whose cookie leads to node i. */
const viewers: Page[] = [];

test.beforeAll(async () => {
  test.setTimeout(120_000);
  cluster = await startCluster({ nodes: 3, env: { ONAIR_RECONNECT_GRACE_MS: '20000', LOG_LEVEL: 'info' } });
  // Which node each cookie value leads to: nginx says (X-OnAir-Upstream, added by the test config).
  const byAddress = new Map(cluster.nodes.map((n) => [`127.0.0.1:${n.port}`, n.index]));
  for (let i = 0; pins.filter(Boolean).length < cluster.nodes.length && i < 500; i++) {
    const res = await fetch(`${cluster.url}/readyz`, { headers: { cookie: `onair_node=pin${i}` } });
    const node = byAddress.get(res.headers.get('x-onair-upstream') ?? '');
    if (node !== undefined && !pins[node]) pins[node] = `pin${i}`;
  }
  expect(pins.filter(Boolean), 'a cookie value for every node').toHaveLength(3);
  token = await login(cluster.url);
  stream = await createStream(token, { title: 'Cluster e2e', description: 'three nodes', tags: ['e2e', 'cluster'] }, cluster.url);
  ownStream = await createStream(token, { title: 'Node 1 only', description: 'ends with node 1', tags: ['e2e'] }, cluster.url);
});

test.afterAll(async ({}, info) => {
  ownBroadcaster?.disconnect();
  await closeBrowsers();
  if (cluster) for (const n of cluster.nodes) await info.attach(`node${n.index}.log`, { body: n.logTail(200_000), contentType: 'text/plain' });
  await cluster?.stop({ keep: info.status !== info.expectedStatus });
});

/** A page in its own browser whose requests nginx sends to node `i` (while it is alive). */
async function pinnedPage(label: string, i: number): Promise<Page> {
  const page = await newPage(label, cluster.url);
  await page.context().addCookies([{ name: 'onair_node', value: pins[i]!, url: cluster.url }]);
  return page;
}

/** The node holding the stream's origin lease now (Redis's `onair:origin:<stream>` = "<node>|<token>"). */
async function originOf(streamId: string): Promise<string | undefined> {
  // A status reply is one line (what redisCommand reads): the value wrapped by a script.
  const reply = await redisCommand(cluster.redis.port, `EVAL "return redis.status_reply('v:' .. (redis.call('GET', KEYS[1]) or ''))" 1 onair:origin:${streamId}`);
  return /^\+v:(.+)\|\d+$/.exec(reply)?.[1];
}

/** The stream as every alive node answers it directly. */
async function onEveryNode(streamId: string): Promise<PublicStream[]> {
  const alive = cluster.nodes.filter((n) => n.running);
  return Promise.all(alive.map(async (n) => (await (await fetch(`${n.url}/api/streams/${streamId}`)).json()) as PublicStream));
}

async function expectCountEverywhere(streamId: string, count: number): Promise<void> {
  await expect
    .poll(async () => (await onEveryNode(streamId)).map((s) => s.viewerCount), { timeout: MEDIA_TIMEOUT, message: `viewer count ${count} on every node` })
    .toEqual(cluster.nodes.filter((n) => n.running).map(() => count));
}

test('the studio publishes through nginx; viewers on each node play the same producers; the count is exact everywhere', async () => {
  test.setTimeout(120_000);
  studio = await pinnedPage('studio', 0);
  await signInStudio(studio, stream.id);
  await goLive(studio);
  await markDocument(studio);
  expect(await originOf(stream.id)).toBe(cluster.nodes[0]!.nodeId);

  for (let i = 0; i < 3; i++) {
    const page = await pinnedPage(`viewer on node ${i}`, i);
    await page.goto(`/watch/${stream.id}`);
    await markDocument(page);
    viewers.push(page);
  }
  for (const v of viewers) await expectVideoPlaying(v);

  // The same producers (by id) on every node: the origin's own, and the edges' relays of them.
  const ids: string[][] = [];
  for (const n of cluster.nodes) {
    const s = await connect(n.url);
    try {
      const join = await s.request('viewer:join', { streamId: stream.id });
      expect(join.ok, `viewer:join on node ${n.index}`).toBe(true);
      ids.push((join.ok ? (join.data.broadcast?.producers ?? []) : []).map((p) => p.id).sort());
    } finally {
      s.disconnect();
    }
  }
  expect(ids[0]!.length).toBeGreaterThan(0);
  expect(ids[1]).toEqual(ids[0]);
  expect(ids[2]).toEqual(ids[0]);

  await expectCountEverywhere(stream.id, 3);
  expect(((await (await fetch(`${cluster.url}/api/streams`)).json()) as { streams: PublicStream[] }).streams.find((s) => s.id === stream.id)?.viewerCount).toBe(3);
});

test('200 HLS clients through nginx make at most one origin request per segment and rendition', async () => {
  test.setTimeout(90_000);
  const master = `${cluster.url}/hls/${stream.id}/master.m3u8`;
  await expect.poll(async () => (await fetch(master)).status, { timeout: MEDIA_TIMEOUT, message: 'the live master playlist through nginx' }).toBe(200);
  const until = Date.now() + HLS_RUN_MS;
  let fetched = 0;
  const failures: string[] = [];
  const get = async (url: string): Promise<string | undefined> => {
    const res = await fetch(url);
    const body = await res.text();
    fetched++;
    if (!res.ok) {
      if (failures.length < 5) failures.push(`${res.status} ${url}`);
      return undefined;
    }
    return body;
  };
  const client = async () => {
    const m = await get(master);
    const rendition = m?.split('\n').find((l) => l && !l.startsWith('#'));
    if (!rendition) return;
    const playlistUrl = new URL(rendition, master);
    const got = new Set<string>();
    while (Date.now() < until) {
      const playlist = await get(playlistUrl.href);
      if (playlist) {
        const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)?.[1];
        const segments = playlist.split('\n').filter((l) => l && !l.startsWith('#'));
        for (const uri of [...(map ? [map] : []), ...segments.slice(-3)]) {
          const url = new URL(uri, playlistUrl).href;
          if (got.has(url)) continue;
          got.add(url);
          await get(url);
        }
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  await Promise.all(Array.from({ length: HLS_CLIENTS }, client));
  expect(failures, 'every HLS request through nginx answered').toEqual([]);

  const media = /\/hls\/[^/]+\/[^/]+\/r\d+_(?:s\d+\.m4s|p\d+\.m4s|i\d+\.mp4)/;
  const entries = cluster.nginx.accessLog().filter((e) => media.test(e.uri));
  const upstream = new Map<string, number>();
  for (const e of entries) if (['MISS', 'EXPIRED', 'BYPASS', 'REVALIDATED'].includes(e.cache)) upstream.set(e.uri, (upstream.get(e.uri) ?? 0) + 1);
  const objects = new Set(entries.map((e) => e.uri));
  console.log(`[hls] ${HLS_CLIENTS} clients, ${fetched} requests through nginx, ${entries.length} for ${objects.size} media objects, ${[...upstream.values()].reduce((a, b) => a + b, 0)} reached a node`);
  expect(objects.size).toBeGreaterThan(1);
  expect(entries.length).toBeGreaterThan(objects.size * 10);
  expect([...upstream].filter(([, n]) => n > 1), 'media objects requested from the nodes more than once').toEqual([]);
});

test('SIGKILL an edge: its viewer plays again on another node without a reload', async () => {
  test.setTimeout(90_000);
  // Node 1 also becomes the origin of a stream of its own (a broadcaster without reconnection), for step 5.
  ownBroadcaster = await connect(cluster.nodes[1]!.url, token);
  await socketGoLive(ownBroadcaster, ownStream.id);
  expect(await originOf(ownStream.id)).toBe(cluster.nodes[1]!.nodeId);

  const viewer = viewers[1]!;
  await startFrameClock(viewer);
  const before = await currentSource(viewer);
  const killedAt = Date.now();
  await cluster.nodes[1]!.kill('SIGKILL');
  reportRecovery('edge SIGKILL → its viewer plays again', await recoveryAfter(viewer, before, killedAt, 30_000));
  await expectSameDocument(viewer);
  await expectVideoPlaying(viewers[0]!);
  await expectVideoPlaying(viewers[2]!);
  await expectCountEverywhere(stream.id, 3);
});

test('SIGKILL the origin: the studio republishes through nginx onto another node and every viewer plays again', async () => {
  test.setTimeout(90_000);
  for (const v of viewers) await startFrameClock(v);
  const sources = await Promise.all(viewers.map(currentSource));
  const killedAt = Date.now();
  await cluster.nodes[0]!.kill('SIGKILL');

  await expect.poll(() => studioState(studio), { timeout: 10_000 }).not.toBe('live');
  await expect.poll(() => studioState(studio), { timeout: 45_000, message: 'the studio live again' }).toBe('live');
  reportRecovery('origin SIGKILL → studio live again', Date.now() - killedAt);
  const origin = await originOf(stream.id);
  expect(origin).toBe(cluster.nodes[2]!.nodeId);
  await expectSameDocument(studio);
  for (let i = 0; i < viewers.length; i++) {
    reportRecovery(`origin SIGKILL → viewer ${i} plays again`, await recoveryAfter(viewers[i]!, sources[i]!, killedAt, 45_000));
    await expectSameDocument(viewers[i]!);
  }
  await expectCountEverywhere(stream.id, 3);
});

test('a restarted node ends only its own streams', async () => {
  test.setTimeout(90_000);
  expect((await getStream(ownStream.id, cluster.nodes[2]!.url)).status).toBe('live');
  await Promise.all([cluster.nodes[0]!.restart(), cluster.nodes[1]!.restart()]);
  // Node 1's own stream (its broadcaster gone with it) ends; the stream that moved to node 2 stays live.
  for (const s of await onEveryNode(ownStream.id)) expect(s.status).toBe('ended');
  for (const s of await onEveryNode(stream.id)) expect(s.status).toBe('live');
  expect(await originOf(stream.id)).toBe(cluster.nodes[2]!.nodeId);
  for (const v of viewers) await expectVideoPlaying(v);
});

/** A blank page on `base`'s origin (served by the test), in its own browser: fetch to the node needs no CORS. */
async function blankPageOn(label: string, base: string): Promise<Page> {
  const page = await newPage(label, base);
  await page.route('**/favicon.ico', (route) => route.fulfill({ status: 204 }));
  await page.route(`${base}/e2e-blank`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>WHIP/WHEP</title><body></body>' }));
  await page.goto(`${base}/e2e-blank`);
  return page;
}

test('WHIP into one node and WHEP from another play', async () => {
  test.setTimeout(90_000);
  await closeBrowsers(); // the studio and viewers are done: their CPU goes to this step
  const whipStream = await createStream(token, { title: 'Cluster WHIP', description: 'WHIP in, WHEP out', tags: ['e2e'] }, cluster.url);
  const [inNode, outNode] = [cluster.nodes[1]!, cluster.nodes[2]!];

  const publisher = await blankPageOn('whip publisher', inNode.url);
  const published = await publisher.evaluate(
    async ({ id, key }) => {
      const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
      const pc = new RTCPeerConnection();
      for (const track of media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
      await pc.setLocalDescription(await pc.createOffer());
      const res = await fetch(`/whip/${id}`, { method: 'POST', headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${key}` }, body: pc.localDescription!.sdp });
      const body = await res.text();
      if (res.status !== 201) return { status: res.status, error: body };
      await pc.setRemoteDescription({ type: 'answer', sdp: body });
      Object.assign(window, { __clusterPc: pc });
      return { status: res.status, error: '' };
    },
    { id: whipStream.id, key: whipStream.streamKey },
  );
  expect(published, published.error).toMatchObject({ status: 201 });
  await expect.poll(async () => originOf(whipStream.id), { timeout: MEDIA_TIMEOUT }).toBe(inNode.nodeId);

  const player = await blankPageOn('whep player', outNode.url);
  const played = await player.evaluate(async (id) => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const res = await fetch(`/whep/${id}`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription!.sdp });
    const body = await res.text();
    if (res.status !== 201) return { status: res.status, error: body };
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
    Object.assign(window, { __clusterPc: pc });
    return { status: res.status, error: '' };
  }, whipStream.id);
  expect(played, played.error).toMatchObject({ status: 201 });
  const framesDecoded = () =>
    player.evaluate(async () => {
      const pc = (window as unknown as { __clusterPc: RTCPeerConnection }).__clusterPc;
      let frames = 0;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded ?? 0;
      });
      return frames;
    });
  await expect.poll(framesDecoded, { timeout: MEDIA_TIMEOUT, message: 'WHEP frames decoded on the other node' }).toBeGreaterThan(10);
  const before = await framesDecoded();
  await expect.poll(framesDecoded, { timeout: MEDIA_TIMEOUT, message: 'WHEP frames keep coming' }).toBeGreaterThan(before + 10);
  await expectCountEverywhere(whipStream.id, 1);
});
