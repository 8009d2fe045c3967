/**
 * CmafReader: turns the bytes a fragmenting ffmpeg writes for one rendition (`-f mp4 -movflags
 * +frag_keyframe+empty_moov+default_base_moof`) into an init segment and fragments, chunk by chunk.
 *
 *   const reader = new CmafReader();
 *   for (const event of reader.push(chunk)) … // {type:'init', init} | {type:'fragment', fragment}
 *   reader.end();                            // throws if the stream stopped inside a box or fragment
 *
 * Grouping: `ftyp` opens an init segment and `moov` completes it (another `ftyp` later starts a new one, as
 * when two ffmpeg runs are concatenated); `styp`/`prft`/`emsg`/`sidx` before a `moof` travel with it; a `moof`
 * waits for its `mdat`; `mfra`, `free` and any other box are dropped. Lifetime: one reader per ffmpeg output.
 *
 * Guards: a `moof` before any init, or an `mdat` without a `moof`, is not the stream we asked ffmpeg for, and
 * throws CmafError rather than produce parts nobody can decode; so do corrupt boxes (boxContents.ts). After a
 * CmafError the reader's state is undefined: drop it with the ffmpeg run that fed it.
 */
import { BoxFramer } from './BoxFramer.js';
import { parseFragment, parseInit } from './boxContents.js';
import { CmafError, type CmafEvent, type InitSection } from './cmafTypes.js';

const PREFIX_BOXES = new Set(['styp', 'prft', 'emsg', 'sidx']);

export class CmafReader {
  readonly #framer = new BoxFramer();
  #init: InitSection | undefined;
  #ftyp: Uint8Array | undefined;
  #prefix: Uint8Array[] = [];
  #moof: Uint8Array | undefined;

  get init(): InitSection | undefined {
    return this.#init;
  }

  push(chunk: Uint8Array): CmafEvent[] {
    const events: CmafEvent[] = [];
    for (const box of this.#framer.push(chunk)) {
      switch (box.type) {
        case 'ftyp':
          this.#ftyp = box.bytes;
          break;
        case 'moov': {
          const bytes = this.#ftyp ? concat([this.#ftyp, box.bytes]) : box.bytes;
          this.#ftyp = undefined;
          this.#init = parseInit(bytes);
          this.#moof = undefined;
          this.#prefix = [];
          events.push({ type: 'init', init: this.#init });
          break;
        }
        case 'moof':
          if (!this.#init) throw new CmafError('moof before the init segment');
          this.#moof = box.bytes;
          break;
        case 'mdat': {
          if (!this.#moof || !this.#init) throw new CmafError('mdat without a moof');
          const tracks = parseFragment(this.#moof, this.#init);
          // A fragment may lack the primary track's traf: ffmpeg writes audio-only fragments while the video
          // has not started (or stalled). It is passed on with an empty primary entry, which the packager drops
          // (counted), rather than ending the run: measured at the start of an epoch whose audio came first.
          const primary = tracks.find((t) => t.trackId === this.#init!.primary.trackId) ?? {
            trackId: this.#init.primary.trackId, decodeTime: 0, duration: 0, sampleCount: 0, startsWithKeyframe: false,
          };
          events.push({
            type: 'fragment',
            fragment: { bytes: concat([...this.#prefix, this.#moof, box.bytes]), tracks, primary, timescale: this.#init.primary.timescale },
          });
          this.#moof = undefined;
          this.#prefix = [];
          break;
        }
        default:
          // Readers ignore boxes they do not know (ISO/IEC 14496-12 4.2), as they do mfra/free/skip/udta.
          if (PREFIX_BOXES.has(box.type)) this.#prefix.push(box.bytes);
      }
    }
    return events;
  }

  /** The stream ended: throws if it stopped inside a box or between a moof and its mdat. */
  end(): void {
    if (this.#framer.pending > 0) throw new CmafError(`stream ended inside a box (${this.#framer.pending} bytes left)`);
    if (this.#moof) throw new CmafError('stream ended between a moof and its mdat');
  }
}

export function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
