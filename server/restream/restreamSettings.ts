/**
 * How restreams run (one place; see docs/restream.md). Platforms ask for H.264 with a keyframe every 2 s
 * and AAC; 4.5 Mb/s is a 1080p30 rate YouTube and Twitch accept (used only when transcoding).
 */
import type { RestreamSettings } from './RestreamOutput.js';

export const RESTREAM_SETTINGS: RestreamSettings = {
  fps: 30,
  videoKbps: 4500,
  audioKbps: 128,
  keyframeSeconds: 2,
  // ffmpeg ends by itself 2 s after its RTP stopped; a SIGINT then still ends it cleanly, so SIGKILL after 3 s.
  inputTimeoutSeconds: 2,
  // A destination that takes nothing for 10 s is dropped and retried.
  ioTimeoutSeconds: 10,
  killAfterMs: 3000,
  retryBaseMs: 2000,
  retryMaxMs: 60_000,
  stableAfterMs: 30_000,
  audioWaitMs: 1500,
};
