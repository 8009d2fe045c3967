import { describe, expect, it } from 'vitest';
import { ladderFor } from '../../server/hls/ladder.js';
import { ffmpegFmp4Args, ffmpegFmp4Stdio, type Fmp4Plan } from '../../server/llhls/ffmpegFmp4Args.js';

const plan = (over: Partial<Fmp4Plan> = {}): Fmp4Plan => ({
  input: '/d/e0/input.sdp',
  inputOptions: ['-protocol_whitelist', 'file,udp,rtp'],
  rungs: ladderFor([1080, 720, 480, 360], 480),
  copyTop: false,
  hasAudio: true,
  segmentSeconds: 1,
  partSeconds: 0.2,
  fps: 30,
  preset: 'veryfast',
  ...over,
});

const x264 = (kbps: number, max: number) => [
  '-c:v', 'libx264', '-b:v', `${kbps}k`, '-maxrate:v', `${max}k`, '-bufsize:v', `${kbps}k`,
  '-preset', 'veryfast', '-tune', 'zerolatency', '-profile:v', 'main', '-pix_fmt', 'yuv420p',
  '-g', '30', '-keyint_min', '30', '-sc_threshold', '0', '-bf', '0', '-force_key_frames', 'expr:gte(t,n_forced*1)',
];
// No frame-rate probe; the SDP input read on its own thread (a second, idle input makes ffmpeg 5.1 give each input a reader).
const readerInput = ['-fpsprobesize', '0', '-thread_queue_size', '512', '-i', '/d/e0/input.sdp', '-thread_queue_size', '1', '-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono'];
const aac = ['-af', 'aresample=async=1', '-c:a', 'aac', '-b:a', '128k', '-ar', '48000', '-ac', '2'];
const fmp4 = (fd: number) => [
  '-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '200000', '-flush_packets', '1', '-max_interleave_delta', '300000', '-avoid_negative_ts', 'disabled', `pipe:${fd}`,
];

describe('ffmpeg arguments for the fMP4 (LL-HLS) ladder', () => {
  it('encodes each rung from one decode into its own fragmented MP4 pipe', () => {
    const { args, outputs } = ffmpegFmp4Args(plan());
    expect(args).toEqual([
      '-hide_banner', '-loglevel', 'warning', '-nostats', '-protocol_whitelist', 'file,udp,rtp', ...readerInput,
      '-filter_complex',
      '[0:v:0]fps=30,split=2[s0][s1];[s0]scale=-2:480:flags=bicubic,format=yuv420p[v0];[s1]scale=-2:360:flags=bicubic,format=yuv420p[v1]',
      '-map', '[v0]', '-map', '0:a:0', ...x264(1000, 1100), ...aac, ...fmp4(3),
      '-map', '[v1]', '-map', '0:a:0', ...x264(600, 660), ...aac, ...fmp4(4),
    ]);
    expect(outputs).toEqual([{ rung: 0, fd: 3 }, { rung: 1, fd: 4 }]);
    expect(ffmpegFmp4Stdio(outputs)).toEqual(['ignore', 'ignore', 'pipe', 'pipe', 'pipe']);
  });

  it('copies the top rung when asked, and leaves audio out without an audio track', () => {
    const { args } = ffmpegFmp4Args(plan({ rungs: ladderFor([720, 360], 720), copyTop: true, hasAudio: false, partSeconds: 0.25, segmentSeconds: 2 }));
    expect(args).toEqual([
      '-hide_banner', '-loglevel', 'warning', '-nostats', '-protocol_whitelist', 'file,udp,rtp', ...readerInput,
      '-filter_complex', '[0:v:0]fps=30,split=1[s0];[s0]scale=-2:360:flags=bicubic,format=yuv420p[v1]',
      '-map', '0:v:0', '-c:v', 'copy',
      '-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '250000', '-flush_packets', '1', '-max_interleave_delta', '300000', '-avoid_negative_ts', 'disabled', 'pipe:3',
      '-map', '[v1]',
      ...x264(600, 660).map((a) => a.replace(/^30$/, '60').replace('n_forced*1', 'n_forced*2')),
      '-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '250000', '-flush_packets', '1', '-max_interleave_delta', '300000', '-avoid_negative_ts', 'disabled', 'pipe:4',
    ]);
  });

  it('refuses an empty ladder and parts longer than a segment', () => {
    expect(() => ffmpegFmp4Args(plan({ rungs: [] }))).toThrow(/empty/);
    expect(() => ffmpegFmp4Args(plan({ partSeconds: 1.5 }))).toThrow(/part/);
    expect(() => ffmpegFmp4Args(plan({ partSeconds: 0 }))).toThrow(/part/);
  });
});
