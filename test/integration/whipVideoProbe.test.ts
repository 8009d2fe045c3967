/**
 * A WHIP publisher's video is read before the broadcast takes it (server/ingest/VideoProbe.ts), with a
 * third-party encoder (werift + ffmpeg, test/helpers/whipPublisher.ts):
 * - VP8 as GStreamer's rtpvp8pay sends it by default (no PictureID) cannot play on mediasoup 3.12: the
 *   broadcast ends within seconds with a reason naming the fix, heard by viewers; no recording is made
 *   (the HLS bridge waited for a keyframe to read the size and never opened a session);
 * - the same VP8 with PictureID plays, with its real height on the producer;
 * - a 1920×1080 H.264 publisher gets an HLS ladder whose top rung is 1080, copied (not the 720 guess).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type TestSocket } from '../helpers/signalingClient.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';
import { whipPublish, type WhipPublisher } from '../helpers/whipPublisher.js';

let s: TestServer;
let ann: string;
const logLines: string[] = [];
const publishers: WhipPublisher[] = [];
const sockets: TestSocket[] = [];

beforeAll(async () => {
  s = await startTestServer(
    { ONAIR_RTMP_PORT: 'off', ONAIR_SRT_PORT: 'off', ONAIR_HLS_LADDER: '1080,360', ONAIR_HLS_PRESET: 'ultrafast', LOG_LEVEL: 'info' },
    undefined,
    { logTo: { write: (line: string) => void logLines.push(line) } },
  );
  ann = await s.broadcaster('ann');
}, 90_000);
afterAll(async () => {
  for (const p of publishers) await p.stop().catch(() => undefined);
  for (const c of sockets) c.disconnect();
  await s?.close();
});

const newStream = async (): Promise<{ id: string; streamKey: string }> =>
  (await s.api('POST', '/api/streams', { token: ann, body: { title: 'WHIP probe' } })).body;
const publish = async (st: { id: string; streamKey: string }, opts: Parameters<typeof whipPublish>[3]) => {
  const p = await whipPublish(s.url, st.id, st.streamKey, opts);
  publishers.push(p);
  expect(p.status).toBe(201);
  return p;
};
const logged = (msg: string, streamId: string): Record<string, unknown>[] =>
  logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg && l.streamId === streamId);

describe('WHIP video probe', () => {
  it('ends a VP8 publish without PictureID (GStreamer rtpvp8pay default) with a reason naming the fix; viewers hear it; no recording', async () => {
    const st = await newStream();
    const viewer = await connect(s.url);
    sockets.push(viewer);
    await viewer.request('viewer:join', { streamId: st.id });
    const ended = new Promise<{ reason: string }>((resolve) => viewer.on('broadcast:ended', (e) => resolve(e)));
    await publish(st, { vp8PictureId: false });
    const { reason } = await ended;
    expect(reason).toMatch(/PictureID/);
    expect(reason).toMatch(/picture-id-mode=15-bit/);
    // No keyframe ever reached a consumer: no size read, no HLS session, so no recording.
    expect(logged('WHIP video size read', st.id)).toEqual([]);
    expect(logged('HLS session started', st.id)).toEqual([]);
    const recordings = await s.api('GET', `/api/recordings?streamId=${st.id}`, { token: ann });
    expect(recordings.body.recordings).toEqual([]);
    expect((await s.api('GET', `/api/streams/${st.id}`)).body.status).toBe('ended');
  });

  it('plays the same VP8 with PictureID, with its real size on the producer', async () => {
    const st = await newStream();
    await publish(st, { width: 320, height: 240 });
    const video = await until('the video producer', () => s.broadcasts.get(st.id)?.producerOfKind('video'), 20_000);
    await until('the size read', () => video.appData.height !== undefined, 20_000);
    expect(video.appData.height).toBe(240);
    expect(video.appData.width).toBe(320);
  });

  it('gives a 1920x1080 H.264 publisher a 1080 top rung, copied', async () => {
    const st = await newStream();
    await publish(st, { codec: 'h264', width: 1920, height: 1080 });
    const video = await until('the video producer', () => s.broadcasts.get(st.id)?.producerOfKind('video'), 30_000);
    expect(video.rtpParameters.codecs[0]?.mimeType).toBe('video/H264');
    await until('the size read', () => video.appData.height !== undefined, 30_000);
    expect(video.appData.height).toBe(1080);
    const epoch = await until('the HLS epoch', () => logged('HLS epoch starting', st.id)[0], 30_000);
    expect(epoch).toMatchObject({ rungs: [1080, 360], copyTop: true });
  });
});
