/**
 * Slows down password guessing: after each failed login for a username (or from an address), the next
 * attempt must wait, doubling from 1 s up to 5 min. A success clears the username's record.
 */
export class LoginThrottle {
  readonly #failures = new Map<string, { count: number; until: number }>();
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #freeAttempts: number;

  constructor(opts: { baseMs?: number; maxMs?: number; freeAttempts?: number } = {}) {
    this.#baseMs = opts.baseMs ?? 1000;
    this.#maxMs = opts.maxMs ?? 5 * 60_000;
    this.#freeAttempts = opts.freeAttempts ?? 3;
  }

  /** Milliseconds the caller must still wait before trying these keys again (0 = go ahead). */
  retryAfterMs(keys: string[], now = Date.now()): number {
    let wait = 0;
    for (const k of keys) {
      const f = this.#failures.get(k);
      if (f) wait = Math.max(wait, f.until - now);
    }
    return Math.max(0, wait);
  }

  fail(keys: string[], now = Date.now()): void {
    for (const k of keys) {
      const count = (this.#failures.get(k)?.count ?? 0) + 1;
      const over = count - this.#freeAttempts;
      const delay = over > 0 ? Math.min(this.#maxMs, this.#baseMs * 2 ** (over - 1)) : 0;
      this.#failures.set(k, { count, until: now + delay });
    }
    this.#prune(now);
  }

  succeed(key: string): void {
    this.#failures.delete(key);
  }

  #prune(now: number): void {
    if (this.#failures.size < 10_000) return;
    for (const [k, f] of this.#failures) if (f.until + this.#maxMs < now) this.#failures.delete(k);
  }
}
