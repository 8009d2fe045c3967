/**
 * Stream health rules: from one measurement of an encoder's broadcast (IngestHealthMonitor) to the warnings
 * the studio shows, each saying what to change. Pure; thresholds in one place (HEALTH_THRESHOLDS).
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
}

export const HEALTH_THRESHOLDS: HealthThresholds = { minBitrateShare: 0.3, maxKeyframeIntervalSeconds: 4, minFps: 20, maxLossPercent: 5 };

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
