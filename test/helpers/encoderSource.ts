/**
 * A real encoder for ingest tests: ffmpeg encoding a test pattern and a tone the way OBS does by default
 * (libx264 with B-frames, AAC 48 kHz) and publishing it over RTMP or SRT. Its stderr is kept (refusals are
 * read from it); `stop` is SIGKILL (a publisher that vanishes), `exited` settles with its exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface EncoderOptions {
  width?: number;
  height?: number;
  /** x264 B-frames (OBS: 2). */
  bframes?: number;
  /** x264 profile (OBS: high). */
  profile?: 'baseline' | 'main' | 'high';
  /** x264 preset (ultrafast makes x264 signal constrained baseline whatever the profile: no CABAC, no B-frames). */
  preset?: string;
  /** Stop by itself after this many seconds (a clean end: RTMP deleteStream). */
  seconds?: number;
  /** Frames per second (30), keyframe interval in frames (60), video bitrate in kbit/s (800). */
  fps?: number;
  gop?: number;
  videoKbps?: number;
  /** false: no audio track. */
  audio?: boolean;
}

export interface Encoder {
  process: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
  stop(): void;
}

export function startEncoder(url: string, format: 'flv' | 'mpegts', opts: EncoderOptions = {}): Encoder {
  const { width = 640, height = 360, bframes = 2, profile = 'high', preset = 'ultrafast', fps = 30, gop = 60, videoKbps = 800, audio = true } = opts;
  const rate = [`-b:v`, `${videoKbps}k`, ...(opts.videoKbps ? ['-maxrate', `${videoKbps}k`, '-bufsize', `${videoKbps}k`] : [])];
  const args = [
    '-hide_banner', '-nostats', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}`,
    ...(audio ? ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'] : []),
    ...(opts.seconds ? ['-t', String(opts.seconds)] : []),
    '-c:v', 'libx264', '-preset', preset, '-profile:v', profile, '-bf', String(bframes), '-g', String(gop), '-pix_fmt', 'yuv420p', ...rate,
    ...(audio ? ['-c:a', 'aac', '-ar', '48000', '-ac', '2', '-b:a', '128k'] : []),
    '-f', format, url,
  ];
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, stderr: () => err, exited, stop: () => child.kill('SIGKILL') };
}
