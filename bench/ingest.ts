/**
 * RTMP/SRT ingest figures: CPU of the ingest ffmpeg (transcode vs copy) and the latency it adds.
 *
 * Latency: each video frame is timed when its FLV tag is handed to ffmpeg (InputPipe.write, wrapped here)
 * and when its first RTP packet leaves the broadcast's router (a PlainTransport consumer tapping the video
 * producer into a UDP socket here, made as soon as the producer exists, so that it sees every frame). Frames
 * pair up in order (ffmpeg neither drops nor adds frames: the counts are printed); frames of the first five
 * seconds (the probe's held batch, ffmpeg's start) are left out. It is ffmpeg's decode/encode/packetize time
 * plus the router hop, not the encoder's or the network's.
 * Glass-to-glass (encoder's picture → a WebRTC viewer and an hls.js viewer in Chromium): bench/ingestGlass.ts.
 * `INGEST_BENCH_ONLY=glass` runs only that part.
 *
 *   node --import tsx bench/ingest.ts
 *   node --import tsx bench/run.ts --only=ingest      # the same, as figures in bench/results.json
 */
import dgram from 'node:dgram';
import type { types } from 'mediasoup';
import { InputPipe } from '../server/ingest/InputPipe.js';
import { startEncoder, type EncoderOptions } from '../test/helpers/encoderSource.js';
import os from 'node:os';
import { measureIngestGlassToGlass } from './ingestGlass.js';
import { api, cpuSeconds, figure, log, quantile, signIn, sleep, startServer, type Figure } from './common.js';

const SECONDS = Number(process.env.INGEST_BENCH_SECONDS ?? 20);

/** Each coded video frame handed to ffmpeg: its presentation time (ms) and when. */
let framesIn: { pts: number; t: number }[] = [];
const originalWrite = InputPipe.prototype.write;
InputPipe.prototype.write = function (data: Buffer): boolean {
  const now = performance.now();
  // Walk the FLV tags (a held batch starts with the 13-byte FLV header).
  let o = data.subarray(0, 3).toString() === 'FLV' ? 13 : 0;
  while (o + 11 <= data.length) {
    const size = data.readUIntBE(o + 1, 3);
    // Video tag carrying coded frames (AVCPacketType 1), not the sequence header.
    if (data[o] === 9 && data[o + 12] === 1) {
      const dts = data.readUIntBE(o + 4, 3) | (data[o + 7]! << 24);
      framesIn.push({ pts: dts + data.readIntBE(o + 13, 3), t: now });
    }
    o += 11 + size + 4;
  }
  return originalWrite.call(this, data);
};

async function tapVideo(router: types.Router, producer: types.Producer): Promise<{ framesOut: { ts: number; t: number }[]; close(): void }> {
  const framesOut: { ts: number; t: number }[] = [];
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  let lastTs: number | undefined;
  sock.on('message', (msg) => {
    if (msg.length < 12 || (msg[1]! >= 192 && msg[1]! <= 223)) return; // RTCP (rtcp-mux)
    if (msg.readUInt32BE(8) === 1234) return; // mediasoup's bandwidth probation packets (SSRC 1234, PT 127)
    const ts = msg.readUInt32BE(4);
    if (ts !== lastTs) framesOut.push({ ts, t: performance.now() });
    lastTs = ts;
  });
  const t = await router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
  await t.connect({ ip: '127.0.0.1', port: sock.address().port });
  await t.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
  return { framesOut, close: () => (t.close(), sock.close()) };
}

