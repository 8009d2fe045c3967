/** healthRules.ts uploadWarnings: the studio's browser publish warned of a struggling upload, never during the ramp-up. */
import { describe, expect, it } from 'vitest';
import { uploadWarnings, type UploadMeasurement } from '../../server/ingest/health/healthRules.js';

const healthy: UploadMeasurement = { videoKbps: 740, height: 720, targetKbps: 1500, allowedKbps: 1500, rttMs: 3, lossPercent: 0, secondsLive: 30 };
const codes = (m: Partial<UploadMeasurement>) => uploadWarnings({ ...healthy, ...m }).map((w) => w.code);

describe('upload health warnings (browser publish)', () => {
  it('gives none for a healthy 720p upload, nor before the browser reported RTT or loss', () => {
    expect(codes({})).toEqual([]);
    expect(codes({ rttMs: null, lossPercent: null })).toEqual([]);
  });
  it('warns when the upload allows the top layer far less than its target, only after the bandwidth estimate had time to ramp up', () => {
    expect(codes({ allowedKbps: 400 })).toEqual(['bitrate_low']);
    expect(codes({ allowedKbps: 460 })).toEqual([]);
    expect(codes({ allowedKbps: 400, secondsLive: 5 })).toEqual([]);
    expect(uploadWarnings({ ...healthy, allowedKbps: 20, videoKbps: 21 })[0]?.message).toMatch(/20 kbit\/s of 720p.*target of 1500 kbit\/s.*upload is struggling/);
  });
  it('does not take a simple picture the encoder sends below its target for a struggling upload; judges the bitrate sent only without the browser\'s figure', () => {
    expect(codes({ videoKbps: 120, allowedKbps: 1500 })).toEqual([]);
    expect(codes({ videoKbps: 120, allowedKbps: null })).toEqual(['bitrate_low']);
    expect(codes({ videoKbps: 740, allowedKbps: null })).toEqual([]);
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
    expect(codes({ allowedKbps: 100, lossPercent: 20, rttMs: 900 })).toEqual(['bitrate_low', 'packet_loss', 'rtt_high']);
  });
});
