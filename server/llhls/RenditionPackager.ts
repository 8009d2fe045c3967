/**
 * RenditionPackager: one rendition's LL-HLS state, made from the CmafReader's init segments and fragments.
 *
 *   const p = new RenditionPackager({ name: 'r0', segmentSeconds: 1, partSeconds: 0.2 });
 *   p.push(event)            // each CmafEvent of each ffmpeg run, in order
 *   p.end()                  // the broadcast ended: closes the open segment; the playlist gets EXT-X-ENDLIST
 *   p.subscribe(listener)    // 'init' | 'part' | 'segment' | 'end', returns its unsubscribe
 *   p.getPart(id) / p.getSegment(msn) / p.getInit(id)   // bytes to serve, while they are in the window
 *
 * Rules:
 * - Each fragment becomes one part (ffmpeg cuts them at `-frag_duration`, ~200 ms, and at every keyframe).
 * - A segment starts on a keyframe: the open segment closes when a fragment that starts with a keyframe
 *   arrives and the segment holds at least 90 % of `segmentSeconds` (the 10 % absorbs timestamp jitter, so
 *   a 1 s GOP does not make 2 s segments when a GOP measures 0.999 s), or earlier when its last part is short
 *   (see #segmentFull). Fragments before the first keyframe of
 *   a run cannot be decoded and are dropped (counted in `droppedFragments`).
 * - A new init segment (ffmpeg restarted) closes the open segment; the next segment gets the next
 *   discontinuity sequence number and the new init (a new EXT-X-MAP). Media sequence numbers and part
 *   numbers continue.
 * - The window keeps the last `windowSegments` (≥ 7, as MediaMTX) complete segments with their bytes.
 *   With `keepHistory`, every segment's entry (without bytes: persist them from the 'segment' event) stays
 *   for the VOD playlist.
 * - Target duration and part target only grow: they start at ceil(segmentSeconds) and partSeconds and rise
 *   to cover a longer segment or part (ffmpeg's first fragment is often a frame longer), so every EXTINF
 *   rounds to ≤ TARGETDURATION and every part is ≤ PART-TARGET, as RFC 8216bis requires.
 * - Program date time: the wall clock (`now`, injectable) when a run's first kept fragment arrived, plus the
 *   media time since then.
 *
 * Lifetime: one packager per rendition per live session; it holds no timers and no I/O. Listeners run
 * synchronously; one that throws is reported to `onListenerError` and never breaks the packaging.
 */
import { z } from 'zod';
import { CmafError, type CmafEvent, type Fragment, type InitSection } from './cmafTypes.js';
import { concat } from './CmafReader.js';
import { isRenditionName } from './uris.js';

export interface PartEntry {
  /** Session-wide part number (the part's URI). */
  id: number;
  /** Media sequence number of the segment it belongs to. */
  msn: number;
  /** Index within its segment (what `_HLS_part` counts). */
  index: number;
  /** Seconds. */
  duration: number;
  /** Starts with a keyframe (INDEPENDENT=YES). */
  independent: boolean;
  bytes: Uint8Array;
}

export interface SegmentEntry {
  msn: number;
  /** Seconds (the sum of its parts). */
  duration: number;
  parts: PartEntry[];
  initId: number;
  /** Discontinuity sequence number: one more after each ffmpeg restart. */
  discontinuitySeq: number;
  /** Wall-clock ms of the first frame. */
  programDateTime: number;
  /** Closed: no more parts will come. */
  complete: boolean;
}

/** A segment as kept for VOD: no bytes. */
export type HistoryEntry = Pick<SegmentEntry, 'msn' | 'duration' | 'initId' | 'discontinuitySeq' | 'programDateTime'>;

export type PackagerEvent =
  | { type: 'init'; initId: number; init: InitSection }
  | { type: 'part'; part: PartEntry }
  | { type: 'segment'; segment: SegmentEntry; bytes: Uint8Array }
  | { type: 'end' };

export type PackagerListener = (event: PackagerEvent) => void;

export const packagerOptionsSchema = z.object({
  /** Rendition name, used in every URI ('r0'). */
  name: z.string().refine(isRenditionName, 'a rendition name is lower-case letters and digits, starting with a letter'),
  segmentSeconds: z.number().min(0.2).max(10).default(1),
  partSeconds: z.number().min(0.05).max(2).default(0.2),
  windowSegments: z.number().int().min(7).max(1000).default(7),
  keepHistory: z.boolean().default(false),
});
export type PackagerOptions = z.input<typeof packagerOptionsSchema> & {
  now?: () => number;
  onListenerError?: (error: unknown) => void;
};

