/**
 * The RTMP listener (ONAIR_RTMP_PORT): OBS's "Custom" service, or any encoder, publishes to
 * rtmp://HOST:PORT/live/STREAM_KEY. Each TCP connection is an RtmpConnection; the server only owns the
 * listener and the set of open connections.
 *
 * Lifetimes: `listen` binds (a port in use fails the start with a message naming the variable); `close`
 * stops accepting, closes every connection (their sessions give their leases back and stop their ffmpeg) and
 * resolves once all are gone. At most MAX_CONNECTIONS connections are open at once (each costs a socket and,
 * once publishing, an ffmpeg): the next are closed at once.
 */
import crypto from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import nmsLogger from 'node-media-server/src/core/logger.js';
import { RtmpConnection, type RtmpIngestDeps } from './RtmpConnection.js';

const MAX_CONNECTIONS = 256;

export class RtmpIngestServer {
  readonly #server: net.Server;
  readonly #deps: RtmpIngestDeps;
  readonly #connections = new Set<RtmpConnection>();
  #closing: Promise<void> | undefined;

  constructor(deps: RtmpIngestDeps) {
    this.#deps = deps;
    // The engine prints to the console (e.g. a line per malformed AMF command: a client could flood stdout).
    // Its logger is one per process: its lines go to this server's log at debug level.
    const log = deps.logger.child({ nms: true });
    nmsLogger.log = (message, level) => log.debug({ level }, String(message));
    this.#server = net.createServer((socket) => this.#accept(socket));
  }

  /** Open connections (tests count what is left). */
  get connections(): ReadonlySet<RtmpConnection> {
    return this.#connections;
  }

  /** Binds `host:port` (0: any free port); resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) =>
        reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} is in use: set ONAIR_RTMP_PORT to a free port, or to "off"`) : err);
      this.#server.once('error', onError);
      this.#server.listen({ port, host }, () => {
        this.#server.off('error', onError);
        this.#server.on('error', (err) => this.#deps.logger.error({ err }, 'RTMP listener error'));
        resolve((this.#server.address() as AddressInfo).port);
      });
    });
  }

  #accept(socket: net.Socket): void {
    if (this.#closing || this.#connections.size >= MAX_CONNECTIONS) {
      socket.destroy();
      return;
    }
    const conn = new RtmpConnection(crypto.randomBytes(6).toString('base64url'), socket, {
      ...this.#deps,
      logger: this.#deps.logger,
    });
    this.#connections.add(conn);
    void conn.closed.then(() => this.#connections.delete(conn));
  }

  /** Stops listening and closes every connection; resolves when their ffmpeg processes are gone. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const listening = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      await Promise.all([...this.#connections].map((c) => c.close('the server is shutting down')));
      await listening;
    })();
    return this.#closing;
  }
}
