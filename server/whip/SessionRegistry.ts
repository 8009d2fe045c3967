/**
 * The open WHIP or WHEP sessions, by id. A session leaves when it closes; the sessions of a stream close
 * when its broadcast ends for any reason (DELETE, stream deleted, shutdown). `close()` (idempotent) stops
 * listening and closes them all.
 */
import type { Broadcasts } from '../live/Broadcasts.js';

export interface RegisteredSession {
  readonly id: string;
  readonly streamId: string;
  close(reason: string): void;
  once(event: 'closed', listener: (e: { reason: string }) => void): unknown;
}

export class SessionRegistry<S extends RegisteredSession> {
  readonly #sessions = new Map<string, S>();
  readonly #broadcasts: Pick<Broadcasts, 'on' | 'off'>;
  #closed = false;

  constructor(broadcasts: Pick<Broadcasts, 'on' | 'off'>) {
    this.#broadcasts = broadcasts;
    broadcasts.on('ended', this.#onEnded);
  }

  readonly #onEnded = ({ streamId }: { streamId: string }): void => {
    for (const s of [...this.#sessions.values()]) if (s.streamId === streamId) s.close('the broadcast ended');
  };

  add(session: S): void {
    this.#sessions.set(session.id, session);
    session.once('closed', () => this.#sessions.delete(session.id));
  }

  /** Session `id`, if it belongs to stream `streamId` (a session URL names both). */
  get(id: string, streamId: string): S | undefined {
    const s = this.#sessions.get(id);
    return s?.streamId === streamId ? s : undefined;
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#broadcasts.off('ended', this.#onEnded);
    for (const s of [...this.#sessions.values()]) s.close(reason);
  }
}
