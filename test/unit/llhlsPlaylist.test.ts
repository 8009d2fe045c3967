import fs from 'node:fs';
import fc from 'fast-check';
import HLS from 'hls-parser';
import { describe, expect, it } from 'vitest';
import { RenditionPackager } from '../../server/llhls/RenditionPackager.js';
import {
  renditionReportOf, skippableSegments, variantOf, writeMasterPlaylist, writeMediaPlaylist,
} from '../../server/llhls/playlistWriter.js';
import { CmafReader } from '../../server/llhls/CmafReader.js';
import { parseResourceName } from '../../server/llhls/uris.js';
import { attributes, checkLlhlsPlaylist } from '../helpers/llhlsRules.js';
import { CLOCK, FakeEncoder, fakeInit, feedGops, makePackager } from './llhlsFixtures.js';

const partNumber = (uri: string): number => {
  const r = parseResourceName(uri);
  if (r?.kind !== 'part') throw new Error(`not a part URI: ${uri}`);
  return r.n;
};

describe('LL-HLS media playlist', () => {
  it('writes every LL-HLS tag the spec asks for, in order', () => {
    const { p, enc } = makePackager();
    feedGops(p, enc, 1);
    p.pushFragment(enc.fragment(0.2, true));
    p.pushFragment(enc.fragment(0.2, false));
    const text = writeMediaPlaylist(p, { renditionReports: [{ uri: 'r1.m3u8', lastMsn: 1, lastPart: 1 }] });
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:9',
        '#EXT-X-TARGETDURATION:1',
        '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.0,PART-HOLD-BACK=0.600',
        '#EXT-X-PART-INF:PART-TARGET=0.200',
        '#EXT-X-MEDIA-SEQUENCE:0',
        '#EXT-X-DISCONTINUITY-SEQUENCE:0',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-MAP:URI="r0_i0.mp4"',
        '#EXT-X-PROGRAM-DATE-TIME:2026-11-30T12:00:00.000Z',
        '#EXT-X-PART:DURATION=0.20000,URI="r0_p0.m4s",INDEPENDENT=YES',
        '#EXT-X-PART:DURATION=0.20000,URI="r0_p1.m4s"',
        '#EXT-X-PART:DURATION=0.20000,URI="r0_p2.m4s"',
        '#EXT-X-PART:DURATION=0.20000,URI="r0_p3.m4s"',
        '#EXT-X-PART:DURATION=0.20000,URI="r0_p4.m4s"',
        '#EXTINF:1.00000,',
        'r0_s0.m4s',
        '#EXT-X-PROGRAM-DATE-TIME:2026-11-30T12:00:01.000Z',
        '#EXT-X-PART:DURATION=0.20000,URI="r0_p5.m4s",INDEPENDENT=YES',
        '#EXT-X-PART:DURATION=0.20000,URI="r0_p6.m4s"',
        '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="r0_p7.m4s"',
        '#EXT-X-RENDITION-REPORT:URI="r1.m3u8",LAST-MSN=1,LAST-PART=1',
        '',
      ].join('\n'),
    );
    expect(checkLlhlsPlaylist(text).violations).toEqual([]);
  });

  it('is read the same by hls-parser (an independent parser)', () => {
    const { p, enc } = makePackager();
    feedGops(p, enc, 3);
    p.pushFragment(enc.fragment(0.2, true));
    const parsed = HLS.parse(writeMediaPlaylist(p, { renditionReports: [{ uri: 'r1.m3u8', lastMsn: 3, lastPart: 0 }] }));
    if (!(parsed instanceof HLS.types.MediaPlaylist)) throw new Error('not a media playlist');
    expect(parsed.version).toBe(9);
    expect(parsed.lowLatencyCompatibility).toMatchObject({ canBlockReload: true, canSkipUntil: 6, partHoldBack: 0.6 });
    expect(parsed.partTargetDuration).toBe(0.2);
    expect(parsed.segments.map((s) => [s.mediaSequenceNumber, s.uri, s.duration, s.parts.length])).toEqual([
      [0, 'r0_s0.m4s', 1, 0], // starts 3.2 s before the end: its parts are no longer listed
      [1, 'r0_s1.m4s', 1, 5],
      [2, 'r0_s2.m4s', 1, 5],
      [3, '', undefined, 2],
    ]);
    const open = parsed.segments[3]!.parts;
    expect(open.map((x) => [x.uri, x.hint, x.independent])).toEqual([
      ['r0_p15.m4s', false, true],
      ['r0_p16.m4s', true, undefined],
    ]);
    expect(parsed.renditionReports).toEqual([expect.objectContaining({ uri: 'r1.m3u8', lastMSN: 3, lastPart: 0 })]);
    expect(parsed.segments[0]!.map.uri).toBe('r0_i0.mp4');
    expect(parsed.segments[0]!.programDateTime?.getTime()).toBe(CLOCK);
  });

  it('lists parts only for segments that start within 3 target durations of the end', () => {
    const { p, enc } = makePackager({ windowSegments: 10 });
    feedGops(p, enc, 8);
    p.pushFragment(enc.fragment(0.2, true));
    const { playlist, violations } = checkLlhlsPlaylist(writeMediaPlaylist(p));
    expect(violations).toEqual([]);
    // The playlist ends at 8.2 s: segments starting at 5.2 s or later keep parts (6, 7 and the open one).
    expect(playlist.segments.map((s) => s.parts.length)).toEqual([0, 0, 0, 0, 0, 0, 5, 5, 1]);
  });

  it('writes a delta update for _HLS_skip: only segments ending CAN-SKIP-UNTIL before the end are skipped', () => {
    const { p, enc } = makePackager({ windowSegments: 12 });
    feedGops(p, enc, 12);
    p.pushFragment(enc.fragment(0.2, true));
    // 12.2 s in the playlist, CAN-SKIP-UNTIL 6 s: segments ending at ≤ 6.2 s, i.e. 0–5, may be skipped.
    expect(skippableSegments(p)).toBe(6);
    const full = checkLlhlsPlaylist(writeMediaPlaylist(p)).playlist;
    const delta = checkLlhlsPlaylist(writeMediaPlaylist(p, { skip: true }));
    expect(delta.violations).toEqual([]);
    expect(delta.playlist.skipped).toBe(6);
    expect(delta.playlist.mediaSequence).toBe(full.mediaSequence);
    expect(delta.playlist.segments.map((s) => s.msn)).toEqual(full.segments.slice(6).map((s) => s.msn));
    expect(delta.playlist.segments[0]).toMatchObject({ map: 'r0_i0.mp4', programDateTime: '2026-11-30T12:00:06.000Z' });
    const parsed = HLS.parse(writeMediaPlaylist(p, { skip: true }));
    expect((parsed as HLS.types.MediaPlaylist).skip).toBe(6);
    // Nothing old enough: a full playlist, no EXT-X-SKIP.
    const young = makePackager();
    feedGops(young.p, young.enc, 6);
    expect(writeMediaPlaylist(young.p, { skip: true })).not.toContain('EXT-X-SKIP');
  });

  it('keeps a discontinuity inside a delta update', () => {
    const { p, enc } = makePackager({ windowSegments: 12 });
    feedGops(p, enc, 8);
    p.pushInit(fakeInit(1));
    feedGops(p, new FakeEncoder(), 4);
    const delta = checkLlhlsPlaylist(writeMediaPlaylist(p, { skip: true }));
    expect(delta.violations).toEqual([]);
    const s8 = delta.playlist.segments.find((s) => s.msn === 8)!;
    expect(s8).toMatchObject({ discontinuity: true, discontinuitySeq: 1, map: 'r0_i1.mp4' });
  });

  it('reports each rendition for the others, and carries a token on every URI', () => {
    const { p, enc } = makePackager();
    expect(renditionReportOf(p)).toBeUndefined();
    feedGops(p, enc, 2);
    expect(renditionReportOf(p)).toEqual({ uri: 'r0.m3u8', lastMsn: 1, lastPart: 4 });
    p.pushFragment(enc.fragment(0.2, true));
    expect(renditionReportOf(p)).toEqual({ uri: 'r0.m3u8', lastMsn: 2, lastPart: 0 });
    const text = writeMediaPlaylist(p, { query: 'token=abc', renditionReports: [{ uri: 'r1.m3u8', lastMsn: 2, lastPart: 0 }] });
    const uris = [...text.matchAll(/URI="([^"]+)"/g)].map((m) => m[1]!).concat(text.split('\n').filter((l) => l && !l.startsWith('#')));
    expect(uris.length).toBeGreaterThan(10);
    for (const u of uris) expect(u).toMatch(/\?token=abc$/);
  });

  it('names resources strictly, and reads the names back', () => {
    expect(parseResourceName('r0_p17.m4s')).toEqual({ kind: 'part', name: 'r0', n: 17 });
    expect(parseResourceName('r2_s3.m4s')).toEqual({ kind: 'segment', name: 'r2', n: 3 });
    expect(parseResourceName('r1_i0.mp4')).toEqual({ kind: 'init', name: 'r1', n: 0 });
    expect(parseResourceName('r1.m3u8')).toEqual({ kind: 'playlist', name: 'r1' });
    for (const bad of ['../r0.m3u8', 'r0_p-1.m4s', 'R0.m3u8', 'r0_p1.m4s.tmp', 'r0_x1.m4s', '']) expect(parseResourceName(bad)).toBeUndefined();
  });

  it('holds the spec rules for any sequence of GOPs, short fragments, restarts and orphan fragments', () => {
    // What ffmpeg can write: 200 ms fragments, cut short at a keyframe (any GOP length), the first fragment
    // of a run a frame longer, fragments before a run's first keyframe (dropped).
    const step = fc.oneof(
      fc.record({ kind: fc.constant('gop' as const), parts: fc.integer({ min: 1, max: 12 }), lastMs: fc.integer({ min: 33, max: 200 }) }),
      fc.record({ kind: fc.constant('restart' as const), orphans: fc.integer({ min: 0, max: 3 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), fc.boolean(), (steps, skip) => {
        const p = new RenditionPackager({ name: 'r0', windowSegments: 8, now: () => CLOCK });
        p.pushInit(fakeInit());
        let enc = new FakeEncoder();
        let first = true;
        for (const s of steps) {
          if (s.kind === 'restart') {
            p.pushInit(fakeInit());
            enc = new FakeEncoder();
            for (let i = 0; i < s.orphans; i++) p.pushFragment(enc.fragment(0.2, false));
            first = true;
            continue;
          }
          for (let i = 0; i < s.parts; i++) {
            const ms = first ? 221.4 : i === s.parts - 1 ? s.lastMs : 200;
            p.pushFragment(enc.fragment(ms / 1000, i === 0));
            first = false;
          }
        }
        const { violations, playlist } = checkLlhlsPlaylist(writeMediaPlaylist(p, { skip }));
        expect(violations).toEqual([]);
        // Numbering: consecutive media sequence numbers; part URIs consecutive up to just before the hint.
        playlist.segments.forEach((s, i) => expect(s.msn).toBe(playlist.mediaSequence + playlist.skipped + i));
        const ids = playlist.segments.flatMap((s) => s.parts.map((x) => partNumber(x.uri)));
        ids.forEach((id, i) => i > 0 && expect(id).toBe(ids[i - 1]! + 1));
        if (p.nextPartId > 0) expect(partNumber(playlist.preloadHints[0]!.URI!)).toBe(p.nextPartId);
        if (ids.length > 0) expect(ids.at(-1)).toBe(p.nextPartId - 1);
      }),
      { numRuns: 300 },
    );
  });
});

