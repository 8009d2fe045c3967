/**
 * What an SRT input is (InputFacts), from its first second of MPEG-TS read by ffprobe: codecs, H.264 profile
 * and level, picture size, and whether video packets arrive out of presentation order (B-frames). The held
 * bytes go to ffprobe's stdin; it runs for a bounded time and is killed after it (a one-shot reader with
 * nothing to finish, unlike the long-running ffmpeg processes FfmpegProcess owns).
 */
import { spawn } from 'node:child_process';
import { z } from 'zod';
import type { InputFacts } from '../ingestPlan.js';

const probeSchema = z.object({
  packets: z.array(z.object({ stream_index: z.number(), pts: z.number().optional(), dts: z.number().optional() })).default([]),
  streams: z
    .array(
      z.object({
        index: z.number(),
        codec_type: z.string().optional(),
        codec_name: z.string().optional(),
        profile: z.string().optional(),
        level: z.number().optional(),
        width: z.number().optional(),
        height: z.number().optional(),
      }),
    )
    .default([]),
});

/** ffprobe's H.264 profile names → profile_idc and the constraint flags that matter to routing. */
const H264_PROFILES: Record<string, { idc: number; flags: number }> = {
  'Constrained Baseline': { idc: 66, flags: 0xc0 },
  Baseline: { idc: 66, flags: 0x00 },
  Main: { idc: 77, flags: 0x40 },
  Extended: { idc: 88, flags: 0 },
  High: { idc: 100, flags: 0 },
};

export function factsFromProbe(json: unknown): InputFacts {
  const probe = probeSchema.parse(json);
  const facts: InputFacts = {};
  const video = probe.streams.find((s) => s.codec_type === 'video');
  const audio = probe.streams.find((s) => s.codec_type === 'audio');
  if (audio) facts.audio = { codec: audio.codec_name === 'aac' ? 'aac' : 'other' };
  if (video) {
    const pts = probe.packets.filter((p) => p.stream_index === video.index && p.pts !== undefined).map((p) => p.pts!);
    const reordered = pts.length < 2 ? undefined : pts.some((v, i) => i > 0 && v < pts[i - 1]!);
    const profile = video.profile ? H264_PROFILES[video.profile] : undefined;
    facts.video = {
      codec: video.codec_name === 'h264' ? 'h264' : 'other',
      reordered,
      ...(profile ? { profileIdc: profile.idc, constraintFlags: profile.flags } : {}),
      ...(video.level !== undefined && video.level > 0 ? { levelIdc: video.level } : {}),
      ...(video.width ? { width: video.width } : {}),
      ...(video.height ? { height: video.height } : {}),
    };
  }
  return facts;
}

export function probeTs(data: Buffer, timeoutMs = 5000): Promise<InputFacts> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'ffprobe',
      ['-v', 'error', '-f', 'mpegts', '-i', 'pipe:0', '-show_entries', 'stream=index,codec_type,codec_name,profile,level,width,height:packet=stream_index,pts,dts', '-of', 'json'],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.on('error', () => undefined);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      try {
        resolve(factsFromProbe(JSON.parse(out)));
      } catch (err) {
        reject(new Error(`ffprobe could not read the input (exit ${code}): ${(err as Error).message}`));
      }
    });
    child.stdin.end(data);
  });
}
