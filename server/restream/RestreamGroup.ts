/**
 * The restream outputs of one live broadcast: the BroadcastOutput named "restream" that Broadcasts gets from
 * RestreamService's factory (one output per factory), fanning out to one RestreamOutput ("restream:<id>")
 * per enabled destination. It forwards every media change to each, adds one when the owner adds a
 * destination while live (fed the newest media at once), closes one when it is removed, and at the end
 * closes them all in parallel (awaited by the broadcast before its router closes).
 *
 * A destination's failure stays its own: a throwing `update` is logged and the others still get theirs.
 */
import type { RestreamState } from '../../shared/restream.js';
import type { BroadcastMedia, BroadcastOutput } from '../live/BroadcastOutput.js';
import type { Logger } from '../log/logger.js';
import type { RestreamOutput } from './RestreamOutput.js';

export class RestreamGroup implements BroadcastOutput {
  readonly name = 'restream';
  readonly streamId: string;
  readonly #outputs = new Map<string, RestreamOutput>();
  readonly #log: Logger;
  #media: BroadcastMedia | undefined;
  #closing: Promise<void> | undefined;
  /** Resolves once `close()` has finished. */
  readonly done: Promise<void>;
  #resolveDone!: () => void;

  constructor(streamId: string, logger: Logger) {
    this.streamId = streamId;
    this.#log = logger;
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  update(media: BroadcastMedia): void {
    if (this.closed) return;
    this.#media = media;
    for (const o of this.#outputs.values()) this.#push(o, media);
  }

  /** Takes a destination's output (closed at once when the group has closed). */
  add(output: RestreamOutput): void {
    if (this.closed || this.#outputs.has(output.destinationId)) {
      void output.close('the broadcast has ended');
      return;
    }
    this.#outputs.set(output.destinationId, output);
    if (this.#media) this.#push(output, this.#media);
  }

  /** Closes and forgets a destination's output (removed or disabled while live). */
  async remove(destinationId: string, reason: string): Promise<void> {
    const o = this.#outputs.get(destinationId);
    if (!o) return;
    this.#outputs.delete(destinationId);
    await o.close(reason);
  }

  status(destinationId: string): RestreamState | undefined {
    return this.#outputs.get(destinationId)?.status;
  }

  pids(): number[] {
    return [...this.#outputs.values()].flatMap((o) => (o.pid ? [o.pid] : []));
  }

  close(reason: string): Promise<void> {
    this.#closing ??= (async () => {
      const outputs = [...this.#outputs.values()];
      this.#outputs.clear();
      await Promise.all(outputs.map((o) => o.close(reason)));
      this.#resolveDone();
    })();
    return this.#closing;
  }

  #push(o: RestreamOutput, media: BroadcastMedia): void {
    try {
      o.update(media);
    } catch (err) {
      this.#log.error({ err, output: o.name }, 'a restream failed to take a media change');
    }
  }
}
