/**
 * Slows down password guessing: after `freeAttempts` failed logins for a key (a username, an address), each
 * further attempt must wait, doubling from 1 s up to 5 min. A success clears the key's record. Callers
 * count an attempt as failed before checking the password (and `succeed`/`forgive` after), so parallel
 * guesses are throttled as well as sequential ones.
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

  /** Milliseconds the caller must still wait before trying this key again (0 = go ahead). */
  retryAfterMs(key: string, now = Date.now()): number {
    const f = this.#failures.get(key);
    return f ? Math.max(0, f.until - now) : 0;
  }

  fail(key: string, now = Date.now()): void {
    const count = (this.#failures.get(key)?.count ?? 0) + 1;
    const over = count - this.#freeAttempts;
    const delay = over > 0 ? Math.min(this.#maxMs, this.#baseMs * 2 ** (over - 1)) : 0;
    this.#failures.set(key, { count, until: now + delay });
    this.#prune(now);
  }

  succeed(key: string): void {
    this.#failures.delete(key);
  }

  /** Takes back one failure counted in advance, for an attempt that succeeded (its wait, if any, stays). */
  forgive(key: string): void {
    const f = this.#failures.get(key);
    if (!f) return;
    if (f.count <= 1) this.#failures.delete(key);
    else this.#failures.set(key, { count: f.count - 1, until: f.until });
  }

  #prune(now: number): void {
    if (this.#failures.size < 10_000) return;
    for (const [k, f] of this.#failures) if (f.until + this.#maxMs < now) this.#failures.delete(k);
  }
}
