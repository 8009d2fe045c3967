/** healthRules.ts uploadWarnings: the studio's browser publish warned of a struggling upload, never during the ramp-up. */
import { describe, expect, it } from 'vitest';
import { uploadWarnings, type UploadMeasurement } from '../../server/ingest/health/healthRules.js';

const healthy: UploadMeasurement = { videoKbps: 2200, height: 720, rttMs: 3, lossPercent: 0, secondsLive: 30 };
const codes = (m: Partial<UploadMeasurement>) => uploadWarnings({ ...healthy, ...m }).map((w) => w.code);

describe('upload health warnings (browser publish)', () => {
  it('gives none for a healthy 720p upload, nor before the browser reported RTT or loss', () => {
    expect(codes({})).toEqual([]);
    expect(codes({ rttMs: null, lossPercent: null })).toEqual([]);
  });
  it('warns of a top layer far below what its height needs, only after the bandwidth estimate had time to ramp up', () => {
    expect(codes({ videoKbps: 700 })).toEqual(['bitrate_low']);
    expect(codes({ videoKbps: 800 })).toEqual([]);
    expect(codes({ videoKbps: 150, height: 360 })).toEqual(['bitrate_low']);
    expect(codes({ videoKbps: 700, secondsLive: 5 })).toEqual([]);
    expect(uploadWarnings({ ...healthy, videoKbps: 700 })[0]?.message).toMatch(/700 kbit\/s.*2500 kbit\/s.*720p.*upload is struggling/);
  });
  it('warns when no video leaves at all (after the ramp-up)', () => {
    expect(codes({ videoKbps: 0, height: 0 })).toEqual(['video_missing']);
    expect(codes({ videoKbps: 0, height: 0, secondsLive: 2 })).toEqual([]);
  });
  it('warns of loss above 5 % and of a round trip above 400 ms, each with its figure', () => {
    expect(codes({ lossPercent: 5 })).toEqual([]);
    expect(codes({ lossPercent: 7.25 })).toEqual(['packet_loss']);
    expect(uploadWarnings({ ...healthy, lossPercent: 7.25 })[0]?.message).toMatch(/7\.3 %/);
    expect(codes({ rttMs: 400 })).toEqual([]);
    expect(codes({ rttMs: 650 })).toEqual(['rtt_high']);
    expect(uploadWarnings({ ...healthy, rttMs: 650 })[0]?.message).toMatch(/650 ms/);
    expect(codes({ videoKbps: 100, lossPercent: 20, rttMs: 900 })).toEqual(['bitrate_low', 'packet_loss', 'rtt_high']);
  });
});
