/**
 * What an RTMP/SRT ingest copies and what it transcodes, and the ffmpeg command that does it: pure functions
 * of what was learnt about the input, tested against expected commands.
 *
 * WebRTC viewers cannot take what OBS sends as it is: browsers' WebRTC stacks play no AAC, and an H.264
 * stream with B-frames (x264's default) arrives out of presentation order, which WebRTC's H.264 path does not
 * reorder (frames stutter and jump). So:
 * - audio: always transcoded to Opus 48 kHz stereo;
 * - video: copied when it is H.264 without B-frames (no frame whose presentation time goes back) in a profile
 *   the routers offer (constrained baseline 42e0, main 4d: server/media/mediaCodecs.ts), else re-encoded with
 *   libx264 ultrafast/zerolatency, constrained baseline, no B-frames, a keyframe each second (viewers joining
 *   and the HLS bridge's one-second segments wait at most that long; ffmpeg cannot answer a keyframe request).
 */

/** What was learnt about the input before ffmpeg starts. */
export interface InputFacts {
  video?: {
    /** 'h264', or another codec ffmpeg decodes (HEVC, AV1, VP9 over enhanced RTMP…). */
    codec: 'h264' | 'other';
    /** profile_idc, constraint flags and level_idc of the AVC configuration record. */
    profileIdc?: number;
    constraintFlags?: number;
    levelIdc?: number;
    /** Some frame's presentation time is earlier than the previous frame's: B-frames. Undefined: unknown. */
    reordered: boolean | undefined;
    width?: number;
    height?: number;
  };
  audio?: { codec: 'aac' | 'other' };
}

export type VideoPlan =
  | { mode: 'copy'; profileLevelId: string; height: number | undefined }
  | { mode: 'transcode'; reason: string; height: number | undefined };

