/**
 * Rewind (DVR) for a live rendition: a PlaylistSource that lists, before the packager's in-memory window,
 * the older complete segments of the session back to `dvrSeconds` from the live edge (ONAIR_DVR_MINUTES).
 * Their bytes are on disk only (LiveLadder writes every segment and its journal line as it closes), and the
 * HLS routes serve `r<n>_s<msn>.m4s` from disk, so they cost no memory here: an entry is ~100 bytes.
 *
 *   const view = dvrView(packager, { dvrSeconds: 1800, journal: '<session>/r0.jsonl' });
 *   answerPlaylistRequest(view, …)   // the playlist writer and the blocking waiter read it like the packager
 *
 * Rules:
 * - Listed: the in-memory window (always, as before) and, before it, the newest closed segments that add up
 *   to at most `dvrSeconds` (counted from the live edge, the end of the newest closed segment): never older,
 *   so a player can seek back `dvrSeconds` at most (plus the open segment's few parts).
 * - The older segments are listed without parts (the writer lists parts only near the end anyway) and
 *   carry their init and discontinuity numbers: their EXT-X-MAP names the init of their ffmpeg run (on disk).
 * - `dvrSeconds` 0 is DVR off: the packager itself is returned.
 *
 * Lifetime: one window per packager, made on the first playlist request (WeakMap: it goes with its packager).
 * It reads the rendition's journal once (segments closed before anyone asked), then follows the packager's
 * 'segment' events; it unsubscribes at 'end' (the session's VOD playlist is read from disk from then on).
 */
import { readJournalFile } from './journal.js';
import type { HistoryEntry, PackagerListener, PlaylistSource, SegmentEntry } from './RenditionPackager.js';

export interface DvrOptions {
  /** How far back viewers may seek, in seconds; 0: off. */
  dvrSeconds: number;
  /** The rendition's journal (one HistoryEntry per line, written by LiveLadder). */
  journal: string;
}

const asSegment = (h: HistoryEntry): SegmentEntry => ({ ...h, parts: [], complete: true });

class DvrWindow implements PlaylistSource {
  readonly #source: PlaylistSource;
  readonly #dvrSeconds: number;
  /** Closed segments, oldest first, trimmed to the DVR window. */
  readonly #history: HistoryEntry[];
  #listed: readonly SegmentEntry[] | undefined;

  constructor(source: PlaylistSource, o: DvrOptions) {
    this.#source = source;
    this.#dvrSeconds = o.dvrSeconds;
    this.#history = readJournalFile(o.journal);
    this.#trim();
    if (source.ended) return;
    const unsubscribe = source.subscribe(((e) => {
      if (e.type === 'segment') {
        const { msn, duration, initId, discontinuitySeq, programDateTime } = e.segment;
        if (msn > (this.#history.at(-1)?.msn ?? -1)) this.#history.push({ msn, duration, initId, discontinuitySeq, programDateTime });
        this.#trim();
        this.#listed = undefined;
      } else if (e.type === 'end') {
        unsubscribe();
      }
    }) satisfies PackagerListener);
  }

  #trim(): void {
    let total = this.#history.reduce((t, h) => t + h.duration, 0);
    // 1 ms of slack: durations are sums of binary fractions.
    while (this.#history.length > 0 && total > this.#dvrSeconds + 0.001) total -= this.#history.shift()!.duration;
  }

  get segments(): readonly SegmentEntry[] {
    const window = this.#source.segments;
    if (this.#listed && this.#listed.at(-1) === window.at(-1) && this.#listed.length >= window.length) return this.#listed;
    const firstInMemory = window[0]?.msn ?? this.#source.nextMsn;
    const older = this.#history.filter((h) => h.msn < firstInMemory).map(asSegment);
    this.#listed = [...older, ...window];
    return this.#listed;
  }

  get name(): string {
    return this.#source.name;
  }
  get targetDuration(): number {
    return this.#source.targetDuration;
  }
  get partTarget(): number {
    return this.#source.partTarget;
  }
  get building(): SegmentEntry | undefined {
    return this.#source.building;
  }
  get nextMsn(): number {
    return this.#source.nextMsn;
  }
  get nextPartId(): number {
    return this.#source.nextPartId;
  }
  get ended(): boolean {
    return this.#source.ended;
  }
  get history(): readonly HistoryEntry[] {
    return this.#history;
  }
  subscribe(listener: PackagerListener): () => void {
    return this.#source.subscribe(listener);
  }
}

const windows = new WeakMap<PlaylistSource, DvrWindow>();

/** The packager seen with its DVR window (the same window for every request of this rendition). */
export function dvrView(source: PlaylistSource, o: DvrOptions): PlaylistSource {
  if (o.dvrSeconds <= 0) return source;
  let w = windows.get(source);
  if (!w) windows.set(source, (w = new DvrWindow(source, o)));
  return w;
}
