/**
 * HLS viewers counted (issue 14) on a real OnAir: a live stream (real ffmpeg ladder), players as series of
 * playlist requests carrying `?session=`: each counts into the stream's viewerCount (API and viewers:count)
 * while its requests keep coming, once per session, and leaves within two segment durations after its last;
 * OnAir's player (the session is its joined socket's id) counts once. The master carries the session on to
 * its rendition URIs only (parts and segments stay one shared URL), and is then private.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type TestSocket } from '../helpers/signalingClient.js';
import { startRtpSource, type RtpSource } from '../helpers/rtpSource.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';

let s: TestServer;
let streamId: string;
let source: RtpSource;
const sockets: TestSocket[] = [];

const get = (p: string) => fetch(s.url + p);
const viewerCount = async () => (await s.api('GET', `/api/streams/${streamId}`)).body.viewerCount as number;

/** A player: the master with its session, then its first rendition's playlist every `everyMs` until stopped. */
function player(session: string, everyMs = 500) {
  let running = true;
  const done = (async () => {
    const master = await (await get(`/hls/${streamId}/master.m3u8?session=${session}`)).text();
    const rendition = master.split('\n').find((l) => l && !l.startsWith('#'))!;
    while (running) {
      await (await get(`/hls/${streamId}/${rendition}`)).text();
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}

beforeAll(async () => {
  s = await startTestServer({ ONAIR_HLS_LADDER: '360,240', ONAIR_HLS_PRESET: 'superfast' });
  const ann = await s.broadcaster('ann');
  streamId = (await s.api('POST', '/api/streams', { token: ann, body: { title: 'HLS viewers' } })).body.id;
  const { lease } = await s.broadcasts.start(streamId, 'test-publisher');
  source = await startRtpSource(lease, { width: 640, height: 360 });
  await until('the live master playlist', async () => (await get(`/hls/${streamId}/master.m3u8`)).status === 200, 60_000);
}, 90_000);
afterAll(async () => {
  for (const so of sockets) so.disconnect();
  source?.stop();
  await s?.close();
});

describe('HLS viewers', () => {
  it('the master carries the session to its rendition URIs only, privately; a bad session is a 400', async () => {
    const plain = await get(`/hls/${streamId}/master.m3u8`);
    expect(plain.headers.get('cache-control')).toMatch(/^public/);
    expect(await plain.text()).not.toContain('session=');
    const withSession = await get(`/hls/${streamId}/master.m3u8?session=probe-0001`);
    expect(withSession.headers.get('cache-control')).toMatch(/^private/);
    const renditions = (await withSession.text()).split('\n').filter((l) => l && !l.startsWith('#'));
    expect(renditions.length).toBe(2);
    for (const r of renditions) expect(r).toMatch(/^[^/]+\/r\d\.m3u8\?session=probe-0001$/);
    // The rendition playlist's own URIs (parts, segments, init) carry no session: shared by every viewer.
    const media = await (await get(`/hls/${streamId}/${renditions[0]}`)).text();
    expect(media).toMatch(/\.m4s/);
    expect(media).not.toContain('session=');
    for (const bad of ['short', 'has%20space', 'a'.repeat(65), 'x%2F..%2F..%2Fetc']) {
      const r = await get(`/hls/${streamId}/master.m3u8?session=${bad}`);
      expect(r.status, bad).toBe(400);
    }
    // The probe's requests ended: it leaves within two segment durations.
    await until('the probe left', async () => (await viewerCount()) === 0, 10_000);
  }, 30_000);

  it('counts each HLS session while it fetches, once, and forgets it after it stops', async () => {
    const watcher = await connect(s.url);
    sockets.push(watcher);
    const counts: number[] = [];
    watcher.on('viewers:count', (e) => e.streamId === streamId && counts.push(e.count));
    // A third socket watches without playing (it is a viewer by itself, as every joined page is).
    expect((await watcher.request('viewer:join', { streamId })).ok).toBe(true);
    await until('the watcher counted', async () => (await viewerCount()) === 1);

    const a = player('viewer-session-a');
    const b = player('viewer-session-b');
    const again = player('viewer-session-a'); // the same session twice (two tabs sharing an id): one viewer
    await until('two HLS viewers', async () => (await viewerCount()) === 3);
    await until('the push says so', () => counts.at(-1) === 3);
    // While they keep fetching, they stay (several idle periods: 2 s here).
    const stayUntil = Date.now() + 5000;
    while (Date.now() < stayUntil) {
      expect(await viewerCount()).toBe(3);
      await new Promise((r) => setTimeout(r, 250));
    }
    await again.stop();
    await b.stop();
    await until('b left', async () => (await viewerCount()) === 2, 10_000);
    await a.stop();
    await until('a left', async () => (await viewerCount()) === 1, 10_000);
  }, 60_000);

  it("OnAir's player in HLS mode (its socket's id as the session) counts once", async () => {
    const page = await connect(s.url);
    sockets.push(page);
    expect((await page.request('viewer:join', { streamId })).ok).toBe(true);
    const before = await viewerCount();
    const p = player(page.id!);
    // Its playlists are being fetched (the session is known) and the count has not moved.
    await until('the session is seen', () => s.hlsViewers.count(streamId) === 1);
    for (let i = 0; i < 8; i++) {
      expect(await viewerCount()).toBe(before);
      await new Promise((r) => setTimeout(r, 250));
    }
    await p.stop();
    page.disconnect();
    await until('the page left', async () => (await viewerCount()) === before - 1, 10_000);
  }, 60_000);

  it('a broadcast that ends takes its HLS viewers with it', async () => {
    const sockets = await viewerCount(); // joined sockets stay in the audience for the next broadcast
    const p = player('viewer-session-end', 200);
    await until('counted', async () => (await viewerCount()) === sockets + 1);
    await s.broadcasts.endBroadcast(streamId, 'test over');
    await until('dropped at the end', () => s.hlsViewers.count(streamId) === 0);
    // Its requests go on for a moment: an ended broadcast's playlists count nobody.
    await new Promise((r) => setTimeout(r, 1000));
    expect(s.hlsViewers.count(streamId)).toBe(0);
    expect(await viewerCount()).toBe(sockets);
    await p.stop();
  }, 30_000);
});
