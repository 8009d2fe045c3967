/**
 * One signaling socket's media: the transports, producers and consumers it opened, and the publisher lease it
 * holds. It owns them: `close()` (on disconnect) closes all of them and releases the lease, and each drops out
 * of its map when mediasoup closes it (a router closing at the end of a broadcast closes its transports, which
 * close their producers and consumers).
 *
 * A closed peer refuses: whatever is handed to it after `close()` (a transport, consumer or producer whose
 * request was waiting on the worker when the socket went away; a lease granted meanwhile) is closed or
 * released at once, and the call throws LiveError('connection_closed'). Handlers also get `signal`, aborted at
 * `close()`, to stop before making anything more.
 */
import type { types } from 'mediasoup';
import type { PublisherLease } from '../live/Broadcast.js';
import { LiveError, ownerGone } from '../live/LiveError.js';

export type Direction = 'send' | 'recv';

export class Peer {
  readonly id: string;
  readonly transports = new Map<string, { transport: types.WebRtcTransport; direction: Direction }>();
  readonly consumers = new Map<string, types.Consumer>();
  readonly producers = new Map<string, types.Producer>();
  readonly #abort = new AbortController();
  #lease: PublisherLease | undefined;
  #watching: string | undefined;
  /** Changes whenever the socket joins or leaves an audience: a request of an earlier watch is stale. */
  #watchEpoch = 0;

  constructor(id: string) {
    this.id = id;
  }

  get closed(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Aborted when the socket goes away. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Throws LiveError('connection_closed') once the peer closed (check after every await). */
  assertOpen(what: string): void {
    if (this.closed) throw ownerGone(what);
  }

  /** The stream this socket watches (viewer), if any. */
  get watching(): string | undefined {
    return this.#watching;
  }

  /** Joins (`streamId`) or leaves (undefined) an audience. */
  watch(streamId: string | undefined): void {
    this.#watching = streamId;
    this.#watchEpoch++;
  }

  /**
   * A token for the current watch: a viewer request takes one before its awaits and, after them, hands what
   * it made over only if `stillWatching(token)` (else the viewer left or switched streams meanwhile).
   */
  get watchToken(): number {
    return this.#watchEpoch;
  }

  stillWatching(token: number): boolean {
    return !this.closed && token === this.#watchEpoch && this.#watching !== undefined;
  }

  /** The publisher lease this socket holds, while it still makes it the publisher. */
  get lease(): PublisherLease | undefined {
    return this.#lease?.held ? this.#lease : undefined;
  }

  /** The stream this socket broadcasts into, if it holds its lease. */
  get broadcasting(): string | undefined {
    return this.lease?.broadcast.streamId;
  }

  /** Takes a publisher lease (releasing the one it held for another broadcast). */
  holdLease(lease: PublisherLease): void {
    if (this.closed) {
      lease.release();
      throw ownerGone('broadcast:start');
    }
    const old = this.#lease;
    this.#lease = lease;
    // A resume of the same broadcast by the same peer replaces its lease: releasing the old one would drop it.
    if (old && old !== lease && (old.broadcast !== lease.broadcast || old.publisherId !== lease.publisherId)) old.release();
  }

  /** Gives up the lease without releasing it (the broadcast was ended by its publisher). */
  dropLease(): PublisherLease | undefined {
    const lease = this.#lease;
    this.#lease = undefined;
    return lease;
  }

  /** Takes a transport; `watchToken` (receive transports) must still be current, else it is closed too. */
  addTransport(transport: types.WebRtcTransport, direction: Direction, watchToken?: number): void {
    if (this.closed) {
      transport.close();
      throw ownerGone('transport:create');
    }
    if (watchToken !== undefined && !this.stillWatching(watchToken)) {
      transport.close();
      throw new LiveError('connection_closed', 'transport:create: you left this stream while the transport was being made');
    }
    // One transport per direction: a new one (after a reconnect or a router change) replaces the old.
    for (const [id, t] of this.transports) if (t.direction === direction) (t.transport.close(), this.transports.delete(id));
    this.transports.set(transport.id, { transport, direction });
    transport.observer.once('close', () => this.transports.delete(transport.id));
  }

  transport(id: string, direction: Direction): types.WebRtcTransport | undefined {
    const t = this.transports.get(id);
    return t && t.direction === direction && !t.transport.closed ? t.transport : undefined;
  }

  anyTransport(id: string): types.WebRtcTransport | undefined {
    return this.transports.get(id)?.transport;
  }

  recvTransport(): types.WebRtcTransport | undefined {
    for (const t of this.transports.values()) if (t.direction === 'recv' && !t.transport.closed) return t.transport;
    return undefined;
  }

  /** Takes a consumer of the current watch (`watchToken`), else closes it and throws. */
  addConsumer(consumer: types.Consumer, watchToken: number): void {
    if (this.closed) {
      consumer.close();
      throw ownerGone('consume');
    }
    if (!this.stillWatching(watchToken) || consumer.closed) {
      consumer.close();
      throw new LiveError('stale_session', 'consume: your receive transport closed or you left this stream meanwhile: join and consume again');
    }
    this.consumers.set(consumer.id, consumer);
    consumer.observer.once('close', () => this.consumers.delete(consumer.id));
  }

  addProducer(producer: types.Producer): void {
    if (this.closed) {
      producer.close();
      throw ownerGone('produce');
    }
    this.producers.set(producer.id, producer);
    producer.observer.once('close', () => this.producers.delete(producer.id));
  }

  /** Closes the transports of one direction (and so their producers or consumers). */
  closeDirection(direction: Direction): void {
    for (const t of [...this.transports.values()]) if (t.direction === direction) t.transport.close();
  }

  close(): void {
    if (this.closed) return;
    this.#abort.abort();
    this.#watching = undefined;
    this.#watchEpoch++;
    this.#lease?.release();
    this.#lease = undefined;
    for (const { transport } of [...this.transports.values()]) transport.close();
    this.transports.clear();
    this.consumers.clear();
    this.producers.clear();
  }
}
