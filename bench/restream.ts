/**
 * Restream cost: CPU of one destination's ffmpeg (from /proc), copying H.264 vs transcoding VP8 to H.264, at
 * 720p30 and 360p30, pushing to a local nginx-rtmp (Debian's, started here). The broadcast is fed by real RTP
 * replayed from files encoded beforehand (test pattern + tone; `-re -c copy`, so that no live encoder of the
 * source competes for the CPU being measured); HLS is off so that only the restream's ffmpeg is measured.
 *
 *   node --import tsx bench/restream.ts [--seconds=20]
 *   node --import tsx bench/run.ts --only=restream    # the same, as figures in bench/results.json
 *
 * Prints one line per case and the Markdown table for docs/restream.md. Never run as a test: numbers depend
 * on the machine and its load.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { PublisherLease } from '../server/live/Broadcast.js';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import type { types } from 'mediasoup';
import { freePort, startNginxRtmp } from '../test/helpers/nginxRtmp.js';
import { startTestServer } from '../test/helpers/testServer.js';
import { until } from '../test/helpers/until.js';
import { cpuSeconds, figure, sleep, type Figure } from './common.js';

export interface RestreamCpu {
  source: string;
  height: number;
  video: 'copy' | 'transcode';
  /** Percent of one core, mean over the window. */
  cpuPercent: number;
  seconds: number;
  /** Video frames per second that reached the destination (nginx's recording: frames / duration). */
  deliveredFps: number;
}

/** Frames per second of the video in a recording (the source may fall short of 30 on a loaded machine). */
function recordedFps(file: string): number {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets:format=duration', '-of', 'json', file], { encoding: 'utf8' });
  const j = JSON.parse(r.stdout) as { streams: { nb_read_packets?: string }[]; format: { duration?: string } };
  return Math.round((Number(j.streams[0]?.nb_read_packets ?? 0) / Number(j.format.duration ?? 1)) * 10) / 10;
}

/** 30 s of test pattern + tone, encoded once (not in real time), as the browser would send it. */
function encodeClip(dir: string, codec: 'VP8' | 'H.264', width: number, height: number): string {
  const file = path.join(dir, `${codec === 'VP8' ? 'vp8' : 'h264'}-${height}.mkv`);
  const video = codec === 'VP8'
    ? ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', height >= 720 ? '2500k' : '800k', '-g', '60']
    : ['-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-bf', '0', '-b:v', height >= 720 ? '2500k' : '800k', '-g', '60'];
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=30`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '30', ...video, '-c:a', 'libopus', '-ac', '2', '-b:a', '64k', file]);
  if (r.status !== 0) throw new Error(`encoding ${file} failed: ${r.stderr.toString()}`);
  return file;
}

/** Replays a clip as RTP (looped, in real time, copied) into the broadcast of `lease`, as its publisher. */
async function replaySource(lease: PublisherLease, clip: string, codec: 'VP8' | 'H.264', height: number): Promise<{ stop(): void }> {
  const router = lease.broadcast.router;
  const plain = () => router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: false, comedia: true });
  const vt = await plain();
  const at = await plain();
  const videoCodec: types.RtpCodecParameters = codec === 'VP8'
    ? { mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, rtcpFeedback: [{ type: 'nack', parameter: 'pli' }] }
    : { mimeType: 'video/H264', payloadType: 101, clockRate: 90000, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' }, rtcpFeedback: [{ type: 'nack', parameter: 'pli' }] };
  const video = await vt.produce({ kind: 'video', rtpParameters: { codecs: [videoCodec], encodings: [{ ssrc: 22222222 }] }, appData: { source: 'whip', height } });
  const audio = await at.produce({
    kind: 'audio',
    rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 33333333 }] },
    appData: { source: 'whip' },
  });
  const url = (t: types.PlainTransport) => `rtp://127.0.0.1:${t.tuple.localPort}?rtcpport=${t.rtcpTuple!.localPort}&pkt_size=1200`;
  const ffmpeg = spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', clip,
    // H.264 from Matroska keeps its SPS/PPS out of band (avcC): mp4toannexb puts them before every IDR, as a
    // browser sends them; without them no consumer ever sees a keyframe (mediasoup's H.264 keyframe is an SPS).
    '-map', '0:v', '-c:v', 'copy', ...(codec === 'H.264' ? ['-bsf:v', 'h264_mp4toannexb'] : []), '-ssrc', '22222222', '-payload_type', '101', '-f', 'rtp', url(vt),
    '-map', '0:a', '-c:a', 'copy', '-ssrc', '33333333', '-payload_type', '100', '-f', 'rtp', url(at),
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  lease.broadcast.addProducer(lease, audio, 'whip');
  lease.broadcast.addProducer(lease, video, 'whip');
  return {
    stop() {
      ffmpeg.kill('SIGKILL');
      vt.close();
      at.close();
    },
  };
}

