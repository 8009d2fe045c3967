/**
 * One signaling socket's media: the transports, producers and consumers it opened. It owns them: `close()`
 * (on disconnect) closes all of them, and each drops out of its map when mediasoup closes it (a router
 * closing at the end of a broadcast closes its transports, which close their producers and consumers).
 */
import type { types } from 'mediasoup';

export type Direction = 'send' | 'recv';

export class Peer {
  readonly id: string;
  /** The stream this socket watches (viewer), if any. */
  watching: string | undefined;
  /** The stream this socket broadcasts into, if any. */
  broadcasting: string | undefined;
  readonly transports = new Map<string, { transport: types.WebRtcTransport; direction: Direction }>();
  readonly consumers = new Map<string, types.Consumer>();
  readonly producers = new Map<string, types.Producer>();
  #closed = false;

  constructor(id: string) {
    this.id = id;
  }

  get closed(): boolean {
    return this.#closed;
  }

  addTransport(transport: types.WebRtcTransport, direction: Direction): void {
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

  addConsumer(consumer: types.Consumer): void {
    this.consumers.set(consumer.id, consumer);
    consumer.observer.once('close', () => this.consumers.delete(consumer.id));
  }

  addProducer(producer: types.Producer): void {
    this.producers.set(producer.id, producer);
    producer.observer.once('close', () => this.producers.delete(producer.id));
  }

  /** Closes the transports of one direction (and so their producers or consumers). */
  closeDirection(direction: Direction): void {
    for (const t of [...this.transports.values()]) if (t.direction === direction) t.transport.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { transport } of [...this.transports.values()]) transport.close();
    this.transports.clear();
    this.consumers.clear();
    this.producers.clear();
  }
}
