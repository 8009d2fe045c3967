/**
 * The SRT listener (ONAIR_SRT_PORT, UDP): senders call srt://HOST:PORT?streamid=STREAM_KEY (caller mode).
 * libsrt (libsrt.ts) does the protocol; this class owns the listening socket, one SRT epoll, and the accepted
 * sockets, and polls them every POLL_MS from the event loop (non-blocking calls only): it accepts callers,
 * hands each one's stream id and payload to its SrtConnection, and closes the socket when the connection
 * closes or SRT reports it broken.
 *
 * Latency: SRT's receive delay is the larger of the sender's and the receiver's; the listener asks for only
 * MIN_LATENCY_MS, so the sender's setting (OBS, ffmpeg `latency=`) is the one in force.
 *
 * Lifetimes: `listen` binds (an error names the variable); `close` stops the poll, closes every connection
 * (their sessions give their leases back and stop their ffmpeg), every SRT socket, the listener and the epoll.
 * At most MAX_CONNECTIONS callers at once: the next are closed on accept.
 */
import crypto from 'node:crypto';
import type { Logger } from '../../log/logger.js';
import { SRT_EASYNCRCV, SRT_EPOLL, SRT_INVALID_SOCK, SRTO, libsrt, socketAddress, type LibSrt } from './libsrt.js';
import { SrtConnection, type SrtIngestDeps } from './SrtConnection.js';

const POLL_MS = 5;
const MIN_LATENCY_MS = 20;
const MAX_CONNECTIONS = 256;
/** SRT live payloads are at most 1456 bytes. */
const MAX_PAYLOAD = 1500;

interface Caller {
  sock: number;
  conn: SrtConnection;
}

export class SrtIngestServer {
  readonly #deps: SrtIngestDeps;
  readonly #log: Logger;
  readonly #callers = new Map<number, Caller>();
  readonly #buf = Buffer.alloc(MAX_PAYLOAD);
  #srt: LibSrt | undefined;
  #listener = SRT_INVALID_SOCK;
  #eid = -1;
  #timer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(deps: SrtIngestDeps) {
    this.#deps = deps;
    this.#log = deps.logger;
  }

  /** Open connections (tests count what is left). */
  get connections(): SrtConnection[] {
    return [...this.#callers.values()].map((c) => c.conn);
  }

  /** Binds UDP `host:port` (0: any free port); resolves with the bound port. */
  async listen(port: number, host: string): Promise<number> {
    const srt = (this.#srt = libsrt());
    const sock = srt.createSocket();
    const fail = (what: string): never => {
      const text = srt.lastErrorText();
      srt.close(sock);
      throw new Error(`SRT ${what} on ${host}:${port} failed (${text}): set ONAIR_SRT_PORT to a free port, or to "off"`);
    };
    if (sock === SRT_INVALID_SOCK) fail('socket');
    if (srt.setIntFlag(sock, SRTO.RCVSYN, 0) < 0 || srt.setIntFlag(sock, SRTO.RCVLATENCY, MIN_LATENCY_MS) < 0) fail('options');
    if (srt.bind(sock, socketAddress(host, port)) < 0) fail('bind');
    if (srt.listen(sock, 16) < 0) fail('listen');
    this.#listener = sock;
    this.#eid = srt.epollCreate();
    srt.epollAdd(this.#eid, sock, SRT_EPOLL.IN | SRT_EPOLL.ERR);
    this.#timer = setInterval(() => this.#poll(), POLL_MS);
    this.#timer.unref();
    return srt.localPort(sock);
  }

  #poll(): void {
    const srt = this.#srt!;
    for (const { sock, events } of srt.epollPoll(this.#eid, 64)) {
      if (sock === this.#listener) this.#acceptAll();
      else this.#read(sock, events);
    }
    for (const c of this.#callers.values()) c.conn.tick();
  }

  #acceptAll(): void {
    const srt = this.#srt!;
    for (;;) {
      const { sock, peer } = srt.accept(this.#listener);
      if (sock === SRT_INVALID_SOCK) return;
      if (this.#closing || this.#callers.size >= MAX_CONNECTIONS) {
        srt.close(sock);
        continue;
      }
      const streamId = srt.streamId(sock);
      srt.epollAdd(this.#eid, sock, SRT_EPOLL.IN | SRT_EPOLL.ERR);
      const id = crypto.randomBytes(6).toString('base64url');
      const conn = new SrtConnection(id, peer, streamId, srt.getIntFlag(sock, SRTO.RCVLATENCY), this.#deps, () => this.#closeSocket(sock));
      this.#callers.set(sock, { sock, conn });
    }
  }

  #read(sock: number, events: number): void {
    const srt = this.#srt!;
    const caller = this.#callers.get(sock);
    if (!caller) {
      srt.epollRemove(this.#eid, sock);
      srt.close(sock);
      return;
    }
    const chunks: Buffer[] = [];
    let broken = (events & SRT_EPOLL.ERR) !== 0;
    while (!broken) {
      const n = srt.recvmsg(sock, this.#buf);
      if (n > 0) chunks.push(Buffer.from(this.#buf.subarray(0, n)));
      else if (n < 0 && srt.lastError() === SRT_EASYNCRCV) break;
      else broken = true;
    }
    if (chunks.length > 0) caller.conn.onData(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    if (broken) void caller.conn.close('the SRT caller disconnected');
  }

  #closeSocket(sock: number): void {
    if (!this.#callers.delete(sock)) return;
    this.#srt!.epollRemove(this.#eid, sock);
    this.#srt!.close(sock);
  }

  /** Closes every caller and the listener; resolves when their ffmpeg processes are gone. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const conns = this.connections;
      await Promise.all(conns.map((c) => c.close('the server is shutting down')));
      clearInterval(this.#timer);
      const srt = this.#srt;
      if (!srt) return;
      // Refused callers whose socket close was deferred.
      for (const sock of [...this.#callers.keys()]) this.#closeSocket(sock);
      if (this.#listener !== SRT_INVALID_SOCK) srt.close(this.#listener);
      if (this.#eid >= 0) srt.epollRelease(this.#eid);
      this.#log.debug('SRT listener closed');
    })();
    return this.#closing;
  }
}
