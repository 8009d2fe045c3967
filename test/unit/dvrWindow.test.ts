import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dvrView } from '../../server/llhls/DvrWindow.js';
import type { HistoryEntry, PackagerEvent, PackagerListener, PlaylistSource, SegmentEntry } from '../../server/llhls/RenditionPackager.js';
import { writeMediaPlaylist } from '../../server/llhls/playlistWriter.js';

/** A stand-in for the packager: a window of the last `window` segments, events as it emits them. */
class FakeSource implements PlaylistSource {
  readonly name = 'r0';
  readonly targetDuration = 1;
  readonly partTarget = 0.2;
  segments: SegmentEntry[] = [];
  building: SegmentEntry | undefined;
  nextMsn = 0;
  nextPartId = 0;
  ended = false;
  readonly history: HistoryEntry[] = [];
  readonly listeners = new Set<PackagerListener>();
  constructor(readonly window = 3) {}
  subscribe(l: PackagerListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  close(duration = 1): void {
    const s: SegmentEntry = { msn: this.nextMsn++, duration, parts: [], initId: 0, discontinuitySeq: 0, programDateTime: 1_700_000_000_000 + this.nextMsn * 1000, complete: true };
    this.segments.push(s);
    if (this.segments.length > this.window) this.segments.shift();
    this.#emit({ type: 'segment', segment: s, bytes: new Uint8Array() });
  }
  end(): void {
    this.ended = true;
    this.#emit({ type: 'end' });
  }
  #emit(e: PackagerEvent): void {
    for (const l of [...this.listeners]) l(e);
  }
}

const journalWith = (entries: HistoryEntry[]): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dvr-'));
  const file = path.join(dir, 'r0.jsonl');
  fs.writeFileSync(file, entries.map((e) => JSON.stringify(e)).join('\n') + '\n{"msn": 9, "dur');
  return file;
};

describe('DvrWindow', () => {
  it('lists closed segments back to the DVR window before the in-memory window, never older', () => {
    const src = new FakeSource(3);
    // Two segments closed before the first request: in the journal (its torn last line skipped).
    src.close();
    src.close();
    const journal = journalWith(src.segments.map(({ msn, duration, initId, discontinuitySeq, programDateTime }) => ({ msn, duration, initId, discontinuitySeq, programDateTime })));
    const view = dvrView(src, { dvrSeconds: 5, journal });
    expect(view.segments.map((s) => s.msn)).toEqual([0, 1]);
    for (let i = 0; i < 8; i++) src.close();
    // 10 closed, 3 in memory (7..9); 5 s back: 5..9.
    expect(view.segments.map((s) => s.msn)).toEqual([5, 6, 7, 8, 9]);
    expect(view.segments[2]).toBe(src.segments[0]);
    const text = writeMediaPlaylist(view);
    expect(text).toContain('#EXT-X-MEDIA-SEQUENCE:5');
    expect(text).toContain('r0_s5.m4s');
    expect(text).not.toContain('r0_s4.m4s');
    // The same view for every request of this rendition.
    expect(dvrView(src, { dvrSeconds: 5, journal })).toBe(view);
    // At the end it stops following the packager.
    expect(src.listeners.size).toBe(1);
    src.end();
    expect(src.listeners.size).toBe(0);
  });

  it('longer segments: fewer fit; 0 is off (the packager itself)', () => {
    const src = new FakeSource(2);
    const view = dvrView(src, { dvrSeconds: 5, journal: '/nonexistent/r0.jsonl' });
    for (let i = 0; i < 6; i++) src.close(2);
    expect(view.segments.map((s) => s.msn)).toEqual([4, 5]);
    const off = new FakeSource(2);
    expect(dvrView(off, { dvrSeconds: 0, journal: '/nonexistent/r0.jsonl' })).toBe(off);
  });
});
