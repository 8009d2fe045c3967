/** healthRules.ts: each warning from the measurement that calls for it, and none from a healthy one. */
import { describe, expect, it } from 'vitest';
import type { IngestMeasurement } from '../../shared/ingestHealth.js';
import { healthWarnings, type HealthContext } from '../../server/ingest/health/healthRules.js';

const healthy: IngestMeasurement = { videoKbps: 2400, audioKbps: 128, fps: 30, keyframeIntervalSeconds: 2, sinceKeyframeSeconds: 1, height: 720, lossPercent: 0 };
const rtmp: HealthContext = { source: 'rtmp', hasVideo: true, hasAudio: true };
const codes = (m: Partial<IngestMeasurement>, ctx: Partial<HealthContext> = {}) => healthWarnings({ ...healthy, ...m }, { ...rtmp, ...ctx }).map((w) => w.code);

describe('health warnings', () => {
  it('gives none for a healthy 720p30 publish', () => {
    expect(codes({})).toEqual([]);
    expect(codes({ fps: null, keyframeIntervalSeconds: null, sinceKeyframeSeconds: null, height: null })).toEqual([]);
  });
  it('warns of a bitrate far below what the height needs (30 % of the ladder table), not of a modest one', () => {
    expect(codes({ videoKbps: 700 })).toEqual(['bitrate_low']);
    expect(codes({ videoKbps: 800 })).toEqual([]);
    expect(codes({ videoKbps: 1200, height: 1080 })).toEqual(['bitrate_low']);
    expect(healthWarnings({ ...healthy, videoKbps: 700 }, rtmp)[0]?.message).toMatch(/700 kbit\/s.*2500 kbit\/s.*720p/);
  });
  it('warns of keyframes more than 4 s apart, or none for more than 4 s, except over WHIP (keyframes on request)', () => {
    expect(codes({ keyframeIntervalSeconds: 10 })).toEqual(['keyframe_interval']);
    expect(codes({ keyframeIntervalSeconds: 2, sinceKeyframeSeconds: 6 })).toEqual(['keyframe_interval']);
    expect(codes({ keyframeIntervalSeconds: 4 })).toEqual([]);
    expect(codes({ keyframeIntervalSeconds: 10 }, { source: 'whip' })).toEqual([]);
  });
  it('warns of a low frame rate, missing audio or video, and loss', () => {
    expect(codes({ fps: 12 })).toEqual(['fps_low']);
    expect(codes({ audioKbps: 0 })).toEqual(['audio_missing']);
    expect(codes({}, { hasAudio: false })).toEqual(['audio_missing']);
    expect(codes({ lossPercent: 8 })).toEqual(['packet_loss']);
    // No video: the video rules say nothing more.
    expect(codes({ videoKbps: 0, fps: 5, keyframeIntervalSeconds: 30 })).toEqual(['video_missing']);
    expect(codes({}, { hasVideo: false })).toEqual(['video_missing']);
  });
});
