/**
 * At most `max` places per key at a time (open sockets per client address): `acquire` takes one, `release`
 * gives it back. Only keys holding places are kept, so the map is as large as the keys in use, and empty
 * once everyone has left.
 */
export class KeyedConcurrencyLimit {
  readonly max: number;
  readonly #held = new Map<string, number>();

  constructor(max: number) {
    this.max = max;
  }

  /** Takes a place for `key`; false when it holds `max` already. */
  acquire(key: string): boolean {
    const held = this.#held.get(key) ?? 0;
    if (held >= this.max) return false;
    this.#held.set(key, held + 1);
    return true;
  }

  /** Gives back a place `acquire` gave (exactly once per place: the caller guards). */
  release(key: string): void {
    const held = this.#held.get(key) ?? 0;
    if (held <= 1) this.#held.delete(key);
    else this.#held.set(key, held - 1);
  }

  /** Places `key` holds now. */
  held(key: string): number {
    return this.#held.get(key) ?? 0;
  }

  /** Keys holding at least one place. */
  get size(): number {
    return this.#held.size;
  }
}
