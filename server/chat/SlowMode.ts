/**
 * Slow mode: each author may send one message per `seconds`. Pure, in memory, keyed by the author's identity
 * key (account, else chat session). Only the last send time of each author is kept, and authors whose wait is
 * over are forgotten as new ones arrive, so the map holds at most the authors of the last `seconds`.
 */
export type SlowDecision = { ok: true } | { ok: false; waitSeconds: number };

export class SlowMode {
  #seconds: number;
  readonly #last = new Map<string, number>();

  constructor(seconds = 0) {
    this.#seconds = seconds;
  }

  get seconds(): number {
    return this.#seconds;
  }

  set seconds(s: number) {
    this.#seconds = s;
    if (s === 0) this.#last.clear();
  }

  /** Whether `author` may send now; if so, counts this message. */
  take(author: string, now = Date.now()): SlowDecision {
    if (this.#seconds <= 0) return { ok: true };
    const windowMs = this.#seconds * 1000;
    const last = this.#last.get(author);
    if (last !== undefined && now - last < windowMs) return { ok: false, waitSeconds: Math.ceil((windowMs - (now - last)) / 1000) };
    this.#last.delete(author);
    this.#last.set(author, now);
    // The map is in send order: drop authors whose window has passed (oldest first).
    for (const [key, at] of this.#last) {
      if (now - at < windowMs) break;
      this.#last.delete(key);
    }
    return { ok: true };
  }

  get size(): number {
    return this.#last.size;
  }
}
