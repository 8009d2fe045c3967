/**
 * The LL-HLS side of one live session: one RenditionPackager per rung, fed by the fMP4 pipes of each ffmpeg
 * run (one CmafReader per pipe per run), and the files that make the session a recording.
 *
 * Lifetime: made by the HLS bridge with the session's first epoch, for the session's ladder (fixed then: the
 * playlists' renditions do not change mid-session); `attach()` once per ffmpeg run; `end()` once the last
 * ffmpeg is gone (its last fragments were read: FfmpegProcess resolves `exited` after its pipes closed). The
 * packagers stay readable after `end()` (ended playlists) until the bridge is dropped.
 *
 * Files, in the session folder (URIs of server/llhls/uris.ts, so live and recorded URLs are the same):
 *   r<i>_i<n>.mp4   init segment of run n          r<i>_s<msn>.m4s   full segment (its parts, concatenated)
 *   r<i>.jsonl      one line per segment (msn, duration, init, discontinuity, date): the VOD playlist's source
 * Written synchronously from the packager's events (a segment is ~100–600 kB once a second per rung: a page
 * cache write) so that a file exists before any playlist listing it is answered: the writer is the
 * packager's first listener, and blocking requests are answered from a later microtask.
 * Parts live in memory only (the packager's window).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { CmafReader } from '../llhls/CmafReader.js';
import { RenditionPackager, type HistoryEntry } from '../llhls/RenditionPackager.js';
import { variantOf, type Variant } from '../llhls/playlistWriter.js';
import { initUri, segmentUri } from '../llhls/uris.js';
import type { Rung } from './ladder.js';

export const renditionName = (i: number): string => `r${i}`;
export const journalFile = (i: number): string => `r${i}.jsonl`;

export interface LiveLadderOptions {
  dir: string;
  rungs: Rung[];
  segmentSeconds: number;
  partSeconds: number;
  windowSegments: number;
  fps: number;
  logger: Logger;
  /** Every rendition has an init segment of the current run: the variants (for the master playlist). */
  onVariants: (variants: Variant[]) => void;
}

export class LiveLadder {
  readonly packagers: RenditionPackager[];
  readonly #o: LiveLadderOptions;
  readonly #last: Array<{ init: string; segment: string } | undefined>;
  #ended = false;

  constructor(o: LiveLadderOptions) {
    this.#o = o;
    this.#last = o.rungs.map(() => undefined);
    this.packagers = o.rungs.map((_, i) => {
      const p = new RenditionPackager({
        name: renditionName(i),
        segmentSeconds: o.segmentSeconds,
        partSeconds: o.partSeconds,
        windowSegments: Math.max(7, o.windowSegments),
        onListenerError: (err) => o.logger.error({ err, rendition: i }, 'LL-HLS listener failed'),
      });
      p.subscribe((e) => {
        if (e.type === 'init') {
          fs.writeFileSync(path.join(o.dir, initUri(p.name, e.initId)), e.init.bytes);
          this.#announceVariants();
        } else if (e.type === 'segment') {
          const s = e.segment;
          const file = path.join(o.dir, segmentUri(p.name, s.msn));
          fs.writeFileSync(file, e.bytes);
          const entry: HistoryEntry = { msn: s.msn, duration: s.duration, initId: s.initId, discontinuitySeq: s.discontinuitySeq, programDateTime: s.programDateTime };
          fs.appendFileSync(path.join(o.dir, journalFile(i)), `${JSON.stringify(entry)}\n`);
          this.#last[i] = { init: path.join(o.dir, initUri(p.name, s.initId)), segment: file };
        }
      });
      return p;
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Feeds one ffmpeg run's pipes (rung i on outputs[i]) into the packagers. A pipe that is not the fMP4 we
   * asked for calls `onError` once (the bridge then kills that run) and is read to its end without effect.
   */
  attach(outputs: readonly Readable[], onError: (err: unknown) => void): void {
    outputs.forEach((stream, i) => {
      const reader = new CmafReader();
      const packager = this.packagers[i]!;
      let failed = false;
      stream.on('data', (chunk: Buffer) => {
        if (failed || this.#ended) return;
        try {
          for (const event of reader.push(chunk)) packager.push(event);
        } catch (err) {
          failed = true;
          onError(err);
        }
      });
      stream.on('error', (err) => this.#o.logger.debug({ err, rendition: i }, 'fMP4 pipe error'));
    });
  }

  /** The broadcast ended: every packager closes its open segment (written) and its playlist ends. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const p of this.packagers) p.end();
  }

  /**
   * Whether the master playlist can be served: every rendition has an init segment (the master's CODECS and
   * RESOLUTION) and the first rendition its first part. A player starts on a part; a rendition playlist asked
   * before that rendition's first part waits for it (server/llhls/playlistResponse.ts), so waiting here for a
   * full segment of every rendition would only add a segment's duration to "Go live" → playing.
   */
  get playable(): boolean {
    const first = this.packagers[0];
    return !!first && this.variants() !== undefined && (first.segments.length > 0 || (first.building?.parts.length ?? 0) > 0);
  }

  /** The newest full segment of rendition i with its init segment (for thumbnails). */
  lastSegment(i: number): { init: string; segment: string } | undefined {
    return this.#last[i];
  }

  /** The variants from the current inits, when every rendition has one. */
  variants(): Variant[] | undefined {
    const inits = this.packagers.map((p) => (p.currentInitId === undefined ? undefined : p.getInit(p.currentInitId)));
    if (inits.some((x) => !x)) return undefined;
    return inits.map((init, i) => variantOf(renditionName(i), init!, { videoKbps: this.#o.rungs[i]!.videoKbps, audioKbps: 128, frameRate: this.#o.fps }));
  }

  #announceVariants(): void {
    const v = this.variants();
    if (v) this.#o.onVariants(v);
  }
}