/** What the playlist writer and the blocking waiter read (a narrow view of the packager). */
export interface PlaylistSource {
  readonly name: string;
  readonly targetDuration: number;
  readonly partTarget: number;
  /** Complete segments in the window, oldest first. */
  readonly segments: readonly SegmentEntry[];
  /** The open segment (possibly with no parts yet), or undefined before the first fragment and after end(). */
  readonly building: SegmentEntry | undefined;
  /** Msn the next part will belong to if it does not open a new segment: building's msn, else the next. */
  readonly nextMsn: number;
  readonly nextPartId: number;
  readonly ended: boolean;
  readonly history: readonly HistoryEntry[];
  subscribe(listener: PackagerListener): () => void;
}

export class RenditionPackager implements PlaylistSource {
  readonly name: string;
  readonly #segmentSeconds: number;
  readonly #windowSegments: number;
  readonly #keepHistory: boolean;
  readonly #now: () => number;
  readonly #onListenerError: (error: unknown) => void;
  readonly #listeners = new Set<PackagerListener>();

  readonly #inits = new Map<number, InitSection>();
  #initId = -1;
  #discontinuitySeq = 0;
  /** Set by a new init once media has been packaged: the next segment opens a new discontinuity. */
  #discontinuityPending = false;
  #awaitKeyframe = true;
  #anchor: { wallMs: number; decodeTime: number; timescale: number } | undefined;

  #segments: SegmentEntry[] = [];
  #building: SegmentEntry | undefined;
  #buildingTicks = 0;
  #nextMsn = 0;
  #nextPartId = 0;
  readonly #parts = new Map<number, PartEntry>();
  readonly #history: HistoryEntry[] = [];
  #targetDuration: number;
  #partTarget: number;
  #ended = false;
  #dropped = 0;

  constructor(options: PackagerOptions) {
    const o = packagerOptionsSchema.parse(options);
    this.name = o.name;
    this.#segmentSeconds = o.segmentSeconds;
    this.#windowSegments = o.windowSegments;
    this.#keepHistory = o.keepHistory;
    this.#targetDuration = Math.ceil(o.segmentSeconds);
    this.#partTarget = o.partSeconds;
    this.#now = options.now ?? Date.now;
    this.#onListenerError = options.onListenerError ?? (() => {});
  }

  get targetDuration(): number {
    return this.#targetDuration;
  }
  get partTarget(): number {
    return this.#partTarget;
  }
  get segments(): readonly SegmentEntry[] {
    return this.#segments;
  }
  get building(): SegmentEntry | undefined {
    return this.#building;
  }
  get nextMsn(): number {
    return this.#building?.msn ?? this.#nextMsn;
  }
  get nextPartId(): number {
    return this.#nextPartId;
  }
  get ended(): boolean {
    return this.#ended;
  }
  get history(): readonly HistoryEntry[] {
    return this.#history;
  }
  /** Fragments dropped: before a run's first keyframe, or without a sample of the primary track. */
  get droppedFragments(): number {
    return this.#dropped;
  }
  get currentInitId(): number | undefined {
    return this.#initId >= 0 ? this.#initId : undefined;
  }

  /** Listeners subscribed now (waiting requests among them): tests count them to prove nothing leaks. */
  get listenerCount(): number {
    return this.#listeners.size;
  }

