/**
 * Runs async tasks one at a time per key (tasks of different keys run side by side): a check-then-write
 * against the async catalogue ("fewer than 10 hooks? insert one") must not interleave with another of the
 * same key, or two at once both pass the check.
 *
 * Lifetime: a key's entry lives while it has a task queued or running, and is dropped after its last one,
 * so the map holds only keys in use. A task's failure goes to its own caller, never to the next task.
 *
 * Scope: one process. In cluster mode two nodes can still pass such a check at the same moment (at most one
 * extra row per node racing); the limits guarded this way are soft quotas, not invariants.
 */
export class KeyedSerial {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve();
    const result = before.then(task, task);
    const tail = result.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Keys with a task queued or running (tests, leak checks). */
  get size(): number {
    return this.#tails.size;
  }
}
