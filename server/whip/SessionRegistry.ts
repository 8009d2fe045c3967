/**
 * The open WHIP or WHEP sessions, by id, for their HTTP resources (DELETE, PATCH). A session leaves when it
 * closes. Sessions close with their broadcast by ownership, not through here: a WHIP session's transport is on
 * the broadcast's router; a WHEP session is an output of the broadcast. `close()` (idempotent, shutdown) closes
 * them all.
 */
export interface RegisteredSession {
  readonly id: string;
  readonly streamId: string;
  close(reason: string): void;
  once(event: 'closed', listener: (e: { reason: string }) => void): unknown;
}

export class SessionRegistry<S extends RegisteredSession> {
  readonly #sessions = new Map<string, S>();
  #closed = false;

  add(session: S): void {
    if (this.#closed) {
      session.close('the server is shutting down');
      return;
    }
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
    for (const s of [...this.#sessions.values()]) s.close(reason);
  }
}
