import fs from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { BoxFramer } from '../../server/llhls/BoxFramer.js';
import { CmafReader } from '../../server/llhls/CmafReader.js';
import { CmafError, type CmafEvent, type Fragment } from '../../server/llhls/cmafTypes.js';

/** 2 s of ffmpeg's fragmented MP4 (see test/fixtures/llhls-160x90-2s.md). */
const FIXTURE = new Uint8Array(fs.readFileSync(new URL('../fixtures/llhls-160x90-2s.mp4', import.meta.url)));

function box(type: string, payload: Uint8Array | number[] = []): Uint8Array {
  const body = payload instanceof Uint8Array ? payload : Uint8Array.from(payload);
  const out = new Uint8Array(8 + body.byteLength);
  new DataView(out.buffer).setUint32(0, out.byteLength);
  out.set([...type].map((c) => c.charCodeAt(0)), 4);
  out.set(body, 8);
  return out;
}

/** Feeds `bytes` in chunks of the sizes `sizes` yields. */
function readInChunks(bytes: Uint8Array, size: () => number): CmafEvent[] {
  const reader = new CmafReader();
  const events: CmafEvent[] = [];
  for (let at = 0; at < bytes.byteLength; ) {
    const n = Math.max(1, size());
    events.push(...reader.push(bytes.subarray(at, at + n)));
    at += n;
  }
  reader.end();
  return events;
}

/** A deterministic pseudo-random chunk size in [1, max]. */
function seeded(seed: number, max: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return 1 + (s % max);
  };
}

const fragments = (events: CmafEvent[]): Fragment[] => events.flatMap((e) => (e.type === 'fragment' ? [e.fragment] : []));

describe('BoxFramer', () => {
  it('cuts whole boxes out of any chunking, 64-bit sizes included', () => {
    const large = new Uint8Array(16 + 3);
    const v = new DataView(large.buffer);
    v.setUint32(0, 1);
    large.set([...'mdat'].map((c) => c.charCodeAt(0)), 4);
    v.setBigUint64(8, 19n);
    large.set([7, 8, 9], 16);
    const stream = new Uint8Array([...box('ftyp', [1, 2, 3, 4]), ...large, ...box('free')]);
    for (let size = 1; size <= stream.byteLength; size++) {
      const f = new BoxFramer();
      const got = [];
      for (let at = 0; at < stream.byteLength; at += size) got.push(...f.push(stream.subarray(at, at + size)));
      expect(got.map((b) => [b.type, b.bytes.byteLength])).toEqual([['ftyp', 12], ['mdat', 19], ['free', 8]]);
      expect([...got[1]!.bytes.subarray(16)]).toEqual([7, 8, 9]);
      expect(f.pending).toBe(0);
    }
  });

  it('refuses sizes it cannot frame: to-the-end, smaller than the header, beyond the limit', () => {
    const zero = box('mdat');
    new DataView(zero.buffer).setUint32(0, 0);
    expect(() => new BoxFramer().push(zero)).toThrow(CmafError);
    const tiny = box('moof');
    new DataView(tiny.buffer).setUint32(0, 4);
    expect(() => new BoxFramer().push(tiny)).toThrow(/less than its header/);
    expect(() => new BoxFramer({ maxBoxBytes: 100 }).push(box('mdat', new Uint8Array(200)))).toThrow(/too large/);
    // A partial box waits (and says so), it does not throw.
    const f = new BoxFramer();
    expect(f.push(box('moov', [1, 2, 3]).subarray(0, 9))).toEqual([]);
    expect(f.pending).toBe(9);
  });
});

