/**
 * The one rule for how many viewers a broadcast serves over WebRTC (ONAIR_MAX_WEBRTC_VIEWERS): every WebRTC
 * receiver holds a seat, socket viewers and WHEP viewers alike; viewers that watch over HLS hold none.
 *
 * A seat is taken *before* the awaits that make the receiver's media (so that concurrent requests cannot pass
 * the cap together) and given back exactly once: by the caller if making the media failed or its owner went
 * away meanwhile, else when the media closes. A holder (a socket peer, a WHEP session) holds at most one seat
 * however many times it takes one (a socket making a new receive transport after a reconnect); its seat is
 * free again when every take has been released.
 */
import { LiveError } from './LiveError.js';

export interface Seat {
  readonly holder: string;
  /** Gives the seat back; idempotent. */
  release(): void;
}

export class ViewerSeats {
  readonly max: number;
  /** Holder → how many of its takes are still held. */
  readonly #held = new Map<string, number>();

  constructor(max: number) {
    this.max = max;
  }

  /** Viewers holding a seat now. */
  get count(): number {
    return this.#held.size;
  }

  /** Seats held by holders whose id starts with `prefix` (WHEP sessions are `whep:<id>`): the admin console's split. */
  countHeldBy(prefix: string): number {
    let n = 0;
    for (const holder of this.#held.keys()) if (holder.startsWith(prefix)) n += 1;
    return n;
  }

  /** Whether `holder` could take a seat now. */
  hasRoom(holder?: string): boolean {
    return (holder !== undefined && this.#held.has(holder)) || this.#held.size < this.max;
  }

  /** Takes a seat for `holder`, or throws LiveError('viewers_full'). */
  take(holder: string): Seat {
    if (!this.hasRoom(holder)) throw new LiveError('viewers_full', `this stream has its maximum of ${this.max} WebRTC viewers: watch over HLS`);
    this.#held.set(holder, (this.#held.get(holder) ?? 0) + 1);
    let held = true;
    return {
      holder,
      release: () => {
        if (!held) return;
        held = false;
        const n = (this.#held.get(holder) ?? 1) - 1;
        if (n <= 0) this.#held.delete(holder);
        else this.#held.set(holder, n);
      },
    };
  }
}
