/**
 * The fan-out benchmark's source: a 720p30 3-layer simulcast VP8 stream (720p 1.5 Mbps, 360p 500 kbps, 180p
 * 150 kbps: the studio's layers for a 720p camera, client/studio/simulcast.ts) + Opus, replayed in real time.
 *
 * Why not the studio in Chromium: on this 2-core machine a 3-layer live encoder competes with the receivers
 * and everything else for the CPU, and under that pressure Chromium drops its frame rate, then its bandwidth
 * estimate, then its top layers (measured: 2–10 fps and a 200 kbps estimate at 100 viewers) — the benchmark
 * then measures the source, not the SFU. So ffmpeg encodes a noisy test pattern once (cached), and replays
 * the packets with `-c copy` (no encoding: ~2 % of a core) as RTP, through a small pacing relay (a
 * PlainTransport takes packets from one source address while ffmpeg sends each output from its own, and
 * ffmpeg does not pace: see pacedRelay) into one simulcast producer (encodings by SSRC) + an Opus producer of
 * a broadcast started over OnAir's signaling. From the producers on, everything a viewer gets is OnAir's own
 * path. Keyframes come every second (the encode's GOP): the replay cannot answer a viewer's PLI sooner.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { types } from 'mediasoup';
import type { OnAir } from '../../server/app.js';
import { connect, type TestSocket } from '../../test/helpers/signalingClient.js';

/** Lowest layer first, as mediasoup wants simulcast encodings. */
const LAYERS = [
  { height: 180, kbps: 150, ssrc: 1110 },
  { height: 360, kbps: 500, ssrc: 1111 },
  { height: 720, kbps: 1500, ssrc: 1112 },
] as const;
const AUDIO_SSRC = 2220;
const VIDEO_PT = 101;
const AUDIO_PT = 100;
/** Bump when the encoding changes, so a stale cache is not replayed. */
const CACHE_DIR = path.join(os.tmpdir(), 'onair-fanout-source-v1');
const SECONDS = 10;

export interface ReplaySource {
  streamId: string;
  video: types.Producer;
  audio: types.Producer;
  stop(): Promise<void>;
}

/** The layer files and the audio file, encoded on first use. */
async function encodedFiles(): Promise<{ layers: string[]; audio: string }> {
  const layers = LAYERS.map((l) => path.join(CACHE_DIR, `video-${l.height}p.webm`));
  const audio = path.join(CACHE_DIR, 'audio.webm');
  if ([...layers, audio].every((f) => fs.existsSync(f))) return { layers, audio };
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const partial = (f: string) => `${f}.part.webm`;
  // Temporal noise over a moving pattern: hard enough to keep libvpx at its (constant) bitrate, like a camera.
  const split = `[0:v]noise=alls=10:allf=t+u,split=3${LAYERS.map((_, i) => `[s${i}]`).join('')};${LAYERS.map((l, i) => `[s${i}]scale=-2:${l.height}[v${i}]`).join(';')}`;
  const videoOutputs = LAYERS.flatMap((l, i) => [
    '-map', `[v${i}]`, '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '4',
    '-b:v', `${l.kbps}k`, '-minrate', `${l.kbps}k`, '-maxrate', `${l.kbps}k`, '-g', '30', '-keyint_min', '30', '-auto-alt-ref', '0',
    partial(layers[i]!),
  ]);
  await promisify(execFile)('ffmpeg', [
    '-y', '-hide_banner', '-loglevel', 'error',
    '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${SECONDS}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${SECONDS}`,
    '-filter_complex', split,
    ...videoOutputs,
    '-map', '1:a', '-c:a', 'libopus', '-ac', '2', '-b:a', '64k', partial(audio),
  ]);
  for (const f of [...layers, audio]) fs.renameSync(partial(f), f);
  return { layers, audio };
}

/** The relay sends at most this many bytes a millisecond: 2.5× the source's ~2.2 Mbps, as browsers pace. */
const PACING_BYTES_PER_MS = Math.round((2.5 * (LAYERS.reduce((n, l) => n + l.kbps, 0) + 64) * 1000) / 8 / 1000);
const PACING_TICK_MS = 5;

