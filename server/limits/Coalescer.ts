/**
 * Passes on at most one value per key every `intervalMs`: the first at once, then the latest of those that
 * came during the interval, at its end. For updates that each replace the one before (a stream's viewer
 * count) and go to many clients: a join storm of N viewers would otherwise send each of them N updates.
 */
export class Coalescer<T> {
  readonly #pending = new Map<string, { timer: NodeJS.Timeout; latest?: { value: T } }>();
  readonly #intervalMs: number;
  readonly #send: (key: string, value: T) => void;

  constructor(intervalMs: number, send: (key: string, value: T) => void) {
    this.#intervalMs = intervalMs;
    this.#send = send;
  }

  push(key: string, value: T): void {
    const pending = this.#pending.get(key);
    if (pending) {
      pending.latest = { value };
      return;
    }
    this.#send(key, value);
    this.#wait(key);
  }

  /** Drops what is pending (on shutdown). */
  close(): void {
    for (const { timer } of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
  }

  #wait(key: string): void {
    const timer = setTimeout(() => {
      const latest = this.#pending.get(key)?.latest;
      this.#pending.delete(key);
      if (latest) {
        this.#send(key, latest.value);
        this.#wait(key);
      }
    }, this.#intervalMs);
    timer.unref();
    this.#pending.set(key, { timer });
  }
}
