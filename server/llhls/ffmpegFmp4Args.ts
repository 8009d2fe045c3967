/**
 * ffmpeg's arguments for the LL-HLS ladder, built by a pure function (an argument array, never a shell
 * string), tested against the expected command.
 *
 * Same ladder rules as server/hls/ffmpegArgs.ts (one decode, `fps` + `split`, one `scale` per encoded rung;
 * rung 0 copied when `copyTop`; H.264 main, zerolatency, no B-frames, keyframes every `segmentSeconds`
 * forced on the clock; AAC 128k 48 kHz stereo per rung), but each rung is its own fragmented-MP4 output
 * (`-f mp4 -movflags +frag_keyframe+empty_moov+default_base_moof -frag_duration <part µs>`) written to a pipe:
 * rung i goes to file descriptor 3 + i (`pipe:3`, `pipe:4`, …), which the caller opens as extra stdio
 * ('pipe') and feeds into one CmafReader per rung. ffmpeg cuts a fragment at each keyframe and whenever
 * the fragment reaches the part duration, so each fragment is one ~200 ms part and every segment can start
 * on a keyframe. `-flush_packets 1` hands each fragment to the pipe as soon as it is written.
 */
import type { Rung } from '../hls/ladder.js';

export interface Fmp4Plan {
  /** ffmpeg input, e.g. the SDP file of the PlainTransports. */
  input: string;
  /** Input options before `-i` (protocol whitelist, probe sizes…). */
  inputOptions: string[];
  rungs: Rung[];
  copyTop: boolean;
  hasAudio: boolean;
  segmentSeconds: number;
  partSeconds: number;
  fps: number;
  preset: string;
}

export interface Fmp4Output {
  rung: number;
  /** The file descriptor ffmpeg writes this rung's fMP4 to. */
  fd: number;
}

export interface Fmp4Args {
  args: string[];
  outputs: Fmp4Output[];
}

export const FIRST_OUTPUT_FD = 3;

/**
 * How long ffmpeg's muxer may hold one stream's packets back while it waits for the other's, to interleave
 * them (its default is 10 s). Live RTP audio (Opus → AAC) and video arrive unevenly; a part must never wait
 * seconds for audio, so the wait is bounded to 300 ms (a guard: not shown to change the measured latency).
 */
export const MAX_INTERLEAVE_DELTA_US = 300_000;

/**
 * ffmpeg 5.1 reads its input in its main thread, between encodes, when it has one input file; with two or
 * more, each input gets a reader thread feeding a queue. On one thread the RTP/SDP demuxer, asked for a
 * packet, polls its sockets and returns from the first one with data: stream 0, video. Whenever the encodes
 * fall behind (ffmpeg's start, three x264 rungs on a loaded machine) the video socket always has data, the
 * audio socket waits, and the audio reaches the muxer seconds late and in a burst. Measured (ffprobe of the
 * first segments, 720p source, load 13): no audio in segments 1–2, then segment 3 carried audio from 0.66 s
 * to 4.0 s beside video from 3.0 s. The buffered range of a muxed audio+video SourceBuffer is where both
 * tracks are, so hls.js had nothing playable near the live edge and, aiming at PART-HOLD-BACK, never started
 * (bench/NOTES.md). So the SDP input gets a second input beside it: an idle one (a lavfi source no output
 * maps, whose reader blocks on its 1-packet queue), only so that ffmpeg reads the SDP input on its own thread
 * into a queue of READER_QUEUE_PACKETS, in arrival order. Measured after: audio beside video in every segment.
 * The queue is bounded to ~2 s of the source (512 RTP packets; a 720p source sends ~250 a second): an ffmpeg
 * starved of CPU for longer falls behind by at most that much before the sockets overflow (as before),
 * rather than by the ~16 s a 4,096-packet queue held (measured: glass-to-glass 13 s at load 12).
 */
export const READER_QUEUE_PACKETS = 512;

/**
 * `-fpsprobesize 0`: an SDP input names no frame rate, so ffmpeg's stream probe otherwise waits for 20 video
 * frames (~0.67 s at 30 fps) to estimate one before it starts; the encoded rungs get theirs from the `fps`
 * filter. Measured (load 13–15): ffmpeg spawned → init segments 1.2–1.5 s, against 1.4–1.9 s without it.
 */
export const PROBE_OPTIONS = ['-fpsprobesize', '0'];

