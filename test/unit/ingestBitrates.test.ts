import { describe, expect, it } from 'vitest';
import type { IngestHealthEvent } from '../../shared/ingestHealth.js';
import { IngestBitrates } from '../../server/admin/IngestBitrates.js';

const report = (streamId: string, state: 'live' | 'ended', videoKbps: number): IngestHealthEvent => ({
  streamId,
  source: 'rtmp',
  state,
  measured: { videoKbps, audioKbps: 128, fps: 30, keyframeIntervalSeconds: 2, sinceKeyframeSeconds: 1, height: 720, lossPercent: 0 },
  warnings: [],
  at: '2026-11-30T19:00:00.000Z',
});

describe('IngestBitrates', () => {
  it('keeps the last report of each live encoder broadcast and forgets it at the end', () => {
    const b = new IngestBitrates();
    expect(b.of('s1')).toBeNull();
    b.record(report('s1', 'live', 2000));
    b.record(report('s1', 'live', 2500));
    b.record(report('s2', 'live', 900));
    expect(b.of('s1')).toEqual({ source: 'rtmp', videoKbps: 2500, audioKbps: 128, measuredAt: '2026-11-30T19:00:00.000Z' });
    expect(b.of('s2')?.videoKbps).toBe(900);
    b.record(report('s1', 'ended', 0));
    expect(b.of('s1')).toBeNull();
    b.forget('s2');
    expect([b.of('s2'), b.size]).toEqual([null, 0]);
  });
});