describe('LL-HLS master playlist', () => {
  it('lists every rendition with bandwidth, codecs, resolution and frame rate', () => {
    const text = writeMasterPlaylist(
      [
        { name: 'r0', bandwidth: 2_878_000, averageBandwidth: 2_628_000, codecs: ['avc1.4d401f', 'mp4a.40.2'], width: 1280, height: 720, frameRate: 30 },
        { name: 'r1', bandwidth: 1_228_000, codecs: ['avc1.4d401e', ''], width: 854, height: 480 },
      ],
      { query: 'token=t' },
    );
    const parsed = HLS.parse(text);
    if (!(parsed instanceof HLS.types.MasterPlaylist)) throw new Error('not a master playlist');
    expect(parsed.independentSegments).toBe(true);
    expect(parsed.variants.map((v) => [v.uri, v.bandwidth, v.averageBandwidth, v.codecs, v.resolution, v.frameRate])).toEqual([
      ['r0.m3u8?token=t', 2_878_000, 2_628_000, 'avc1.4d401f,mp4a.40.2', { width: 1280, height: 720 }, 30],
      ['r1.m3u8?token=t', 1_228_000, undefined, 'avc1.4d401e', { width: 854, height: 480 }, undefined],
    ]);
    const inf = text.split('\n').find((l) => l.startsWith('#EXT-X-STREAM-INF:'))!;
    expect(attributes(inf.slice('#EXT-X-STREAM-INF:'.length))).toEqual({
      BANDWIDTH: '2878000', 'AVERAGE-BANDWIDTH': '2628000', CODECS: 'avc1.4d401f,mp4a.40.2', RESOLUTION: '1280x720', 'FRAME-RATE': '30.000',
    });
  });
});

