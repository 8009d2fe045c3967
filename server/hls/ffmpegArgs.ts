/**
 * ffmpeg's arguments for one run of the HLS bridge, built by a pure function (an argument array, never a
 * shell string), so the command is unit-tested as it is.
 *
 * Input: an SDP file describing the RTP that mediasoup sends to local ports (video, and audio if any), with a
 * timeout, so an ffmpeg whose input never came or went away ends by itself.
 * Output: one HLS variant per rung (H.264 main + AAC, `segmentSeconds` segments, keyframes forced on segment
 * boundaries), written as r<i>.m3u8 + r<i>_<n>.ts in `outDir`, with ffmpeg's master.m3u8. When the source is
 * already H.264, rung 0 (its own size) is copied, not re-encoded.
 */
import path from 'node:path';
import type { Rung } from './ladder.js';

export interface FfmpegPlan {
  sdpPath: string;
  outDir: string;
  rungs: Rung[];
  /** Copy the source's H.264 into rung 0 instead of encoding it. */
  copyTop: boolean;
  hasAudio: boolean;
  segmentSeconds: number;
  fps: number;
  /** libx264 preset: ultrafast … medium. */
  preset: string;
  /**
   * ffmpeg gives up on its RTP input after this many seconds without a packet (`-listen_timeout` of the SDP
   * demuxer; its default, 10, let a forgotten ffmpeg run about 20 s). Measured with Debian's ffmpeg 5.1: a
   * silent input ends ffmpeg after about twice this (probing, then reading), and a SIGINT once media stopped
   * ends it cleanly (last segment, #EXT-X-ENDLIST) within this.
   */
  inputTimeoutSeconds: number;
}

export interface FfmpegArgs {
  input: string[];
  /** Everything after the input but the output file. */
  output: string[];
  /** The output: the variant playlists' pattern. */
  target: string;
}

/**
 * The options of the RTP input (an SDP file of local UDP ports), shared by every ffmpeg OnAir feeds from
 * mediasoup (the HLS ladder, restreams). `-flags low_delay` keeps the decoder off frame threading, which holds
 * one frame per extra thread (on 2 cores, 2 frames: 67 ms at 30 fps) before the first decoded frame comes out;
 * slice threading stays.
 */
export const rtpInputOptions = (inputTimeoutSeconds: number): string[] => [
  '-protocol_whitelist', 'file,udp,rtp',
  '-fflags', '+genpts',
  '-flags', 'low_delay',
  '-analyzeduration', '1000000', '-probesize', '1000000',
  '-reorder_queue_size', '64', '-max_delay', '200000',
  '-listen_timeout', String(inputTimeoutSeconds),
];

export function ffmpegArgs(plan: FfmpegPlan): FfmpegArgs {
  const { rungs, copyTop, hasAudio, segmentSeconds, fps } = plan;
  if (rungs.length === 0) throw new Error('the ladder is empty');
  const gop = Math.max(1, Math.round(fps * segmentSeconds));

  const input = ['-hide_banner', '-loglevel', 'warning', '-nostats', ...rtpInputOptions(plan.inputTimeoutSeconds)];

  // Encoded rungs come from one decode, split.
  const encoded = rungs.map((r, i) => ({ ...r, index: i })).filter((r) => !(copyTop && r.index === 0));
  const output: string[] = [];
  if (encoded.length > 0) {
    const graph = [`[0:v:0]fps=${fps},split=${encoded.length}${encoded.map((_, i) => `[s${i}]`).join('')}`];
    encoded.forEach((r, i) => graph.push(`[s${i}]scale=-2:${r.height}:flags=bicubic,format=yuv420p[v${r.index}]`));
    output.push('-filter_complex', graph.join(';'));
  }
  rungs.forEach((_, i) => output.push('-map', copyTop && i === 0 ? '0:v:0' : `[v${i}]`));
  if (hasAudio) rungs.forEach(() => output.push('-map', '0:a:0'));

  rungs.forEach((r, i) => {
    if (copyTop && i === 0) {
      output.push(`-c:v:${i}`, 'copy');
      return;
    }
    output.push(
      `-c:v:${i}`, 'libx264',
      `-b:v:${i}`, `${r.videoKbps}k`,
      `-maxrate:v:${i}`, `${Math.round(r.videoKbps * 1.1)}k`,
      `-bufsize:v:${i}`, `${r.videoKbps}k`,
    );
  });
  if (encoded.length > 0) {
    output.push(
      '-preset', plan.preset, '-tune', 'zerolatency', '-profile:v', 'main', '-pix_fmt', 'yuv420p',
      '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-bf', '0',
      '-force_key_frames', `expr:gte(t,n_forced*${segmentSeconds})`,
    );
  }
  if (hasAudio) output.push('-c:a', 'aac', '-b:a', '128k', '-ar', '48000', '-ac', '2');

  const varStreamMap = rungs.map((_, i) => (hasAudio ? `v:${i},a:${i}` : `v:${i}`)).join(' ');
  output.push(
    '-f', 'hls',
    '-hls_time', String(segmentSeconds),
    '-hls_list_size', '0',
    '-hls_playlist_type', 'event',
    '-hls_flags', 'independent_segments+temp_file',
    '-hls_segment_type', 'mpegts',
    '-var_stream_map', varStreamMap,
    '-master_pl_name', 'master.m3u8',
    '-hls_segment_filename', path.join(plan.outDir, 'r%v_%05d.ts'),
  );
  return { input, output, target: path.join(plan.outDir, 'r%v.m3u8') };
}

/** The whole command line, as run (for logs and tests). */
export const ffmpegCommandLine = (plan: FfmpegPlan): string[] => {
  const a = ffmpegArgs(plan);
  return [...a.input, '-i', plan.sdpPath, ...a.output, a.target];
};
