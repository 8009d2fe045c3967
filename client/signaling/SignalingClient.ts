/**
 * The browser's end of the signaling socket (shared/signaling.ts is the contract). `request()` resolves with
 * an ack's data or throws a SignalingRequestError (the server's code and reason, or 'timeout' /
 * 'disconnected'); `on()` subscribes to a server event or a connection event and returns the unsubscribe
 * function. socket.io reconnects by itself after network errors; after a handshake refusal it stops, so this
 * class tries again itself when the refusal is one that passes (too many connections, rate limited) and
 * when the server closed the socket. Users of this class redo their work on every 'connect'.
 */
import { io, type Socket } from 'socket.io-client';
import {
  ACK_TIMEOUT_MS,
  type Ack,
  type ClientEvents,
  type RequestName,
  type RequestPayload,
  type RequestResults,
  type ServerEvents,
} from '../../shared/signaling.js';
import { knownErrorCode, knownReason, OnAirClientError } from '../common/errors.js';
import { handshakeRefusal } from './handshakeRefusal.js';
import { SignalingRequestError } from './SignalingRequestError.js';

/** Connection events, next to the server's. */
export interface ConnectionEvents {
  connect: () => void;
  disconnect: (reason: string) => void;
  connect_error: (err: Error) => void;
}
export type SignalingEvents = ServerEvents & ConnectionEvents;

export interface SignalingClientOptions {
  /** Access token: makes this socket a broadcaster's. */
  token?: string;
  /** Server URL; the page's origin by default. */
  url?: string;
  ackTimeoutMs?: number;
}

/**
 * How long after a passing handshake refusal the socket tries again: `too_many_requests` (too many sockets
 * from this address), `not_ready` (cluster mode: the shared state is unreachable for a moment).
 */
const REFUSED_RETRY_MS = 5000;

type AnyHandler = (...args: unknown[]) => void;
interface LooseSocket {
  on(event: string, handler: AnyHandler): void;
  off(event: string, handler: AnyHandler): void;
}

export class SignalingClient {
  readonly #socket: Socket<ServerEvents, ClientEvents>;
  readonly #ackTimeoutMs: number;
  #refusedTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: SignalingClientOptions = {}) {
    this.#ackTimeoutMs = opts.ackTimeoutMs ?? ACK_TIMEOUT_MS;
    this.#socket = io(opts.url ?? '', {
      autoConnect: false,
      auth: opts.token ? { token: opts.token } : {},
      transports: ['websocket', 'polling'],
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
    });
    // The server closed this socket (not a network drop): socket.io would not come back by itself.
    this.#socket.on('disconnect', (reason) => {
      if (reason === 'io server disconnect') setTimeout(() => this.#socket.connect(), 1000);
    });
    // Refused for now (too many sockets from this address, rate limited, cluster's Redis unreachable):
    // socket.io has given up; try later.
    this.#socket.on('connect_error', (err) => {
      const code = handshakeRefusal(err)?.code;
      if (this.#socket.active || (code !== 'too_many_requests' && code !== 'not_ready')) return;
      clearTimeout(this.#refusedTimer);
      this.#refusedTimer = setTimeout(() => this.connect(), REFUSED_RETRY_MS);
    });
    globalThis.addEventListener?.('online', this.#onOnline);
  }

  /**
   * The browser's network is back: try at once instead of at the end of socket.io's back-off (up to 4.5 s
   * after a long outage). Restarting the manager cancels its pending attempt; an unconnected socket emits
   * no 'disconnect' on the way.
   */
  readonly #onOnline = () => {
    if (!this.#socket.connected && this.#socket.active) this.#socket.disconnect().connect();
  };

  get connected(): boolean {
    return this.#socket.connected;
  }

  /** The socket's id while connected (a new one after each reconnection). */
  get id(): string | undefined {
    return this.#socket.id;
  }

  connect(): void {
    if (!this.#socket.active) this.#socket.connect();
  }

  /** Resolves once connected (connecting if needed); rejects on a refused handshake or after `timeoutMs`. */
  whenConnected(timeoutMs = this.#ackTimeoutMs): Promise<void> {
    if (this.#socket.connected) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        offConnect();
        offError();
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => done(new OnAirClientError('timeout', 'cannot connect to the server')), timeoutMs);
      const offConnect = this.on('connect', () => done());
      // A middleware refusal (bad token) ends the attempts; network errors are retried by socket.io.
      const offError = this.on('connect_error', (err) => {
        if (!this.#socket.active) done(handshakeRefusal(err) ?? new OnAirClientError('network', `cannot connect to the server: ${err.message}`));
      });
      this.connect();
    });
  }

  request<N extends RequestName>(name: N, payload: RequestPayload<N>): Promise<RequestResults[N]> {
    if (!this.#socket.connected) return Promise.reject(new SignalingRequestError(name, 'disconnected', `${name}: not connected to the server`));
    return new Promise((resolve, reject) => {
      const withTimeout = this.#socket.timeout(this.#ackTimeoutMs) as unknown as {
        emit(event: N, payload: unknown, ack: (err: Error | null, res: Ack<RequestResults[N]> | undefined) => void): void;
      };
      withTimeout.emit(name, payload, (err, res) => {
        if (err) {
          const code = this.#socket.connected ? 'timeout' : 'disconnected';
          return reject(new SignalingRequestError(name, code, `${name}: ${code === 'timeout' ? 'the server did not answer' : 'the connection was lost'}`));
        }
        if (!res || typeof res !== 'object' || typeof res.ok !== 'boolean') {
          return reject(new SignalingRequestError(name, 'bad_response', `${name}: malformed answer from the server`));
        }
        if (res.ok) return resolve(res.data);
        // Validated, not trusted: a newer server's code or reason is acted on as a generic failure.
        const failed = res as { error?: unknown; reason?: unknown; message?: unknown };
        const message = typeof failed.message === 'string' ? failed.message : `${name} failed`;
        reject(new SignalingRequestError(name, knownErrorCode(failed.error) ?? 'internal', message, knownReason(failed.reason)));
      });
    });
  }

  on<E extends keyof SignalingEvents>(event: E, handler: SignalingEvents[E]): () => void {
    const socket = this.#socket as unknown as LooseSocket;
    const h = handler as unknown as AnyHandler;
    socket.on(event, h);
    return () => socket.off(event, h);
  }

  /** Drops the network connection as a network failure would (socket.io then reconnects): for tests and diagnostics. */
  dropConnection(): void {
    this.#socket.io.engine?.close();
  }

  close(): void {
    globalThis.removeEventListener?.('online', this.#onOnline);
    clearTimeout(this.#refusedTimer);
    this.#socket.disconnect();
  }
}
