/**
 * Pipe transports of this node, each on a port of the pipe range (ONAIR_PIPE_PORT_MIN/MAX), with RTX and SRTP
 * on (between hosts: retransmissions over a lossy network, and media encrypted on the wire — mediasoup issue
 * #352), no SCTP (no data channels cross nodes).
 *
 * Guards, and why:
 * - The port is chosen here rather than from the worker's range, so that a firewall opens exactly the pipe
 *   range between nodes and the registry can check a peer's address against its announced range.
 * - Ports this process holds are skipped; a port another process holds fails to bind and the next is tried
 *   (a bounded number of times), so a busy range fails with a clear error instead of looping.
 * - A port returns to the pool when its transport closes (however it closes: its router closing included).
 */
import type { types } from 'mediasoup';

export interface PipePortSettings {
  listenIp: string;
  announcedIp: string;
  portMin: number;
  portMax: number;
}

const ATTEMPTS = 20;

export class PipeTransports {
  readonly #s: PipePortSettings;
  readonly #used = new Set<number>();
  #next: number;

  constructor(settings: PipePortSettings) {
    this.#s = settings;
    this.#next = settings.portMin + Math.floor(Math.random() * (settings.portMax - settings.portMin + 1));
  }

  /** Ports held by open pipe transports of this node (tests, stats). */
  get inUse(): number {
    return this.#used.size;
  }

  /** A pipe transport on `router`, listening on a free port of the range. */
  async create(router: types.Router, appData: types.AppData = {}): Promise<types.PipeTransport> {
    const size = this.#s.portMax - this.#s.portMin + 1;
    let lastError: Error | undefined;
    for (let attempt = 0, tried = 0; attempt < ATTEMPTS && tried < size; tried++) {
      const port = this.#takeNext(size);
      if (this.#used.has(port)) continue;
      attempt++;
      this.#used.add(port);
      try {
        const transport = await router.createPipeTransport({
          listenIp: { ip: this.#s.listenIp, announcedIp: this.#s.announcedIp },
          port,
          enableRtx: true,
          enableSrtp: true,
          enableSctp: false,
          appData,
        });
        transport.observer.once('close', () => this.#used.delete(port));
        return transport;
      } catch (err) {
        this.#used.delete(port);
        lastError = err as Error;
        if (router.closed) throw lastError;
      }
    }
    throw new Error(`no free pipe port in ${this.#s.portMin}-${this.#s.portMax}${lastError ? `: ${lastError.message}` : ''}`);
  }

  #takeNext(size: number): number {
    const port = this.#next;
    this.#next = this.#s.portMin + ((port - this.#s.portMin + 1) % size);
    return port;
  }
}

/** What the other end needs to connect to `transport`. */
export function tupleOf(transport: types.PipeTransport): { ip: string; port: number; srtpParameters: types.SrtpParameters } {
  if (!transport.srtpParameters) throw new Error('pipe transport without SRTP');
  return { ip: transport.tuple.localIp, port: transport.tuple.localPort, srtpParameters: transport.srtpParameters };
}