/**
 * Audio timestamps that follow the sample count (as server/restream does): ffmpeg's RTP demuxer re-bases a
 * stream's timestamps on its first RTCP sender report, and mediasoup sends those for audio only every few
 * seconds, so the audio timestamps step seconds into a run; the muxer then held or dropped audio (measured:
 * audio of segment 0 from 0.64 s, none in segments 1–2, then audio from 1.0 s beside video from 3 s).
 */
export const AUDIO_TIMING_FILTER = 'aresample=async=1';
/**
 * The AAC encoder's priming makes the audio's first timestamp negative (−1024 samples, 21.3 ms); the mp4
 * muxer's default answer (make_non_negative) shifted every video frame but the first by 21.3 ms, so each run's
 * first part lasted 221 ms: PART-TARGET rose to 0.222 for the whole session and PART-HOLD-BACK (3 × it, where
 * players sit) to 0.666 s. Without the shift the video's timestamps stay on the frame grid (first part 200 ms,
 * checked with ffprobe) and the audio starts at 0 with its priming samples.
 */
export const TIMESTAMP_OPTIONS = ['-avoid_negative_ts', 'disabled'];
export const IDLE_INPUT = ['-thread_queue_size', '1', '-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono'];

export function ffmpegFmp4Args(plan: Fmp4Plan): Fmp4Args {
  const { rungs, copyTop, hasAudio, segmentSeconds, fps } = plan;
  if (rungs.length === 0) throw new Error('the ladder is empty');
  if (!(plan.partSeconds > 0 && plan.partSeconds <= segmentSeconds)) throw new Error('a part is longer than 0 and at most a segment');
  const gop = Math.max(1, Math.round(fps * segmentSeconds));
  const args = ['-hide_banner', '-loglevel', 'warning', '-nostats', ...plan.inputOptions, ...PROBE_OPTIONS, '-thread_queue_size', String(READER_QUEUE_PACKETS), '-i', plan.input, ...IDLE_INPUT];

  const encoded = rungs.map((r, i) => ({ ...r, index: i })).filter((r) => !(copyTop && r.index === 0));
  if (encoded.length > 0) {
    const graph = [`[0:v:0]fps=${fps},split=${encoded.length}${encoded.map((_, i) => `[s${i}]`).join('')}`];
    encoded.forEach((r, i) => graph.push(`[s${i}]scale=-2:${r.height}:flags=bicubic,format=yuv420p[v${r.index}]`));
    args.push('-filter_complex', graph.join(';'));
  }

  const outputs: Fmp4Output[] = [];
  rungs.forEach((r, i) => {
    args.push('-map', copyTop && i === 0 ? '0:v:0' : `[v${i}]`);
    if (hasAudio) args.push('-map', '0:a:0');
    if (copyTop && i === 0) {
      args.push('-c:v', 'copy');
    } else {
      args.push(
        '-c:v', 'libx264',
        '-b:v', `${r.videoKbps}k`,
        '-maxrate:v', `${Math.round(r.videoKbps * 1.1)}k`,
        '-bufsize:v', `${r.videoKbps}k`,
        '-preset', plan.preset, '-tune', 'zerolatency', '-profile:v', 'main', '-pix_fmt', 'yuv420p',
        '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-bf', '0',
        '-force_key_frames', `expr:gte(t,n_forced*${segmentSeconds})`,
      );
    }
    if (hasAudio) args.push('-af', AUDIO_TIMING_FILTER);
    if (hasAudio) args.push('-c:a', 'aac', '-b:a', '128k', '-ar', '48000', '-ac', '2');
    const fd = FIRST_OUTPUT_FD + i;
    args.push(
      '-f', 'mp4',
      '-movflags', '+frag_keyframe+empty_moov+default_base_moof',
      '-frag_duration', String(Math.round(plan.partSeconds * 1_000_000)),
      '-flush_packets', '1',
      '-max_interleave_delta', String(MAX_INTERLEAVE_DELTA_US),
      ...TIMESTAMP_OPTIONS,
      `pipe:${fd}`,
    );
    outputs.push({ rung: i, fd });
  });
  return { args, outputs };
}

/** The stdio array for child_process.spawn: stdin ignored, stderr piped for logs, one pipe per rung. */
export const ffmpegFmp4Stdio = (outputs: Fmp4Output[]): Array<'ignore' | 'pipe'> => [
  'ignore',
  'ignore',
  'pipe',
  ...outputs.map(() => 'pipe' as const),
];
