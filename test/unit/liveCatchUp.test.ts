import { describe, expect, it } from 'vitest';
import { catchUpRate, MAX_RATE } from '../../client/hls/liveCatchUp.js';

describe('catchUpRate (live HLS playback kept at its target latency)', () => {
  const target = 0.6;
  it('plays at 1× at the target, ahead of it, or within the dead zone', () => {
    expect(catchUpRate({ latency: 0.6, target, bufferAhead: 0.5 })).toBe(1);
    expect(catchUpRate({ latency: 0.4, target, bufferAhead: 0.5 })).toBe(1);
    expect(catchUpRate({ latency: 0.69, target, bufferAhead: 0.5 })).toBe(1);
  });
  it('plays faster the further behind, in 0.05 steps, up to MAX_RATE', () => {
    // hls.js's own controller would do nothing here: 0.45 s buffered is under its 1 s floor.
    expect(catchUpRate({ latency: 0.93, target, bufferAhead: 0.45 })).toBe(1.15);
    expect(catchUpRate({ latency: 1.0, target, bufferAhead: 0.5 })).toBe(1.2);
    expect(catchUpRate({ latency: 1.8, target, bufferAhead: 1.0 })).toBe(MAX_RATE);
  });
  it('never speeds up with too little buffered (it would stall)', () => {
    expect(catchUpRate({ latency: 1.0, target, bufferAhead: 0.2 })).toBe(1);
  });
  it('leaves rewound playback alone (far behind the edge is DVR, not lag)', () => {
    expect(catchUpRate({ latency: 30, target, bufferAhead: 5 })).toBe(1);
  });
  it('takes no figure it cannot read for lag', () => {
    expect(catchUpRate({ latency: Number.NaN, target, bufferAhead: 1 })).toBe(1);
    expect(catchUpRate({ latency: 1, target, bufferAhead: Number.NaN })).toBe(1);
  });
});
