/**
 * BoxFramer: cuts a byte stream into complete top-level ISO BMFF boxes (size + fourcc + payload), whatever
 * the sizes of the chunks it is fed (a pipe hands out 64 KiB or less, and a box may span many chunks).
 *
 * Why a framer of our own: mp4box (used for the box contents, see boxContents.ts) parses a file as a whole,
 * keeps every appended buffer until its caller releases samples, and does not hand back the byte range of a
 * box; the packager needs each `moof` + `mdat` as exact bytes to serve as a part. Framing is 8 or 16 bytes of
 * header per box, so it is done here, and only complete `moov`/`moof` boxes go to mp4box.
 *
 * Lifetime: one framer per ffmpeg output stream; `push` returns the boxes completed by that chunk; `pending`
 * says how many bytes wait for the rest of their box (non-zero at the end means a truncated stream).
 *
 * Guards: a box larger than `maxBoxBytes` (64 MiB by default) is refused, since a corrupt size would
 * otherwise make the framer buffer without end; a size of 0 ("to the end of the file") cannot be framed in
 * a stream and is refused; a size smaller than its header is refused.
 */
import { CmafError } from './cmafTypes.js';

export interface Box {
  type: string;
  /** The whole box, header included. */
  bytes: Uint8Array;
}

export class BoxFramer {
  readonly #chunks: Uint8Array[] = [];
  #buffered = 0;
  readonly #maxBoxBytes: number;

  constructor(options: { maxBoxBytes?: number } = {}) {
    this.#maxBoxBytes = options.maxBoxBytes ?? 64 * 1024 * 1024;
  }

  /** Bytes received that do not yet make a complete box. */
  get pending(): number {
    return this.#buffered;
  }

  push(chunk: Uint8Array): Box[] {
    if (chunk.byteLength > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.byteLength;
    }
    const boxes: Box[] = [];
    for (;;) {
      const header = this.#peek(16);
      if (header.byteLength < 8) break;
      const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
      let size = view.getUint32(0);
      const type = String.fromCharCode(header[4]!, header[5]!, header[6]!, header[7]!);
      let headerBytes = 8;
      if (size === 1) {
        if (header.byteLength < 16) break;
        const large = view.getBigUint64(8);
        if (large > BigInt(this.#maxBoxBytes)) throw new CmafError(`box ${type} of ${large} bytes is too large`);
        size = Number(large);
        headerBytes = 16;
      } else if (size === 0) {
        throw new CmafError(`box ${type} runs to the end of the file, which a stream cannot frame`);
      }
      if (size < headerBytes) throw new CmafError(`box ${type} claims ${size} bytes, less than its header`);
      if (size > this.#maxBoxBytes) throw new CmafError(`box ${type} of ${size} bytes is too large`);
      if (this.#buffered < size) break;
      boxes.push({ type, bytes: this.#take(size) });
    }
    return boxes;
  }

  /** Up to `n` bytes from the front, without consuming them. */
  #peek(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (!first) return new Uint8Array(0);
    if (first.byteLength >= n || this.#chunks.length === 1) return first.subarray(0, Math.min(n, first.byteLength));
    return this.#gather(Math.min(n, this.#buffered), false);
  }

  #take(n: number): Uint8Array {
    return this.#gather(n, true);
  }

  /** Copies `n` bytes from the front (a view, without copying, when one chunk holds them). */
  #gather(n: number, consume: boolean): Uint8Array {
    const first = this.#chunks[0]!;
    if (first.byteLength >= n) {
      const out = first.subarray(0, n);
      if (consume) this.#drop(n);
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    for (const chunk of this.#chunks) {
      const want = Math.min(n - filled, chunk.byteLength);
      out.set(chunk.subarray(0, want), filled);
      filled += want;
      if (filled === n) break;
    }
    if (consume) this.#drop(n);
    return out;
  }

  #drop(n: number): void {
    this.#buffered -= n;
    while (n > 0) {
      const first = this.#chunks[0]!;
      if (first.byteLength <= n) {
        this.#chunks.shift();
        n -= first.byteLength;
      } else {
        this.#chunks[0] = first.subarray(n);
        n = 0;
      }
    }
  }
}