async function run(name: string, protocol: 'rtmp' | 'srt', enc: EncoderOptions): Promise<Figure[]> {
  const s = await startServer({ ONAIR_SRT_PORT: '0' });
  try {
    const { token } = await signIn(s);
    const st = await api<{ id: string; streamKey: string }>(s, 'POST', '/api/streams', token, { title: name });
    framesIn = [];
    let tap: Awaited<ReturnType<typeof tapVideo>> | undefined;
    let tapping = false;
    s.broadcasts.on('producers', ({ streamId }) => {
      const b = s.broadcasts.get(streamId);
      const video = b?.producerOfKind('video');
      if (!b || !video || tapping) return;
      tapping = true;
      void tapVideo(b.router, video).then((t) => (tap = t));
    });
    const url =
      protocol === 'rtmp' ? `rtmp://127.0.0.1:${s.ingest.rtmpPort}/live/${st.streamKey}` : `srt://127.0.0.1:${s.ingest.srtPort}?streamid=${st.streamKey}&latency=120000`;
    const encoder = startEncoder(url, protocol === 'rtmp' ? 'flv' : 'mpegts', enc);
    const session = () => (protocol === 'rtmp' ? [...s.ingest.rtmp!.connections][0]?.session : s.ingest.srt!.connections[0]?.session);
    for (let i = 0; i < 100 && !session()?.ffmpegPid; i++) await sleep(100);
    const pid = session()?.ffmpegPid;
    if (!pid) throw new Error(`${name}: no ingest ffmpeg`);
    await sleep(3000);
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    const cpu = ((cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000)) * 100;
    const inCount = framesIn.length;
    const outCount = tap?.framesOut.length ?? 0;
    // Pair frames by presentation time: ffmpeg keeps timestamps, and the tap sees the first output frame (the
    // first keyframe, the input's smallest pts): an output frame's RTP time since then (90 kHz) is its input
    // frame's pts since the first one (ms). The first five seconds (ffmpeg's start and catching up with the probe's held second) are left out.
    const lat: number[] = [];
    const all = tap?.framesOut ?? [];
    const firstPts = Math.min(...framesIn.map((f) => f.pts));
    const offset = all.length > 0 ? all[0]!.ts / 90 - firstPts : 0;
    const out = all.slice(150);
    const byPts = new Map(framesIn.map((f) => [f.pts, f.t]));
    for (const o of out) {
      const pts = Math.round((o.ts >= all[0]!.ts ? o.ts : o.ts + 2 ** 32) / 90 - offset);
      const tIn = byPts.get(pts) ?? byPts.get(pts - 1) ?? byPts.get(pts + 1);
      if (tIn !== undefined) lat.push(o.t - tIn);
    }
    const plan = session()?.plan.video;
    const latText = protocol === 'rtmp' && lat.length > 0 ? `added latency p50 ${quantile(lat, 0.5).toFixed(1)} ms, p95 ${quantile(lat, 0.95).toFixed(1)} ms` : 'latency: not measured';
    log(`${name}: video ${plan?.mode}${plan?.mode === 'transcode' ? ` (${plan.reason})` : ''}; ingest ffmpeg ${cpu.toFixed(0)} % of one core; ${latText}; frames in ${inCount}, out ${outCount}, paired ${lat.length}`);
    encoder.stop();
    tap?.close();
    const load = `load avg ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`;
    const mode = plan?.mode === 'transcode' ? 'transcoded' : 'copied';
    const figures = [figure(`Ingest ${name}, video ${mode}: ingest ffmpeg CPU [${load}]`, '% of one core', [Math.round(cpu * 10) / 10])];
    if (protocol === 'rtmp' && lat.length > 0) figures.push(figure(`Ingest ${name}, video ${mode}: latency added (FLV in → RTP out of the router) [${load}]`, 'ms', lat));
    return figures;
  } finally {
    await s.close();
  }
}

/** Every case, one after the other (each on its own server). */
export async function measureIngest(): Promise<Figure[]> {
  if (process.env.INGEST_BENCH_ONLY === 'glass') return measureIngestGlassToGlass(SECONDS);
  return [
    ...(await run('RTMP 720p30 x264 high + B-frames (OBS defaults)', 'rtmp', { width: 1280, height: 720 })),
    ...(await run('RTMP 720p30 x264 main, no B-frames', 'rtmp', { width: 1280, height: 720, profile: 'main', preset: 'veryfast', bframes: 0 })),
    ...(await run('RTMP 1080p30 x264 high + B-frames', 'rtmp', { width: 1920, height: 1080 })),
    ...(await run('SRT 720p30 x264 high + B-frames', 'srt', { width: 1280, height: 720 })),
    ...(await measureIngestGlassToGlass(SECONDS)),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await measureIngest();
  process.exit(0);
}