const cases = [
  { source: 'H.264', height: 720, width: 1280 },
  { source: 'VP8', height: 720, width: 1280 },
  { source: 'H.264', height: 360, width: 640 },
  { source: 'VP8', height: 360, width: 640 },
] as const;

export async function measureRestreamCpu(seconds = 20): Promise<RestreamCpu[]> {
  const s = await startTestServer({ ONAIR_RESTREAM_ALLOW_PRIVATE: '1', ONAIR_HLS: 'off' });
  const nginx = await startNginxRtmp(await freePort());
  const out: RestreamCpu[] = [];
  const clips = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-bench-clips-'));
  try {
    const token = await s.broadcaster('bench');
    for (const c of cases) {
      const streamId = (await s.api('POST', '/api/streams', { token, body: { title: `restream ${c.source} ${c.height}` } })).body.id as string;
      const key = `bench-${c.source}-${c.height}`.replace('.', '');
      const dest = (await s.api('POST', `/api/streams/${streamId}/destinations`, { token, body: { url: nginx.url, streamKey: key } })).body as { id: string };
      const { lease } = await s.broadcasts.start(streamId, 'bench-publisher');
      const src = await replaySource(lease, encodeClip(clips, c.source, c.width, c.height), c.source, c.height);
      try {
        const status = await until('live', async () => {
          const list = (await s.api('GET', `/api/streams/${streamId}/destinations`, { token })).body as { destinations: { id: string; status: { state: string; video?: 'copy' | 'transcode' } }[] };
          const st = list.destinations.find((d) => d.id === dest.id)!.status;
          return st.state === 'live' && st;
        }, 30_000);
        await sleep(3000); // past the start-up
        const pid = s.restream.pids()[0]!;
        const t0 = performance.now();
        const c0 = cpuSeconds(pid);
        await sleep(seconds * 1000);
        const cpuPercent = ((cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000)) * 100;
        await s.broadcasts.endBroadcast(streamId, 'bench over');
        const deliveredFps = recordedFps(path.join(nginx.recordings, `${key}.flv`));
        const r: RestreamCpu = { source: c.source, height: c.height, video: status.video!, cpuPercent: Math.round(cpuPercent * 10) / 10, seconds, deliveredFps };
        console.log(`restream ${c.source} ${c.height}p30 → ${r.video}: ffmpeg ${r.cpuPercent} % of one core, ${deliveredFps} fps delivered`);
        out.push(r);
      } finally {
        src.stop();
      }
    }
  } finally {
    await s.close();
    await nginx.stop();
    fs.rmSync(clips, { recursive: true, force: true });
  }
  return out;
}

/** The cases as benchmark figures (bench/run.ts --only=restream), the machine's load beside each. */
export async function restreamFigures(seconds = 20): Promise<Figure[]> {
  const load = () => `load avg ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`;
  return (await measureRestreamCpu(seconds)).flatMap((r) => [
    figure(`Restream ${r.source} ${r.height}p30 → ${r.video === 'copy' ? 'copied' : 'libx264 veryfast'} + AAC: destination ffmpeg CPU [${load()}]`, '% of one core', [r.cpuPercent]),
    figure(`Restream ${r.source} ${r.height}p30 → ${r.video}: frames per second delivered to nginx-rtmp`, 'fps', [r.deliveredFps]),
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const secondsArg = process.argv.find((a) => a.startsWith('--seconds='));
  const results = await measureRestreamCpu(secondsArg ? Number(secondsArg.split('=')[1]) : 20);
  console.log('\n| source | video | ffmpeg CPU (% of one core) | fps delivered |\n| --- | --- | --- | --- |');
  for (const r of results) console.log(`| ${r.source} ${r.height}p30 | ${r.video === 'copy' ? 'copied' : 'libx264 veryfast'} + Opus → AAC | ${r.cpuPercent} | ${r.deliveredFps} |`);
}
