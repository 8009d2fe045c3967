/**
 * Stream health of encoder broadcasts (server/ingest/health) with real RTMP publishers (ffmpeg): measured on
 * the producers, pushed as `ingest:health` to the owner's sockets only (a studio in no stream room), with the
 * warnings an OBS user needs: a healthy publish has none; a poor one (10 fps, 60 kbit/s, keyframes 10 s
 * apart, no audio) gets each; the end is pushed with its reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestHealthEvent } from '../../shared/ingestHealth.js';
import { ingestHealthEventSchema } from '../../shared/ingestHealth.js';
import { startEncoder, type Encoder, type EncoderOptions } from '../helpers/encoderSource.js';
import { connect, type TestSocket } from '../helpers/signalingClient.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';

let s: TestServer;
let ann: string;
let bob: string;
const encoders: Encoder[] = [];
const sockets: TestSocket[] = [];

beforeAll(async () => {
  s = await startTestServer({ ONAIR_RECONNECT_GRACE_MS: '500', ONAIR_HLS: 'off', ONAIR_SRT_PORT: 'off' });
  ann = await s.broadcaster('ann');
  bob = await s.broadcaster('bob');
}, 90_000);
afterAll(async () => {
  for (const e of encoders) e.stop();
  for (const c of sockets) c.disconnect();
  await s?.close();
});

const newStream = async (): Promise<{ id: string; streamKey: string }> =>
  (await s.api('POST', '/api/streams', { token: ann, body: { title: 'health' } })).body;
const publish = (key: string, opts: EncoderOptions) => {
  const e = startEncoder(`rtmp://127.0.0.1:${s.ingest.rtmpPort}/live/${key}`, 'flv', opts);
  encoders.push(e);
  return e;
};
/** A socket that records the `ingest:health` events of one stream, validated like the studio does. */
const listen = async (streamId: string, token?: string) => {
  const c = await connect(s.url, token);
  sockets.push(c);
  const events: IngestHealthEvent[] = [];
  c.on('ingest:health', (raw: unknown) => {
    const e = ingestHealthEventSchema.parse(raw);
    if (e.streamId === streamId) events.push(e);
  });
  return events;
};
const codes = (e: IngestHealthEvent) => e.warnings.map((w) => w.code).sort();
// Copied H.264 (constrained baseline, no B-frames): what the encoder sends is what is measured.
const copied: EncoderOptions = { profile: 'baseline', bframes: 0 };

describe('ingest health', () => {
  it('measures a healthy RTMP publish without warnings, only for its owner, and pushes its end with the reason', async () => {
    const st = await newStream();
    const owner = await listen(st.id, ann);
    const other = await listen(st.id, bob);
    const anonymous = await listen(st.id);
    const enc = publish(st.streamKey, { ...copied, gop: 60, videoKbps: 1000 });

    const full = await until('a full measurement', () => owner.find((e) => e.measured.fps !== null && e.measured.keyframeIntervalSeconds !== null), 40_000);
    expect(full).toMatchObject({ source: 'rtmp', state: 'live', measured: { height: 360 } });
    expect(full.measured.videoKbps).toBeGreaterThan(300);
    expect(full.measured.audioKbps).toBeGreaterThan(0);
    expect(full.measured.fps).toBeGreaterThan(20);
    expect(full.measured.keyframeIntervalSeconds).toBeLessThan(4);
    expect(codes(full)).toEqual([]);

    enc.stop();
    const end = await until('the end', () => owner.find((e) => e.state === 'ended'), 30_000);
    expect(end.reason).toBeTruthy();
    expect(other).toEqual([]);
    expect(anonymous).toEqual([]);
  });

  it('warns of a low frame rate, a low bitrate, rare keyframes and missing audio', async () => {
    const st = await newStream();
    const owner = await listen(st.id, ann);
    publish(st.streamKey, { ...copied, fps: 10, gop: 100, videoKbps: 60, audio: false });
    const warned = await until(
      'every warning',
      () => owner.find((e) => ['audio_missing', 'bitrate_low', 'fps_low', 'keyframe_interval'].every((c) => codes(e).includes(c as never))),
      40_000,
    );
    expect(warned.measured.fps).toBeLessThan(15);
    expect(warned.measured.videoKbps).toBeLessThan(180);
    expect(warned.measured.audioKbps).toBe(0);
    for (const w of warned.warnings) expect(w.message.length).toBeGreaterThan(20);
    expect(warned.warnings.find((w) => w.code === 'keyframe_interval')?.message).toMatch(/keyframe interval/);
  });
});
