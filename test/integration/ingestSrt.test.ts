/**
 * SRT ingest with real tools: ffmpeg publishing MPEG-TS (libx264 with B-frames, AAC 48 kHz) over SRT in
 * caller mode into an in-process OnAir. The media must reach the broadcast's producers and the HLS playlist,
 * with the sender's latency in force; wrong keys and second publishers are refused; a vanished sender leaves
 * the broadcast reconnecting, then ended, with no ffmpeg left. Junk datagrams on the port cost nothing.
 */
import dgram from 'node:dgram';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { types } from 'mediasoup';
import { startEncoder, type Encoder } from '../helpers/encoderSource.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';

let s: TestServer;
let ann: string;
/** The server's log lines (JSON). */
const logLines: string[] = [];
const encoders: Encoder[] = [];
const GRACE_MS = 3000;

beforeAll(async () => {
  s = await startTestServer(
    { ONAIR_RECONNECT_GRACE_MS: String(GRACE_MS), ONAIR_HLS_LADDER: '360', ONAIR_HLS_PRESET: 'ultrafast', LOG_LEVEL: 'info' },
    undefined,
    { logTo: { write: (line: string) => void logLines.push(line) } },
  );
  ann = await s.broadcaster('ann');
}, 60_000);
afterAll(async () => {
  for (const e of encoders) e.stop();
  await s?.close();
});

const newStream = async (): Promise<{ id: string; streamKey: string }> =>
  (await s.api('POST', '/api/streams', { token: ann, body: { title: 'SRT test' } })).body;
/** ffmpeg's SRT latency is in microseconds. */
const srtUrl = (streamId: string, latencyMs = 200) => `srt://127.0.0.1:${s.ingest.srtPort}?streamid=${encodeURIComponent(streamId)}&latency=${latencyMs * 1000}`;
const publish = (streamId: string, opts: Parameters<typeof startEncoder>[2] & { latencyMs?: number } = {}) => {
  const e = startEncoder(srtUrl(streamId, opts.latencyMs), 'mpegts', opts);
  encoders.push(e);
  return e;
};
const status = async (id: string) => (await s.api('GET', `/api/streams/${id}`)).body.status as string;
const producers = (id: string) => s.broadcasts.get(id)?.producerInfos() ?? [];
const bytesIn = async (p: types.Producer) => (await p.getStats()).reduce((n, st) => n + st.byteCount, 0);
const ffmpegChildren = () => {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid), '-x', 'ffmpeg'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
};
const get = (p: string) => fetch(s.url + p);
const segmentsOf = (playlist: string) => playlist.split('\n').filter((l) => l && !l.startsWith('#'));

describe('SRT ingest (real ffmpeg caller)', () => {
  it('turns an OBS-like SRT publish into a live broadcast with the sender\'s latency: re-encoded H.264, Opus, the real height, HLS', async () => {
    const st = await newStream();
    const enc = publish(st.streamKey, { latencyMs: 300 });
    await until('two producers', () => producers(st.id).length === 2, 40_000);
    expect(await status(st.id)).toBe('live');
    const conn = s.ingest.srt!.connections[0]!;
    expect(conn.latencyMs).toBe(300);
    expect(conn.session?.publisherId).toMatch(/^srt:/);
    expect(conn.session?.plan.video).toMatchObject({ mode: 'transcode', reason: 'B-frames', height: 360 });
    const video = s.broadcasts.get(st.id)!.producerOfKind('video')!;
    expect(video.appData.height).toBe(360);
    const audio = s.broadcasts.get(st.id)!.producerOfKind('audio')!;
    expect(audio.rtpParameters.codecs[0]?.mimeType).toBe('audio/opus');
    await until('video and audio RTP', async () => (await bytesIn(video)) > 0 && (await bytesIn(audio)) > 0, 20_000);

    const master = await until('the master playlist', async () => {
      const r = await get(`/hls/${st.id}/master.m3u8`);
      return r.status === 200 ? r.text() : undefined;
    }, 30_000);
    await until('two HLS segments', async () => segmentsOf(await (await get(`/hls/${st.id}/${segmentsOf(master)[0]}`)).text()).length >= 2, 30_000);

    // A second sender into the live stream is refused; the first goes on.
    const second = publish(`#!::r=live/${st.streamKey},m=publish`);
    expect(await second.exited).not.toBe(0);
    // The access-control form (percent-encoded, as ffmpeg 5.1 passes it on) named the right key: busy, not wrong.
    expect(logLines.some((l) => l.includes('SRT publish refused') && l.includes('"reason":"stream_busy"'))).toBe(true);
    expect(s.broadcasts.get(st.id)?.publisher).toBe(conn.session?.publisherId);
    await until('one SRT connection', () => s.ingest.srt!.connections.length === 1, 10_000);

    // The sender vanishes: reconnecting, then ended after the grace; nothing left.
    enc.stop();
    await until('reconnecting', () => s.broadcasts.get(st.id)?.state === 'reconnecting', 15_000);
    await until('the broadcast ended', async () => (await status(st.id)) === 'ended', GRACE_MS + 10_000);
    await until('no SRT connection', () => s.ingest.srt!.connections.length === 0, 10_000);
    await until('no ffmpeg left', () => ffmpegChildren().length === 0, 10_000);
  }, 120_000);

  it('refuses a wrong key, an empty stream id and a caller that asks to receive; nothing is left', async () => {
    const st = await newStream();
    for (const streamId of [`${st.streamKey.slice(0, -2)}xx`, '', `#!::r=${st.streamKey},m=request`]) {
      const enc = publish(streamId || 'x');
      expect(await enc.exited, streamId).not.toBe(0);
    }
    expect(await status(st.id)).toBe('idle');
    expect(logLines.filter((l) => l.includes('SRT publish refused: wrong stream key') || l.includes('not a publisher')).length).toBeGreaterThanOrEqual(3);
    await until('no SRT connection', () => s.ingest.srt!.connections.length === 0, 10_000);
    expect(ffmpegChildren()).toEqual([]);
  }, 60_000);

  it('survives junk datagrams on the SRT port and still serves a caller', async () => {
    const sock = dgram.createSocket('udp4');
    for (let i = 0; i < 200; i++) {
      const junk = crypto.randomBytes(1 + crypto.randomInt(1400));
      // Every other datagram looks like an SRT control packet (first bit set): handshake-shaped junk.
      if (i % 2 === 0) junk[0] = junk[0]! | 0x80;
      await new Promise<void>((resolve) => sock.send(junk, s.ingest.srtPort!, '127.0.0.1', () => resolve()));
    }
    sock.close();
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    const st = await newStream();
    const enc = publish(st.streamKey);
    await until('two producers', () => producers(st.id).length === 2, 40_000);
    enc.stop();
    await until('the broadcast ended', async () => (await status(st.id)) === 'ended', GRACE_MS + 15_000);
    await until('no ffmpeg left', () => ffmpegChildren().length === 0, 10_000);
  }, 90_000);
});
