/**
 * Batches a stream's new chat messages into one `chat:messages` event per turn of the event loop: a burst
 * of N messages to M members costs M socket writes per batch instead of N × M (socket.io encodes a room
 * emit once, but writes it to every socket). Messages sent while the loop is idle go out at the next
 * `setImmediate`, after the current I/O: no timer delay. Order is kept: batches go out in seq order, and
 * anything else about a stream's chat (a deletion, new settings) flushes its batch first (`flush`), so that
 * nobody sees a message deleted before it arrived.
 */
import type { ChatMessage } from '../../shared/chat.js';

export class ChatOutbox {
  readonly #pending = new Map<string, ChatMessage[]>();
  readonly #send: (streamId: string, messages: ChatMessage[]) => void;
  #scheduled: NodeJS.Immediate | undefined;

  constructor(send: (streamId: string, messages: ChatMessage[]) => void) {
    this.#send = send;
  }

  push(m: ChatMessage): void {
    const list = this.#pending.get(m.streamId);
    if (list) list.push(m);
    else this.#pending.set(m.streamId, [m]);
    this.#scheduled ??= setImmediate(() => this.flushAll());
  }

  /** Sends a stream's pending messages now. */
  flush(streamId: string): void {
    const list = this.#pending.get(streamId);
    if (!list) return;
    this.#pending.delete(streamId);
    this.#send(streamId, list);
  }

  flushAll(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    for (const streamId of [...this.#pending.keys()]) this.flush(streamId);
  }

  get pendingStreams(): number {
    return this.#pending.size;
  }
}
