/**
 * ffmpeg's arguments for one restream attempt, built by a pure function (an argument array, never a shell
 * string), so the command is unit-tested as it is.
 *
 * Input: the SDP of the RTP mediasoup sends to local ports (video, and audio if any), with a timeout so an
 * ffmpeg whose input went silent ends by itself. Without audio, a silent AAC track is generated (platforms
 * such as YouTube and Twitch refuse or mishandle video-only streams).
 * Output: FLV over RTMP(S). H.264 is copied (keyframes requested from the publisher every
 * `keyframeSeconds`); any other codec is encoded with libx264 veryfast/zerolatency, a keyframe every
 * `keyframeSeconds`. Opus is always encoded to AAC (FLV carries no Opus), its timestamps made continuous
 * first (see below). Progress goes to fd 3 (`-progress`),
 * which RestreamOutput reads to learn that the destination takes media.
 */
import { rtpInputOptions } from '../hls/ffmpegArgs.js';

export interface RestreamPlan {
  sdpPath: string;
  /** The whole target: server URL + "/" + stream key. */
  target: string;
  copyVideo: boolean;
  hasAudio: boolean;
  fps: number;
  videoKbps: number;
  audioKbps: number;
  keyframeSeconds: number;
  inputTimeoutSeconds: number;
  /** Give up a stalled destination (no write progress) after this long. */
  ioTimeoutSeconds: number;
}

export function restreamArgs(p: RestreamPlan): string[] {
  const args = [
    '-hide_banner', '-loglevel', 'warning', '-nostats', '-nostdin',
    '-progress', 'pipe:3', '-stats_period', '0.5',
    ...rtpInputOptions(p.inputTimeoutSeconds),
    '-i', p.sdpPath,
  ];
  if (!p.hasAudio) args.push('-f', 'lavfi', '-i', 'anullsrc=channel_layout=stereo:sample_rate=48000');
  args.push('-map', '0:v:0', '-map', p.hasAudio ? '0:a:0' : '1:a:0');
  if (p.copyVideo) {
    args.push('-c:v', 'copy');
  } else {
    const gop = String(Math.max(1, Math.round(p.fps * p.keyframeSeconds)));
    args.push(
      '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-profile:v', 'main', '-pix_fmt', 'yuv420p',
      '-r', String(p.fps), '-g', gop, '-keyint_min', gop, '-sc_threshold', '0', '-bf', '0',
      '-b:v', `${p.videoKbps}k`, '-maxrate', `${p.videoKbps}k`, '-bufsize', `${p.videoKbps * 2}k`,
    );
  }
  // The Opus RTP's timestamps are not continuous (most likely ffmpeg's RTP demuxer re-basing them on the first
  // RTCP sender report: the duplicates sat in the first second), so decoded audio can step back a few ms;
  // the AAC encoder then stamps two packets with the same millisecond (FLV's unit), which players and
  // strict muxers reject as non-monotonic. Resampling with async=1 makes the audio follow its sample count
  // (small steps stretched or squeezed, large ones filled with silence or trimmed): strictly increasing.
  if (p.hasAudio) args.push('-af', 'aresample=async=1');
  args.push('-c:a', 'aac', '-b:a', `${p.audioKbps}k`, '-ar', '48000', '-ac', '2');
  if (!p.hasAudio) args.push('-shortest');
  args.push('-rw_timeout', String(p.ioTimeoutSeconds * 1_000_000), '-flvflags', 'no_duration_filesize', '-f', 'flv', p.target);
  return args;
}

/** The RTMP target ffmpeg connects to: the server URL and the key as the last path element. */
export const rtmpTarget = (url: string, key: string): string => `${url.replace(/\/+$/, '')}/${key}`;

/** The target with its key hidden, for logs. */
export const redactedTarget = (url: string): string => `${url.replace(/\/+$/, '')}/<key>`;
