/**
 * RTMP ingest with real tools: ffmpeg publishing like OBS (libx264 with B-frames, AAC 48 kHz) into an
 * in-process OnAir (real mediasoup, ffmpeg, SQLite). The media must reach socket viewers' producers and the
 * HLS playlist; wrong keys and second publishers are refused; a vanished publisher leaves the broadcast
 * reconnecting, then ended, with no ffmpeg left.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { types } from 'mediasoup';
import { startEncoder, type Encoder } from '../helpers/encoderSource.js';
import { connect, type TestSocket } from '../helpers/signalingClient.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';

let s: TestServer;
let ann: string;
const encoders: Encoder[] = [];
const sockets: TestSocket[] = [];

const GRACE_MS = 3000;

beforeAll(async () => {
  s = await startTestServer({ ONAIR_RECONNECT_GRACE_MS: String(GRACE_MS), ONAIR_HLS_LADDER: '360', ONAIR_HLS_PRESET: 'ultrafast' });
  ann = await s.broadcaster('ann');
}, 90_000);
afterAll(async () => {
  for (const e of encoders) e.stop();
  for (const c of sockets) c.disconnect();
  await s?.close();
});

const newStream = async (): Promise<{ id: string; streamKey: string }> =>
  (await s.api('POST', '/api/streams', { token: ann, body: { title: 'RTMP test' } })).body;
const rtmpUrl = (key: string) => `rtmp://127.0.0.1:${s.ingest.rtmpPort}/live/${key}`;
const publish = (key: string, opts: Parameters<typeof startEncoder>[2] = {}) => {
  const e = startEncoder(rtmpUrl(key), 'flv', opts);
  encoders.push(e);
  return e;
};
const status = async (id: string) => (await s.api('GET', `/api/streams/${id}`)).body.status as string;
const producers = (id: string) => s.broadcasts.get(id)?.producerInfos() ?? [];
const videoProducer = (id: string): types.Producer | undefined => s.broadcasts.get(id)?.producerOfKind('video');
const bytesIn = async (p: types.Producer) => (await p.getStats()).reduce((n, st) => n + st.byteCount, 0);
/** ffmpeg processes that are children of this test process (the server runs in it). */
const ffmpegChildren = () => {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid), '-x', 'ffmpeg'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
};
const get = (p: string) => fetch(s.url + p);
const segmentsOf = (playlist: string) => playlist.split('\n').filter((l) => l && !l.startsWith('#'));

