/**
 * HLS viewers, counted into the stream's audience (Broadcasts.addViewer/removeViewer: the same figure as
 * WebRTC and WHEP viewers, kept cluster-wide by its AudienceCounts).
 *
 * An HLS player is only a series of HTTP requests, so a playback session is named by a `session` query
 * parameter on its playlist requests: OnAir's player sends its signaling socket's id; any other player may
 * send any id (8-64 of A-Z a-z 0-9 _ -), and OnAir carries it from the master playlist onto the rendition
 * playlists' URIs, which players re-request all along a live broadcast (segments and parts do not carry it:
 * they stay one shared URL for CDNs). A session counts from its first request while requests keep coming:
 * it leaves `idleMs` after its last request ended (a blocking LL-HLS request that is still waiting keeps it
 * present). `idleMs` is two segment durations, so the count is exact within two segment durations.
 *
 * OnAir's own player also has a joined socket, which the audience already counts (viewerHandlers): a session
 * whose id is the id of a socket watching the same stream is not counted twice, only marked as HLS in the
 * split. This is checked at every request, so a socket that left (the page's socket reconnected under a new
 * id) makes its session an HLS viewer of its own, and back.
 *
 * Lifetimes: a session lives from its first request until idle (or its stream's broadcast ended: endStream);
 * one sweep timer runs from construction to close(); close() removes every session from the audience.
 * At most MAX_SESSIONS sessions are tracked (memory bound against made-up ids): beyond, requests are served
 * but not counted.
 */
import { z } from 'zod';

/** The audience the sessions are counted into (Broadcasts). */
export interface AudienceSink {
  addViewer(streamId: string, viewerId: string): void;
  removeViewer(streamId: string, viewerId: string): void;
}

export interface HlsViewerSessionsOptions {
  audience: AudienceSink;
  /** Is `sessionId` the id of a signaling socket in this stream's audience (OnAir's player in HLS mode)? */
  isSocketViewer(streamId: string, sessionId: string): boolean;
  /** A session with no request for this long (and none waiting) has left. */
  idleMs: number;
  now?: () => number;
}

/** The session parameter: what players may send. */
export const hlsSessionSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'session: 8 to 64 of A-Z a-z 0-9 _ -');

const MAX_SESSIONS = 100_000;

interface Session {
  streamId: string;
  sessionId: string;
  /** Its own audience entry; null while it is counted through its socket. */
  viewerId: string | null;
  lastSeen: number;
  /** Requests being answered now (a blocking playlist request may wait seconds). */
  pending: number;
}

export class HlsViewerSessions {
  readonly #opts: HlsViewerSessionsOptions;
  readonly #now: () => number;
  readonly #sessions = new Map<string, Session>();
  /** Sessions per stream (count() is read for every live stream at each /metrics scrape). */
  readonly #perStream = new Map<string, number>();
  readonly #timer: ReturnType<typeof setInterval>;
  #closed = false;

  constructor(opts: HlsViewerSessionsOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#timer = setInterval(() => this.sweep(), Math.max(100, Math.floor(opts.idleMs / 4)));
    this.#timer.unref();
  }

  /**
   * A playlist request of `sessionId` for a live stream begins; the returned function is called once it
   * ended (answered or abandoned). Idempotent end.
   */
  begin(streamId: string, sessionId: string): () => void {
    if (this.#closed) return () => undefined;
    const key = `${streamId}/${sessionId}`;
    let s = this.#sessions.get(key);
    if (!s) {
      if (this.#sessions.size >= MAX_SESSIONS) return () => undefined;
      s = { streamId, sessionId, viewerId: null, lastSeen: this.#now(), pending: 0 };
      this.#sessions.set(key, s);
      this.#perStream.set(streamId, (this.#perStream.get(streamId) ?? 0) + 1);
    }
    this.#place(s);
    s.pending += 1;
    s.lastSeen = this.#now();
    const session = s;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      session.pending -= 1;
      session.lastSeen = this.#now();
    };
  }

  /** HLS sessions of the stream now (the `hls` part of its audience split), counted either way. */
  count(streamId: string): number {
    return this.#perStream.get(streamId) ?? 0;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Removes the sessions idle for idleMs. Runs on its timer; public for tests. */
  sweep(): void {
    const now = this.#now();
    for (const [key, s] of this.#sessions) {
      if (s.pending === 0 && now - s.lastSeen >= this.#opts.idleMs) this.#drop(key, s);
    }
  }

  /** The stream's broadcast ended: its HLS viewers are gone now, not when they stop asking. */
  endStream(streamId: string): void {
    for (const [key, s] of this.#sessions) if (s.streamId === streamId) this.#drop(key, s);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const [key, s] of this.#sessions) this.#drop(key, s);
  }

  /** Counted through its socket while that socket watches the stream; else as a viewer of its own. */
  #place(s: Session): void {
    const throughSocket = this.#opts.isSocketViewer(s.streamId, s.sessionId);
    if (throughSocket && s.viewerId !== null) {
      this.#opts.audience.removeViewer(s.streamId, s.viewerId);
      s.viewerId = null;
    } else if (!throughSocket && s.viewerId === null) {
      s.viewerId = `hls:${s.sessionId}`;
      this.#opts.audience.addViewer(s.streamId, s.viewerId);
    }
  }

  #drop(key: string, s: Session): void {
    if (!this.#sessions.delete(key)) return;
    const left = (this.#perStream.get(s.streamId) ?? 1) - 1;
    if (left > 0) this.#perStream.set(s.streamId, left);
    else this.#perStream.delete(s.streamId);
    if (s.viewerId !== null) this.#opts.audience.removeViewer(s.streamId, s.viewerId);
  }
}