  subscribe(listener: PackagerListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  getInit(id: number): InitSection | undefined {
    return this.#inits.get(id);
  }
  getPart(id: number): PartEntry | undefined {
    return this.#parts.get(id);
  }
  /** A complete segment's bytes (its parts, concatenated), while it is in the window. */
  getSegment(msn: number): Uint8Array | undefined {
    const s = this.#segments.find((x) => x.msn === msn);
    return s ? concat(s.parts.map((p) => p.bytes)) : undefined;
  }

  push(event: CmafEvent): void {
    if (event.type === 'init') this.pushInit(event.init);
    else this.pushFragment(event.fragment);
  }

  pushInit(init: InitSection): void {
    this.#assertOpen();
    this.#closeBuilding();
    const mediaSoFar = this.#nextMsn > 0 || this.#nextPartId > 0;
    if (mediaSoFar) this.#discontinuityPending = true;
    this.#initId += 1;
    this.#inits.set(this.#initId, init);
    this.#awaitKeyframe = true;
    this.#anchor = undefined;
    this.#dropUnusedInits();
    this.#emit({ type: 'init', initId: this.#initId, init });
  }

  pushFragment(fragment: Fragment): void {
    this.#assertOpen();
    if (this.#initId < 0) throw new CmafError('a fragment before any init segment');
    const { primary, timescale } = fragment;
    // A fragment without samples of the primary track (audio only, or empty) would be a 0 s part.
    if (primary.sampleCount === 0 || primary.duration <= 0) {
      this.#dropped += 1;
      return;
    }
    if (this.#awaitKeyframe) {
      if (!primary.startsWithKeyframe) {
        this.#dropped += 1;
        return;
      }
      this.#awaitKeyframe = false;
    }
    this.#anchor ??= { wallMs: this.#now(), decodeTime: primary.decodeTime, timescale };
    if (this.#building && primary.startsWithKeyframe && this.#segmentFull(timescale)) this.#closeBuilding();
    if (!this.#building) {
      if (this.#discontinuityPending) {
        this.#discontinuitySeq += 1;
        this.#discontinuityPending = false;
      }
      const a = this.#anchor;
      this.#building = {
        msn: this.#nextMsn,
        duration: 0,
        parts: [],
        initId: this.#initId,
        discontinuitySeq: this.#discontinuitySeq,
        programDateTime: a.wallMs + ((primary.decodeTime - a.decodeTime) * 1000) / a.timescale,
        complete: false,
      };
      this.#buildingTicks = 0;
    }
    const duration = primary.duration / timescale;
    const part: PartEntry = {
      id: this.#nextPartId++,
      msn: this.#building.msn,
      index: this.#building.parts.length,
      duration,
      independent: primary.startsWithKeyframe,
      bytes: fragment.bytes,
    };
    this.#building.parts.push(part);
    this.#buildingTicks += primary.duration;
    this.#building.duration = this.#buildingTicks / timescale;
    this.#parts.set(part.id, part);
    this.#partTarget = Math.max(this.#partTarget, ceilMs(duration));
    this.#emit({ type: 'part', part });
  }

  /** The broadcast ended: closes the open segment. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#closeBuilding();
    this.#ended = true;
    this.#emit({ type: 'end' });
  }

  #closeBuilding(): void {
    const s = this.#building;
    this.#building = undefined;
    if (!s || s.parts.length === 0) return;
    s.complete = true;
    this.#nextMsn = s.msn + 1;
    this.#segments.push(s);
    this.#targetDuration = Math.max(this.#targetDuration, Math.round(s.duration));
    if (this.#keepHistory) {
      const { msn, duration, initId, discontinuitySeq, programDateTime } = s;
      this.#history.push({ msn, duration, initId, discontinuitySeq, programDateTime });
    }
    while (this.#segments.length > this.#windowSegments) {
      const old = this.#segments.shift()!;
      for (const p of old.parts) this.#parts.delete(p.id);
    }
    this.#dropUnusedInits();
    this.#emit({ type: 'segment', segment: s, bytes: concat(s.parts.map((p) => p.bytes)) });
  }

  /**
   * Whether a keyframe may open the next segment: the open one holds ≥ 90 % of the target, or its last part
   * is shorter than 85 % of the part target (a fragment ffmpeg cut short at the keyframe): RFC 8216bis
   * allows such a part only last in its segment (or independent), so the segment ends there, short.
   */
  #segmentFull(timescale: number): boolean {
    if (this.#buildingTicks >= 0.9 * this.#segmentSeconds * timescale) return true;
    const last = this.#building?.parts.at(-1);
    return last !== undefined && !last.independent && last.duration < 0.85 * this.#partTarget;
  }

  /** Init segments no segment in the window uses any more (the current one always stays). */
  #dropUnusedInits(): void {
    for (const id of this.#inits.keys()) {
      if (id === this.#initId) continue;
      if (this.#segments.some((s) => s.initId === id) || this.#building?.initId === id) continue;
      if (this.#keepHistory) continue;
      this.#inits.delete(id);
    }
  }

  #assertOpen(): void {
    if (this.#ended) throw new CmafError('the rendition has ended');
  }

  #emit(event: PackagerEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }
}

/** Rounds up to the millisecond (with a hair of tolerance for binary fractions such as 0.2). */
export const ceilMs = (seconds: number): number => Math.ceil(seconds * 1000 - 1e-6) / 1000;
