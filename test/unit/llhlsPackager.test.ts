import { describe, expect, it } from 'vitest';
import { RenditionPackager } from '../../server/llhls/RenditionPackager.js';
import { writeMediaPlaylist, writeVodPlaylist } from '../../server/llhls/playlistWriter.js';
import { checkLlhlsPlaylist } from '../helpers/llhlsRules.js';
import { CLOCK, FakeEncoder, fakeInit, feedGops, makePackager } from './llhlsFixtures.js';

const conforming = (p: RenditionPackager, skip = false) => {
  const { violations, playlist } = checkLlhlsPlaylist(writeMediaPlaylist(p, { skip }));
  expect(violations).toEqual([]);
  return playlist;
};

describe('LL-HLS rendition packager', () => {
  it('makes each fragment a part and closes a segment at the keyframe that follows ~1 s', () => {
    const { p, enc } = makePackager();
    feedGops(p, enc, 3);
    p.pushFragment(enc.fragment(0.2, true));
    expect(p.segments.map((s) => [s.msn, s.parts.length, s.duration])).toEqual([[0, 5, 1], [1, 5, 1], [2, 5, 1]]);
    expect(p.segments.flatMap((s) => s.parts.map((x) => x.id))).toEqual([...Array(15).keys()]);
    for (const s of p.segments) {
      expect(s.parts.map((x) => x.index)).toEqual([0, 1, 2, 3, 4]);
      expect(s.parts.map((x) => x.independent)).toEqual([true, false, false, false, false]);
      expect(s.complete).toBe(true);
    }
    expect(p.building).toMatchObject({ msn: 3, complete: false, parts: [{ id: 15, index: 0, independent: true }] });
    expect(p.nextMsn).toBe(3);
    expect(p.nextPartId).toBe(16);
  });

  it('does not close a segment on a keyframe before 90 % of the segment target, nor without a keyframe', () => {
    const { p, enc } = makePackager();
    p.pushFragment(enc.fragment(0.2, true));
    p.pushFragment(enc.fragment(0.2, true)); // an early keyframe: still the same segment
    expect(p.segments).toHaveLength(0);
    for (let i = 0; i < 8; i++) p.pushFragment(enc.fragment(0.2, false)); // 2 s without a keyframe
    expect(p.segments).toHaveLength(0);
    p.pushFragment(enc.fragment(0.2, true));
    expect(p.segments.map((s) => s.parts.length)).toEqual([10]);
    // A GOP that measures 0.999 s (timestamp jitter) still makes 1 s segments, not 2 s ones.
    for (let k = 1; k < 5; k++) p.pushFragment(enc.fragment(k === 4 ? 0.199 : 0.2, false));
    for (let k = 0; k < 5; k++) p.pushFragment(enc.fragment(k === 4 ? 0.199 : 0.2, k === 0));
    p.pushFragment(enc.fragment(0.2, true));
    expect(p.segments.slice(1).map((s) => [s.parts.length, s.duration])).toEqual([[5, 0.999], [5, 0.999]]);
  });

  it('drops fragments before the first keyframe of each ffmpeg run, and empty ones', () => {
    const { p, enc } = makePackager();
    p.pushFragment(enc.fragment(0.2, false));
    p.pushFragment(enc.fragment(0.2, false));
    expect(p.building).toBeUndefined();
    feedGops(p, enc, 1);
    const empty = enc.fragment(0, false);
    p.pushFragment({ ...empty, primary: { ...empty.primary, sampleCount: 0 } });
    expect(p.droppedFragments).toBe(3);
    expect(p.nextPartId).toBe(5);
    expect(p.building?.parts[0]).toMatchObject({ id: 0, independent: true });
  });

  it('keeps a window of segments and releases the parts and bytes that leave it', () => {
    const { p, enc } = makePackager({ windowSegments: 7 });
    expect(() => new RenditionPackager({ name: 'r0', windowSegments: 6 })).toThrow();
    feedGops(p, enc, 21);
    p.pushFragment(enc.fragment(0.2, true));
    expect(p.segments.map((s) => s.msn)).toEqual([14, 15, 16, 17, 18, 19, 20]);
    expect(p.getPart(0)).toBeUndefined();
    expect(p.getPart(69)).toBeUndefined();
    expect(p.getPart(70)?.msn).toBe(14);
    expect(p.getSegment(13)).toBeUndefined();
    const seg = p.getSegment(20)!;
    expect([...seg]).toEqual(p.segments.at(-1)!.parts.flatMap((x) => [...x.bytes]));
    const pl = conforming(p);
    expect(pl.mediaSequence).toBe(14);
    expect(pl.segments.map((s) => s.msn)).toEqual([14, 15, 16, 17, 18, 19, 20, 21]);
  });

  it('continues numbering across an ffmpeg restart, with a discontinuity and a new map', () => {
    const { p, enc } = makePackager({ windowSegments: 10 });
    feedGops(p, enc, 3);
    p.pushFragment(enc.fragment(0.2, true));
    p.pushFragment(enc.fragment(0.2, false));
    p.pushInit(fakeInit(1)); // ffmpeg restarted: its clock starts again at 0
    expect(p.segments.at(-1)).toMatchObject({ msn: 3, complete: true, initId: 0, discontinuitySeq: 0 });
    expect(p.segments.at(-1)!.parts).toHaveLength(2);
    const enc2 = new FakeEncoder();
    p.pushFragment(enc2.fragment(0.2, false)); // dropped: no keyframe yet
    feedGops(p, enc2, 2);
    p.pushFragment(enc2.fragment(0.2, true));
    expect(p.segments.slice(4).map((s) => [s.msn, s.initId, s.discontinuitySeq, s.parts[0]!.id])).toEqual([
      [4, 1, 1, 17],
      [5, 1, 1, 22],
    ]);
    const pl = conforming(p);
    expect(pl.segments.map((s) => [s.msn, s.discontinuity, s.discontinuitySeq, s.map])).toEqual([
      [0, false, 0, 'r0_i0.mp4'],
      [1, false, 0, 'r0_i0.mp4'],
      [2, false, 0, 'r0_i0.mp4'],
      [3, false, 0, 'r0_i0.mp4'],
      [4, true, 1, 'r0_i1.mp4'],
      [5, false, 1, 'r0_i1.mp4'],
      [6, false, 1, 'r0_i1.mp4'],
    ]);
    expect(p.getInit(0)).toBeDefined();
    expect(p.getInit(1)?.bytes).toEqual(Uint8Array.of(0x69, 1));
  });

  it('counts one discontinuity for restarts without media between them, and keeps the count as it slides out', () => {
    const { p, enc } = makePackager({ windowSegments: 7 });
    feedGops(p, enc, 2);
    p.pushInit(fakeInit(1));
    p.pushInit(fakeInit(2));
    const enc2 = new FakeEncoder();
    feedGops(p, enc2, 2);
    expect([...p.segments, p.building!].map((s) => s.discontinuitySeq)).toEqual([0, 0, 1, 1]);
    expect(p.getInit(1)).toBeUndefined(); // no segment uses it
    p.pushInit(fakeInit(3));
    feedGops(p, new FakeEncoder(), 9);
    const pl = conforming(p);
    expect(pl.discontinuitySequence).toBe(2);
    expect(pl.segments[0]).toMatchObject({ msn: 5, discontinuitySeq: 2, discontinuity: false, map: 'r0_i3.mp4' });
    expect(p.getInit(0)).toBeUndefined();
  });

  it('raises the target duration and part target to cover what ffmpeg delivered, never lowers them', () => {
    const { p, enc } = makePackager();
    expect([p.targetDuration, p.partTarget]).toEqual([1, 0.2]);
    p.pushFragment(enc.fragment(0.2214, true)); // ffmpeg's first fragment is a frame longer
    for (let i = 0; i < 11; i++) p.pushFragment(enc.fragment(0.2, false)); // a late keyframe
    p.pushFragment(enc.fragment(0.2, true));
    expect(p.targetDuration).toBe(2);
    expect(p.partTarget).toBe(0.222);
    feedGops(p, enc, 2);
    expect([p.targetDuration, p.partTarget]).toEqual([2, 0.222]);
    conforming(p);
  });

  it('stamps program date time from the wall clock of the run start plus media time', () => {
    let now = CLOCK;
    const p = new RenditionPackager({ name: 'r0', now: () => now });
    p.pushInit(fakeInit());
    const enc = new FakeEncoder();
    enc.decodeTime = 123_456; // ffmpeg's clock need not start at 0
    feedGops(p, enc, 2);
    now += 60_000; // the wall clock at later fragments does not matter within a run
    feedGops(p, enc, 1);
    expect(p.segments.map((s) => s.programDateTime - CLOCK)).toEqual([0, 1000]);
    expect(p.building!.programDateTime - CLOCK).toBe(2000);
    p.pushInit(fakeInit(1));
    feedGops(p, new FakeEncoder(), 1);
    expect(p.building!.programDateTime).toBe(now);
  });

  it('keeps every segment for VOD when asked, and ends cleanly', () => {
    const { p, enc } = makePackager({ keepHistory: true, windowSegments: 7 });
    const seen: string[] = [];
    p.subscribe((e) => seen.push(e.type));
    feedGops(p, enc, 10);
    p.pushInit(fakeInit(1));
    feedGops(p, new FakeEncoder(), 2);
    p.end();
    p.end();
    expect(() => p.pushFragment(enc.fragment(0.2, true))).toThrow();
    expect(p.history.map((h) => h.msn)).toEqual([...Array(12).keys()]);
    expect(seen.filter((t) => t === 'segment')).toHaveLength(12);
    expect(seen.filter((t) => t === 'end')).toHaveLength(1);
    const live = checkLlhlsPlaylist(writeMediaPlaylist(p));
    expect(live.violations).toEqual([]);
    expect(live.playlist.ended).toBe(true);
    expect(live.playlist.preloadHints).toEqual([]);
    const vod = writeVodPlaylist('r0', p.history);
    expect(vod).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(vod.match(/#EXTINF:/g)).toHaveLength(12);
    expect(vod.match(/#EXT-X-MAP:/g)).toHaveLength(2);
    expect(vod.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(1);
    expect(vod).not.toContain('EXT-X-PART');
    expect(vod.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
  });

  it('a listener that throws is reported and does not break packaging', () => {
    const errors: unknown[] = [];
    const p = new RenditionPackager({ name: 'r0', onListenerError: (e) => errors.push(e) });
    const seen: number[] = [];
    p.subscribe(() => {
      throw new Error('boom');
    });
    const unsubscribe = p.subscribe((e) => e.type === 'part' && seen.push(e.part.id));
    p.pushInit(fakeInit());
    feedGops(p, new FakeEncoder(), 1);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(errors.length).toBe(6);
    unsubscribe();
    expect(p.listenerCount).toBe(1);
  });

  it('refuses a fragment before any init and a bad rendition name', () => {
    const p = new RenditionPackager({ name: 'r0' });
    expect(() => p.pushFragment(new FakeEncoder().fragment(0.2, true))).toThrow(/init/);
    expect(() => new RenditionPackager({ name: '../x' })).toThrow();
  });
});
