/**
 * Restreams for every broadcast. `output(streamId)` is the broadcast output factory (Broadcasts calls it once
 * per new broadcast): it makes the broadcast's RestreamGroup with one RestreamOutput per enabled destination,
 * which the broadcast then feeds and closes. Destinations added or removed through the API while the stream
 * is live are started or stopped at once (`added`, `removed`). The service keeps the open groups only to do
 * that, to report states and for shutdown; it never reaches into the broadcasts.
 *
 * Every state change of a destination is emitted as `state` (the app pushes it to the owner's sockets as
 * `restream:state`; webhooks may listen for `failed`).
 *
 * Lifetime: one per server; `close()` closes the groups still open (normally their broadcasts closed them).
 */
import { EventEmitter } from 'node:events';
import type { RestreamState, RestreamStateEvent } from '../../shared/restream.js';
import type { PortPool } from '../hls/PortPool.js';
import type { BroadcastOutput } from '../live/BroadcastOutput.js';
import type { Logger } from '../log/logger.js';
import type { DestinationRecord, DestinationStore } from '../store/sql/DestinationStore.js';
import type { KeySealer } from './KeySealer.js';
import { RestreamGroup } from './RestreamGroup.js';
import { RestreamOutput, type RestreamSettings } from './RestreamOutput.js';
import { redactedTarget } from './restreamArgs.js';

export interface RestreamServiceEvents {
  state: [RestreamStateEvent];
}

export class RestreamService extends EventEmitter<RestreamServiceEvents> {
  readonly #groups = new Map<string, RestreamGroup>();
  readonly #destinations: DestinationStore;
  readonly #sealer: KeySealer;
  readonly #ports: PortPool;
  readonly #settings: RestreamSettings;
  readonly #log: Logger;
  #closed = false;

  constructor(opts: { destinations: DestinationStore; sealer: KeySealer; ports: PortPool; settings: RestreamSettings; logger: Logger }) {
    super();
    this.#destinations = opts.destinations;
    this.#sealer = opts.sealer;
    this.#ports = opts.ports;
    this.#settings = opts.settings;
    this.#log = opts.logger.child({ component: 'restream' });
  }

  /** The restream output of a new broadcast (undefined when the server is closing). */
  output(streamId: string): BroadcastOutput | undefined {
    if (this.#closed) return undefined;
    const group = new RestreamGroup(streamId, this.#log.child({ streamId }));
    this.#groups.set(streamId, group);
    void group.done.then(() => {
      if (this.#groups.get(streamId) === group) this.#groups.delete(streamId);
    });
    // The destinations are read after the group is handed out (the factory is synchronous): a broadcast that
    // ended meanwhile closed the group, which then refuses (and closes) what it is given.
    this.#destinations
      .listByStream(streamId)
      .then((list) => {
        for (const d of list) if (d.enabled && !group.closed) group.add(this.#outputFor(d));
      })
      .catch((err: unknown) => this.#log.error({ err, streamId }, 'could not start the restreams of a new broadcast'));
    return group;
  }

  /** A destination was added (or enabled): start it now if its stream is live. */
  added(d: DestinationRecord): void {
    const group = this.#groups.get(d.streamId);
    if (group && !group.closed && d.enabled) group.add(this.#outputFor(d));
  }

  /** A destination was removed (or disabled): stop it now if it runs. */
  async removed(streamId: string, destinationId: string): Promise<void> {
    await this.#groups.get(streamId)?.remove(destinationId, 'the destination was removed');
  }

  /** The destination's state: its output's while its stream is live, else idle (or disabled). */
  status(d: DestinationRecord): RestreamState {
    return this.#groups.get(d.streamId)?.status(d.id) ?? { state: d.enabled ? 'idle' : 'disabled', failures: 0, since: d.createdAt };
  }

  /** ffmpeg pids running now (tests, metrics). */
  pids(): number[] {
    return [...this.#groups.values()].flatMap((g) => g.pids());
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#groups.values()].map((g) => g.close('the server is shutting down')));
  }

  #outputFor(d: DestinationRecord): RestreamOutput {
    let target: { url: string; key: string } | Error;
    try {
      target = { url: d.url, key: this.#sealer.open(d.keySealed, d.id) };
    } catch (err) {
      target = err instanceof Error ? err : new Error(String(err));
    }
    const output = new RestreamOutput({
      destinationId: d.id,
      target,
      settings: this.#settings,
      ports: this.#ports,
      logger: this.#log.child({ streamId: d.streamId, destinationId: d.id, target: redactedTarget(d.url) }),
    });
    const emit = (status: RestreamState) => this.emit('state', { streamId: d.streamId, destinationId: d.id, status });
    output.on('state', emit);
    if (output.status.state === 'failed') queueMicrotask(() => emit(output.status));
    return output;
  }
}