describe('CmafReader on ffmpeg output', () => {
  const whole = readInChunks(FIXTURE, () => FIXTURE.byteLength);

  it('reads the init segment: tracks, timescales, codecs, size', () => {
    const first = whole[0]!;
    if (first.type !== 'init') throw new Error('the first event is not the init');
    const init = first.init;
    expect(init.tracks.map((t) => [t.trackId, t.handler, t.timescale, t.codec.slice(0, 4)])).toEqual([
      [1, 'vide', 15360, 'avc1'],
      [2, 'soun', 48000, 'mp4a'],
    ]);
    expect(init.primary).toMatchObject({ trackId: 1, width: 160, height: 90 });
    const text = new TextDecoder('latin1').decode(init.bytes.subarray(4, 8));
    expect(text).toBe('ftyp');
  });

  it('reads each fragment: contiguous decode times, durations, a keyframe every 30 frames', () => {
    const frags = fragments(whole);
    expect(frags.length).toBe(10);
    let expected = frags[0]!.primary.decodeTime;
    let frames = 0;
    for (const f of frags) {
      expect(f.primary.decodeTime).toBe(expected);
      expected += f.primary.duration;
      // A fragment starts with a keyframe exactly when it starts a 30-frame GOP.
      expect(f.primary.startsWithKeyframe).toBe(frames % 30 === 0);
      frames += f.primary.sampleCount;
      const audio = f.tracks.find((t) => t.trackId === 2)!;
      expect(audio.startsWithKeyframe).toBe(true);
      expect(new TextDecoder('latin1').decode(f.bytes.subarray(4, 8))).toBe('moof');
    }
    expect(frames).toBe(60);
    expect(frags.map((f) => f.primary.sampleCount)).toEqual([6, 6, 6, 6, 6, 6, 6, 6, 6, 6]);
    // Each fragment is its moof+mdat exactly: together with the init they are the file, but for the mfra.
    const init = whole[0]!.type === 'init' ? whole[0]!.init.bytes.byteLength : 0;
    const sum = init + frags.reduce((n, f) => n + f.bytes.byteLength, 0);
    expect(FIXTURE.subarray(sum, sum + 8).subarray(4)).toEqual(new TextEncoder().encode('mfra'));
  });

  it('gives the same result for any chunking, down to single bytes', () => {
    const summary = (events: CmafEvent[]) =>
      events.map((e) => (e.type === 'init' ? ['init', e.init.bytes.byteLength] : ['frag', e.fragment.primary, e.fragment.bytes.byteLength]));
    const expected = summary(whole);
    for (const seed of [1, 2, 3]) expect(summary(readInChunks(FIXTURE, seeded(seed, 4096)))).toEqual(expected);
    expect(summary(readInChunks(FIXTURE, () => 1))).toEqual(expected);
    const bytes = readInChunks(FIXTURE, seeded(9, 300));
    expect(fragments(bytes).map((f) => [...f.bytes.subarray(0, 64)])).toEqual(fragments(whole).map((f) => [...f.bytes.subarray(0, 64)]));
  });

  it('starts a new init when a second ffmpeg run follows in the same stream', () => {
    const mfra = FIXTURE.byteLength - new DataView(FIXTURE.buffer, FIXTURE.byteOffset).getUint32(FIXTURE.byteLength - 4);
    const twice = new Uint8Array([...FIXTURE.subarray(0, mfra), ...FIXTURE]);
    const events = readInChunks(twice, seeded(4, 5000));
    expect(events.map((e) => e.type).filter((t) => t === 'init')).toHaveLength(2);
    expect(fragments(events)).toHaveLength(20);
  });

  it('refuses a stream that is not what a fragmenting ffmpeg writes', () => {
    expect(() => new CmafReader().push(box('moof', [0, 0, 0, 0]))).toThrow(/before the init/);
    const init = whole[0]!.type === 'init' ? whole[0]!.init.bytes : new Uint8Array();
    expect(() => new CmafReader().push(new Uint8Array([...init, ...box('mdat', [1])]))).toThrow(/without a moof/);
    const truncated = new CmafReader();
    truncated.push(FIXTURE.subarray(0, FIXTURE.byteLength - 100));
    expect(() => truncated.end()).toThrow(/inside a box/);
  });

  it('turns any corruption of the init or the first fragments into a CmafError, never another error', () => {
    // mp4box reports some corrupt boxes on stderr before giving up; keep the test output readable.
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    const seed = seeded(5, 1 << 30);
    let failures = 0;
    try {
      for (let i = 0; i < 400; i++) {
        const bytes = FIXTURE.slice();
        for (let k = 0; k < 4; k++) bytes[seed() % 1400] = seed() % 256;
        try {
          for (const e of readInChunks(bytes, () => 4096)) {
            if (e.type === 'fragment') expect(Number.isFinite(e.fragment.primary.decodeTime + e.fragment.primary.duration)).toBe(true);
          }
        } catch (error) {
          failures += 1;
          expect(error).toBeInstanceOf(CmafError);
        }
      }
    } finally {
      quiet.mockRestore();
    }
    expect(failures).toBeGreaterThan(50);
  });
});
