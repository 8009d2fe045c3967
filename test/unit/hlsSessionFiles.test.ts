/**
 * An LL-HLS (fmp4) session's files as a recording: the segment journal read back (validated, a torn last line
 * skipped), the VOD playlist written from it (EXT-X-MAP per run, discontinuities, token carried on), the
 * master playlist from the variants (prefixed for the live URL), and the "has media" rule.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasMedia, masterPlaylist, readJournal, renditionPlaylist, sessionStats, type SessionManifest } from '../../server/hls/sessionFiles.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-session-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const manifest = (over: Partial<SessionManifest> = {}): SessionManifest => ({
  streamId: 'S', sessionId: 'X', epochs: ['e0', 'e1'], renditions: [360], segmentSeconds: 1, ended: true, format: 'fmp4',
  variants: [{ name: 'r0', bandwidth: 800_000, averageBandwidth: 700_000, codecs: ['avc1.4d401e', 'mp4a.40.2'], width: 640, height: 360 }],
  ...over,
});
const line = (msn: number, initId: number, disc: number, duration = 1) =>
  JSON.stringify({ msn, duration, initId, discontinuitySeq: disc, programDateTime: Date.UTC(2026, 10, 30) + msn * 1000 });

describe('fmp4 session files', () => {
  const dir = fs.mkdtempSync(path.join(tmp, 's-'));
  fs.writeFileSync(path.join(dir, 'r0.jsonl'), [line(0, 0, 0), line(1, 0, 0), line(2, 1, 1, 0.6), '{"msn":3,"dura'].join('\n'));

  it('reads the journal, skipping a line a crash cut and lines that are not segments', () => {
    fs.writeFileSync(path.join(dir, 'r1.jsonl'), `${line(0, 0, 0)}\n{"msn":-1,"duration":1,"initId":0,"discontinuitySeq":0,"programDateTime":0}\nnot json\n`);
    expect(readJournal(dir, 0).map((h) => h.msn)).toEqual([0, 1, 2]);
    expect(readJournal(dir, 1).map((h) => h.msn)).toEqual([0]);
    expect(readJournal(dir, 5)).toEqual([]);
  });

  it('writes the recording as a VOD playlist: a MAP per run, a discontinuity between runs, no parts, the token on every URI', () => {
    const text = renditionPlaylist(dir, manifest(), 0, { query: '?token=abc' });
    expect(text.split('\n').filter((l) => l.startsWith('#EXT-X-MAP') || l === '#EXT-X-DISCONTINUITY' || (l && !l.startsWith('#')))).toEqual([
      '#EXT-X-MAP:URI="r0_i0.mp4?token=abc"', 'r0_s0.m4s?token=abc', 'r0_s1.m4s?token=abc',
      '#EXT-X-DISCONTINUITY', '#EXT-X-MAP:URI="r0_i1.mp4?token=abc"', 'r0_s2.m4s?token=abc',
    ]);
    expect(text).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(text).not.toContain('#EXT-X-PART');
    expect(text.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
  });

  it('writes the master playlist from the variants, prefixed for the live URL, with the token', () => {
    const text = masterPlaylist(dir, manifest(), 'X/', '?token=abc')!;
    expect(text).toContain('CODECS="avc1.4d401e,mp4a.40.2"');
    expect(text).toContain('RESOLUTION=640x360');
    expect(text.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual(['X/r0.m3u8?token=abc']);
    expect(masterPlaylist(dir, manifest({ variants: undefined }))).toBeUndefined();
  });

  it('is a recording with variants and at least half a second of segments', () => {
    expect(sessionStats(dir, manifest()).durationSeconds).toBe(2.6);
    expect(hasMedia(dir, manifest())).toBe(true);
    expect(hasMedia(dir, manifest({ variants: undefined }))).toBe(false);
    const short = fs.mkdtempSync(path.join(tmp, 's-'));
    fs.writeFileSync(path.join(short, 'r0.jsonl'), `${line(0, 0, 0, 0.2)}\n`);
    expect(hasMedia(short, manifest())).toBe(false);
  });
});
