/**
 * Stream health rules: from one measurement of an encoder's broadcast (IngestHealthMonitor) to the warnings
 * the studio shows, each saying what to change; and the same rules for the studio's own browser publish
 * (uploadWarnings, from the browser's send-side WebRTC stats, run in the studio: the browser alone knows its
 * round-trip time and what its encoder aims at). Pure (the client bundles this file); thresholds in one place
 * (HEALTH_THRESHOLDS).
 */
import type { HealthWarning, IngestMeasurement, IngestSource } from '../../../shared/ingestHealth.js';
import { kbpsFor } from '../../hls/ladder.js';

export interface HealthThresholds {
  /** Video below this share of the bitrate its height needs (the HLS ladder's table) is "far below". */
  minBitrateShare: number;
  /** Keyframes further apart than this (seconds): viewers joining and HLS segments wait for one. */
  maxKeyframeIntervalSeconds: number;
  minFps: number;
  maxLossPercent: number;
  /** Browser publish: a round-trip time above this (ms) makes recovery from loss slow (NACK, keyframe asks). */
  maxRttMs: number;
  /** Browser publish: WebRTC's bandwidth estimate ramps up from a low start; no bitrate warning before this (s). */
  uploadRampSeconds: number;
}

export const HEALTH_THRESHOLDS: HealthThresholds = { minBitrateShare: 0.3, maxKeyframeIntervalSeconds: 4, minFps: 20, maxLossPercent: 5, maxRttMs: 400, uploadRampSeconds: 10 };

export interface HealthContext {
  source: IngestSource;
  hasVideo: boolean;
  hasAudio: boolean;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

export function healthWarnings(m: IngestMeasurement, ctx: HealthContext, t: HealthThresholds = HEALTH_THRESHOLDS): HealthWarning[] {
  const warnings: HealthWarning[] = [];
  if (!ctx.hasVideo || m.videoKbps === 0) {
    warnings.push({ code: 'video_missing', message: ctx.hasVideo ? 'no video is arriving from the encoder' : 'the encoder sends no video track' });
  } else {
    if (m.height !== null) {
      const needed = kbpsFor(m.height);
      if (m.videoKbps < needed * t.minBitrateShare) {
        warnings.push({
          code: 'bitrate_low',
          message: `video arrives at ${Math.round(m.videoKbps)} kbit/s, far below the ~${needed} kbit/s a ${m.height}p picture needs: raise the encoder's bitrate or lower its resolution (or the upload is struggling)`,
        });
      }
    }
    // WebRTC encoders (WHIP) send keyframes when asked, not on a schedule: their interval says nothing.
    const gap = Math.max(m.keyframeIntervalSeconds ?? 0, m.sinceKeyframeSeconds ?? 0);
    if (ctx.source !== 'whip' && gap > t.maxKeyframeIntervalSeconds) {
      warnings.push({
        code: 'keyframe_interval',
        message: `keyframes arrive ${round1(gap)} s apart: set the encoder's keyframe interval to 1–2 s (OBS: Output → Keyframe Interval 2), or viewers and HLS wait that long`,
      });
    }
    if (m.fps !== null && m.fps < t.minFps) {
      warnings.push({ code: 'fps_low', message: `video arrives at ${round1(m.fps)} frames per second: motion will stutter (send 25–60 fps, or the encoder is overloaded)` });
    }
  }
  if (!ctx.hasAudio || m.audioKbps === 0) {
    warnings.push({ code: 'audio_missing', message: ctx.hasAudio ? 'no audio is arriving from the encoder' : 'the encoder sends no audio track: viewers hear nothing' });
  }
  if (m.lossPercent > t.maxLossPercent) {
    warnings.push({ code: 'packet_loss', message: `${round1(m.lossPercent)} % of the packets are lost on the way in: lower the bitrate or check the network` });
  }
  return warnings;
}

/** What the studio's browser sends, from its send transport's stats (client/studio/sendStats.ts). */
export interface UploadMeasurement {
  /** The top simulcast layer (the one the ladder and the best viewers get): kbit/s sent and its height; 0 = none. */
  videoKbps: number;
  height: number;
  /** What the studio asks of that layer (its maxBitrate), kbit/s. */
  targetKbps: number;
  /** What the encoder may send now (the target capped by WebRTC's bandwidth estimate), kbit/s; null if unknown. */
  allowedKbps: number | null;
  /** null until the browser reported one. */
  rttMs: number | null;
  lossPercent: number | null;
  /** Seconds since the broadcast went live (the bandwidth estimate's ramp-up). */
  secondsLive: number;
}

/**
 * The browser publish's warnings: the bitrate the upload allows far below the studio's target (simple
 * pictures are sent below their target by the encoder itself: what the bandwidth estimate allows is judged,
 * the bitrate sent only when the browser does not report it), nothing sent, loss, round-trip time.
 */
export function uploadWarnings(m: UploadMeasurement, t: HealthThresholds = HEALTH_THRESHOLDS): HealthWarning[] {
  const warnings: HealthWarning[] = [];
  if (m.secondsLive >= t.uploadRampSeconds) {
    const allowed = m.allowedKbps ?? m.videoKbps;
    if (m.videoKbps === 0) warnings.push({ code: 'video_missing', message: 'no video is being sent: check the camera or screen source' });
    else if (m.targetKbps > 0 && allowed < m.targetKbps * t.minBitrateShare) {
      warnings.push({
        code: 'bitrate_low',
        message: `the upload carries ${Math.round(allowed)} kbit/s of ${m.height}p video, far below its target of ${Math.round(m.targetKbps)} kbit/s: the upload is struggling (use a wired connection, or a lower resolution)`,
      });
    }
  }
  if (m.lossPercent !== null && m.lossPercent > t.maxLossPercent) {
    warnings.push({ code: 'packet_loss', message: `${round1(m.lossPercent)} % of the packets sent are lost on the way to the server: the network is struggling (lower the resolution, or use a wired connection)` });
  }
  if (m.rttMs !== null && m.rttMs > t.maxRttMs) {
    warnings.push({ code: 'rtt_high', message: `the round trip to the server takes ${Math.round(m.rttMs)} ms: losses take long to repair and viewers see more delay (check the network)` });
  }
  return warnings;
}