/**
 * UDP sockets ffmpeg sends to; everything they get leaves through one socket, to `port`, paced. ffmpeg sends
 * each frame as one burst (a keyframe: dozens of packets back to back), which a browser's pacer would spread
 * out; unpaced, such bursts overflow the worker's socket buffer (~90 datagrams at the kernel's default)
 * whenever the worker is busy sending for a few milliseconds, and the stream loses packets before any viewer.
 */
async function pacedRelay(count: number, port: number): Promise<{ ports: number[]; close(): void }> {
  const out = dgram.createSocket('udp4');
  // Bursts wait in these sockets' buffers (or the queue) instead: make room for a few keyframes.
  const inputs = Array.from({ length: count }, () => dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 }));
  await Promise.all([out, ...inputs].map((sock) => new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve))));
  const queue: Buffer[] = [];
  for (const sock of inputs) sock.on('message', (packet) => queue.push(packet));
  let budget = 0;
  let last = performance.now();
  const pacer = setInterval(() => {
    const now = performance.now();
    budget = Math.min(budget + (now - last) * PACING_BYTES_PER_MS, 4 * PACING_TICK_MS * PACING_BYTES_PER_MS);
    last = now;
    while (queue.length > 0 && budget > 0) {
      const packet = queue.shift()!;
      budget -= packet.length;
      out.send(packet, port, '127.0.0.1');
    }
  }, PACING_TICK_MS);
  return {
    ports: inputs.map((sock) => sock.address().port),
    close: () => {
      clearInterval(pacer);
      for (const sock of [out, ...inputs]) sock.close();
    },
  };
}

/** Goes live on a new stream of `token`'s owner with the replayed simulcast source. */
export async function startReplaySource(s: OnAir, token: string, streamId: string): Promise<ReplaySource> {
  const files = await encodedFiles();
  // The broadcaster's socket stays open for the whole run: a publisher that leaves takes its producers along.
  const broadcaster: TestSocket = await connect(s.url, token);
  const start = await broadcaster.request('broadcast:start', { streamId });
  if (!start.ok) throw new Error(`broadcast:start: ${start.message}`);
  const broadcast = s.broadcasts.get(streamId);
  if (!broadcast) throw new Error('the broadcast did not start');
  const transport = await broadcast.router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
  const codec = (mimeType: string, payloadType: number, clockRate: number, channels?: number) => ({
    mimeType,
    payloadType,
    clockRate,
    ...(channels ? { channels } : {}),
    rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
  });
  const video = await transport.produce({
    kind: 'video',
    rtpParameters: { codecs: [codec('video/VP8', VIDEO_PT, 90000)], encodings: LAYERS.map((l) => ({ ssrc: l.ssrc })) },
  });
  const audio = await transport.produce({
    kind: 'audio',
    rtpParameters: { codecs: [codec('audio/opus', AUDIO_PT, 48000, 2)], encodings: [{ ssrc: AUDIO_SSRC }] },
  });
  const r = await pacedRelay(LAYERS.length + 1, transport.tuple.localPort);
  const output = (input: number, ssrc: number, pt: number, port: number) => [
    '-map', `${input}:0`, '-c', 'copy', '-ssrc', String(ssrc), '-payload_type', String(pt),
    '-f', 'rtp', `rtp://127.0.0.1:${port}?rtcpport=${port}&pkt_size=1200`,
  ];
  const inputs = [...files.layers, files.audio].flatMap((f) => ['-re', '-stream_loop', '-1', '-i', f]);
  const ffmpeg: ChildProcess = spawn(
    'ffmpeg',
    [
      '-hide_banner', '-loglevel', 'error', ...inputs,
      ...LAYERS.flatMap((l, i) => output(i, l.ssrc, VIDEO_PT, r.ports[i]!)),
      ...output(LAYERS.length, AUDIO_SSRC, AUDIO_PT, r.ports[LAYERS.length]!),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  // The producers are the broadcasting socket's: its lease admits them.
  const lease = s.signaling.io.of('/').sockets.get(broadcast.publisher ?? '')?.data.peer.lease;
  if (!lease) throw new Error('the broadcaster socket holds no lease');
  broadcast.addProducer(lease, audio, 'microphone');
  broadcast.addProducer(lease, video, 'camera');
  return {
    streamId,
    video,
    audio,
    async stop() {
      ffmpeg.kill('SIGKILL');
      r.close();
      transport.close();
      broadcaster.disconnect();
    },
  };
}