export interface IngestPlan {
  video?: VideoPlan;
  audio?: { mode: 'transcode' };
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** Whether the routers offer this H.264 profile (constrained baseline or main), and its profile-level-id. */
export function routableH264Profile(profileIdc: number, constraintFlags: number, levelIdc: number): string | undefined {
  const constrainedBaseline = profileIdc === 66 && (constraintFlags & 0x40) !== 0;
  const main = profileIdc === 77;
  if (!constrainedBaseline && !main) return undefined;
  return `${hex2(profileIdc)}${hex2(constraintFlags)}${hex2(levelIdc)}`;
}

export function planIngest(facts: InputFacts): IngestPlan {
  const plan: IngestPlan = {};
  if (facts.audio) plan.audio = { mode: 'transcode' };
  const v = facts.video;
  if (!v) return plan;
  const height = v.height;
  const transcode = (reason: string): VideoPlan => ({ mode: 'transcode', reason, height });
  if (v.codec !== 'h264') plan.video = transcode('not H.264');
  else if (v.reordered !== false) plan.video = transcode(v.reordered ? 'B-frames' : 'frame order unknown');
  else {
    const profile =
      v.profileIdc !== undefined && v.constraintFlags !== undefined && v.levelIdc !== undefined
        ? routableH264Profile(v.profileIdc, v.constraintFlags, v.levelIdc)
        : undefined;
    plan.video = profile ? { mode: 'copy', profileLevelId: profile, height } : transcode(`H.264 profile ${v.profileIdc ?? '?'} is not constrained baseline or main`);
  }
  return plan;
}

/** Where ffmpeg sends one track: a PlainTransport (comedia, RTCP on its own port). */
export interface RtpTarget {
  port: number;
  rtcpPort: number;
  payloadType: number;
  ssrc: number;
}

export const VIDEO_PAYLOAD_TYPE = 102;
export const AUDIO_PAYLOAD_TYPE = 100;
/** The profile-level-id the re-encode declares: constrained baseline (libx264 -profile:v baseline). */
export const TRANSCODED_PROFILE_LEVEL_ID = '42e01f';

/** Video bitrate of the re-encode, by height: enough for ultrafast's lower efficiency. */
export function transcodeBitrateKbps(height: number | undefined): number {
  const h = height ?? 720;
  if (h <= 360) return 900;
  if (h <= 480) return 1500;
  if (h <= 720) return 3000;
  return 5000;
}

/**
 * ffmpeg's input side. Not `-fflags nobuffer`: it drops the packets read while analysing the input (up to a
 * GOP, and with them the first keyframe). The decoder keeps its default frame threading: `-thread_type slice`
 * saved about one frame of latency at 720p30 on an idle machine, but decodes an encoder's one-slice frames on
 * a single core, and a 1080p30 stream on a busy machine then fell seconds behind.
 */
export function ingestInputOptions(format: 'flv' | 'mpegts'): string[] {
  return ['-f', format, '-analyzeduration', '1000000'];
}

const rtpUrl = (t: RtpTarget) => `rtp://127.0.0.1:${t.port}?rtcpport=${t.rtcpPort}&pkt_size=1200`;

/**
 * ffmpeg's output side: one RTP output per track (`-f rtp` takes one stream each). The last output is the
 * command's `output`, the others are in `outputOptions` before it (ffmpeg's order: options, then the URL).
 */
export function ingestOutputArgs(plan: IngestPlan, targets: { video?: RtpTarget; audio?: RtpTarget }): { outputOptions: string[]; output: string } {
  const outputs: string[][] = [];
  if (plan.video && targets.video) {
    const t = targets.video;
    const codec =
      plan.video.mode === 'copy'
        ? // SPS/PPS travel in the FLV/MP4 configuration record: put them in band before each keyframe.
          ['-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb']
        : [
            '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p',
            // passthrough: one output frame per input frame (the RTP muxer's default would duplicate frames to a
            // constant rate when the input's millisecond timestamps jitter).
            '-bf', '0', '-fps_mode', 'passthrough', '-force_key_frames', 'expr:gte(t,n_forced*1)',
            '-b:v', `${transcodeBitrateKbps(plan.video.height)}k`, '-maxrate', `${transcodeBitrateKbps(plan.video.height)}k`,
            '-bufsize', `${transcodeBitrateKbps(plan.video.height)}k`,
          ];
    outputs.push(['-map', '0:v:0', ...codec, '-payload_type', String(t.payloadType), '-ssrc', String(t.ssrc), '-f', 'rtp', rtpUrl(t)]);
  }
  if (plan.audio && targets.audio) {
    const t = targets.audio;
    outputs.push([
      '-map', '0:a:0', '-c:a', 'libopus', '-ar', '48000', '-ac', '2', '-b:a', '128k', '-application', 'lowdelay',
      '-payload_type', String(t.payloadType), '-ssrc', String(t.ssrc), '-f', 'rtp', rtpUrl(t),
    ]);
  }
  const last = outputs.pop();
  if (!last) throw new Error('an ingest needs a video or an audio track');
  const output = last.pop()!;
  return { outputOptions: [...outputs.flat(), ...last], output };
}

/** The RTP parameters of the producers fed by `ingestOutputArgs`. */
export function videoRtpParameters(plan: VideoPlan, ssrc: number) {
  const profileLevelId = plan.mode === 'copy' ? plan.profileLevelId : TRANSCODED_PROFILE_LEVEL_ID;
  return {
    codecs: [
      {
        mimeType: 'video/H264',
        payloadType: VIDEO_PAYLOAD_TYPE,
        clockRate: 90000,
        parameters: { 'packetization-mode': 1, 'profile-level-id': profileLevelId, 'level-asymmetry-allowed': 1 },
        rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
      },
    ],
    encodings: [{ ssrc }],
  };
}

export function audioRtpParameters(ssrc: number) {
  return {
    codecs: [{ mimeType: 'audio/opus', payloadType: AUDIO_PAYLOAD_TYPE, clockRate: 48000, channels: 2 }],
    encodings: [{ ssrc }],
  };
}