describe('RTMP ingest (real ffmpeg publisher)', () => {
  it('turns an OBS-like publish (x264 with B-frames, AAC) into a live broadcast: H.264 re-encoded without B-frames, Opus, the real height, viewers and HLS', async () => {
    const st = await newStream();
    const viewer = await connect(s.url);
    sockets.push(viewer);
    await viewer.request('viewer:join', { streamId: st.id });
    const seen = new Promise<{ producers: { kind: string }[] }>((resolve) => viewer.on('broadcast:producers', (e) => e.producers.length === 2 && resolve(e)));

    const enc = publish(st.streamKey);
    expect((await seen).producers.map((p) => p.kind).sort()).toEqual(['audio', 'video']);
    expect(await status(st.id)).toBe('live');
    const session = [...s.ingest.rtmp!.connections][0]!.session!;
    expect(session.publisherId).toMatch(/^rtmp:/);
    expect(s.broadcasts.get(st.id)?.publisher).toBe(session.publisherId);
    expect(session.plan.video).toMatchObject({ mode: 'transcode', reason: 'B-frames', height: 360 });

    const video = videoProducer(st.id)!;
    expect(video.rtpParameters.codecs[0]?.mimeType).toBe('video/H264');
    expect(video.rtpParameters.codecs[0]?.parameters['profile-level-id']).toBe('42e01f');
    expect(video.appData.height).toBe(360);
    expect(s.broadcasts.get(st.id)?.producerOfKind('audio')?.rtpParameters.codecs[0]?.mimeType).toBe('audio/opus');
    // RTP flows into the producers, and on through the router to the HLS bridge.
    const first = await until('video RTP', async () => ((await bytesIn(video)) > 0 ? bytesIn(video) : undefined), 20_000);
    await until('more video RTP', async () => (await bytesIn(video)) > first, 10_000);
    const audio = s.broadcasts.get(st.id)!.producerOfKind('audio')!;
    await until('audio RTP', async () => (await bytesIn(audio)) > 0, 10_000);

    const master = await until('the master playlist', async () => {
      const r = await get(`/hls/${st.id}/master.m3u8`);
      return r.status === 200 ? r.text() : undefined;
    }, 30_000);
    const rendition = segmentsOf(master)[0]!;
    await until('two HLS segments', async () => segmentsOf(await (await get(`/hls/${st.id}/${rendition}`)).text()).length >= 2, 30_000);
    expect(master).toMatch(/RESOLUTION=\d+x360/);

    // The publisher vanishes: the broadcast waits for it, then ends; nothing of the ingest is left.
    const reconnecting = new Promise<void>((resolve) => viewer.once('broadcast:reconnecting', () => resolve()));
    const ended = new Promise<{ reason: string }>((resolve) => viewer.once('broadcast:ended', resolve));
    enc.stop();
    await reconnecting;
    expect(s.broadcasts.get(st.id)?.state).toBe('reconnecting');
    expect((await ended).reason).toBe('the broadcaster did not come back');
    expect(await status(st.id)).toBe('ended');
    await until('no ingest connection', () => s.ingest.rtmp!.connections.size === 0);
    await until('no ffmpeg left', () => ffmpegChildren().length === 0, 10_000);
  }, 90_000);

  it('copies H.264 without B-frames in a profile the routers offer (main), and a clean end (deleteStream) ends the broadcast at once', async () => {
    const st = await newStream();
    const ended = new Promise<string>((resolve) => s.broadcasts.on('ended', (e) => e.streamId === st.id && resolve(e.reason)));
    const enc = publish(st.streamKey, { profile: 'main', preset: 'veryfast', bframes: 0, seconds: 6 });
    await until('two producers', () => producers(st.id).length === 2, 40_000);
    const session = [...s.ingest.rtmp!.connections][0]!.session!;
    expect(session.plan.video).toMatchObject({ mode: 'copy', height: 360 });
    const video = videoProducer(st.id)!;
    expect(video.rtpParameters.codecs[0]?.parameters['profile-level-id']).toMatch(/^4d/);
    await until('video RTP', async () => (await bytesIn(video)) > 0, 10_000);
    expect(await enc.exited).toBe(0);
    // No grace: the encoder said it was done (deleteStream), so the broadcast ends instead of waiting for it.
    expect(await ended).toBe('the broadcaster ended the stream');
    expect(await status(st.id)).toBe('ended');
    await until('no ingest connection', () => s.ingest.rtmp!.connections.size === 0);
    await until('no ffmpeg left', () => ffmpegChildren().length === 0, 10_000);
  }, 90_000);

  it('lets an encoder that reconnects within the grace resume its broadcast (OBS reconnects by itself)', async () => {
    const st = await newStream();
    const first = publish(st.streamKey);
    await until('two producers', () => producers(st.id).length === 2, 40_000);
    const broadcast = s.broadcasts.get(st.id)!;
    const firstVideo = videoProducer(st.id)!.id;
    first.stop();
    await until('reconnecting', () => broadcast.state === 'reconnecting', 10_000);
    const again = publish(st.streamKey, { seconds: 4 });
    await until('live again with new producers', () => broadcast.state === 'live' && producers(st.id).length === 2, 20_000);
    expect(s.broadcasts.get(st.id)).toBe(broadcast);
    expect(videoProducer(st.id)!.id).not.toBe(firstVideo);
    await until('video RTP', async () => (await bytesIn(videoProducer(st.id)!)) > 0, 10_000);
    expect(await again.exited).toBe(0);
    await until('the broadcast ended', async () => (await status(st.id)) === 'ended', 10_000);
    await until('no ffmpeg left', () => ffmpegChildren().length === 0, 10_000);
  }, 90_000);

  it('refuses a wrong key (the encoder is told why) and leaves nothing behind', async () => {
    const st = await newStream();
    const enc = publish(`${st.streamKey.slice(0, -2)}xx`);
    expect(await enc.exited).not.toBe(0);
    expect(enc.stderr()).toContain('wrong stream key');
    expect(await status(st.id)).toBe('idle');
    expect(s.broadcasts.get(st.id)).toBeUndefined();
    const bad = publish('not a key');
    expect(await bad.exited).not.toBe(0);
    await until('no ingest connection', () => s.ingest.rtmp!.connections.size === 0);
    expect(ffmpegChildren()).toEqual([]);
  }, 30_000);

  it('refuses a second publisher into a live stream (stream_busy); the first goes on', async () => {
    const st = await newStream();
    const first = publish(st.streamKey);
    await until('two producers', () => producers(st.id).length === 2, 40_000);
    const publisher = s.broadcasts.get(st.id)!.publisher;
    const second = publish(st.streamKey);
    expect(await second.exited).not.toBe(0);
    expect(second.stderr()).toContain('live from another publisher');
    expect(s.broadcasts.get(st.id)?.publisher).toBe(publisher);
    expect(s.broadcasts.get(st.id)?.state).toBe('live');
    await until('one ingest connection', () => s.ingest.rtmp!.connections.size === 1);
    const video = videoProducer(st.id)!;
    const before = await bytesIn(video);
    await until('the first publisher still sends', async () => (await bytesIn(video)) > before, 10_000);
    first.stop();
    await until('the broadcast ended', async () => (await status(st.id)) === 'ended', GRACE_MS + 10_000);
    await until('no ffmpeg left', () => ffmpegChildren().length === 0, 10_000);
  }, 90_000);
});