describe('the conformance checker itself', () => {
  it('catches playlists that break the rules', () => {
    const { p, enc } = makePackager();
    feedGops(p, enc, 2);
    const good = writeMediaPlaylist(p);
    const broken: Array<[string, RegExp]> = [
      [good.replace('CAN-BLOCK-RELOAD=YES,', ''), /CAN-BLOCK-RELOAD/],
      [good.replace('PART-HOLD-BACK=0.600', 'PART-HOLD-BACK=0.400'), /PART-HOLD-BACK/],
      [good.replace('CAN-SKIP-UNTIL=6.0', 'CAN-SKIP-UNTIL=3.0'), /CAN-SKIP-UNTIL/],
      [good.replace('DURATION=0.20000,URI="r0_p7.m4s"', 'DURATION=0.30000,URI="r0_p7.m4s"'), /PART-TARGET/],
      [good.replace('DURATION=0.20000,URI="r0_p7.m4s"', 'DURATION=0.10000,URI="r0_p7.m4s"'), /85 %|add up/],
      [good.replace(/#EXT-X-PRELOAD-HINT.*\n/, ''), /without PRELOAD-HINT/],
      [good.replace(/#EXT-X-MAP.*\n/, ''), /no EXT-X-MAP/],
      [good.replace('#EXT-X-VERSION:9', '#EXT-X-VERSION:5'), /VERSION 6/],
      [good.replace('#EXT-X-TARGETDURATION:1', '#EXT-X-TARGETDURATION:0'), /rounds above/],
      [good.replace(',INDEPENDENT=YES', ''), /independent part/],
    ];
    expect(checkLlhlsPlaylist(good).violations).toEqual([]);
    for (const [text, reason] of broken) {
      expect(text).not.toBe(good);
      expect(checkLlhlsPlaylist(text).violations.join('\n')).toMatch(reason);
    }
  });
});

describe('LL-HLS variants', () => {
  it('describes a variant from the init segment ffmpeg wrote', () => {
    const fixture = new Uint8Array(fs.readFileSync(new URL('../fixtures/llhls-160x90-2s.mp4', import.meta.url)));
    const first = new CmafReader().push(fixture)[0]!;
    if (first.type !== 'init') throw new Error('no init');
    const v = variantOf('r3', first.init, { videoKbps: 100, audioKbps: 32, frameRate: 30 });
    expect(v).toEqual({
      name: 'r3', bandwidth: Math.round(142 * 1020), averageBandwidth: Math.round(132 * 1020),
      codecs: [expect.stringMatching(/^avc1\.4d40[0-9a-f]{2}$/), 'mp4a.40.2'], width: 160, height: 90, frameRate: 30,
    });
    expect(writeMasterPlaylist([v])).toContain(`CODECS="${v.codecs.join(',')}",RESOLUTION=160x90,FRAME-RATE=30.000`);
  });
});
