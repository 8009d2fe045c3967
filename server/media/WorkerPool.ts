/**
 * The mediasoup worker pool: one worker per core, each with a WebRtcServer on its own port (UDP + TCP), so
 * every WebRTC transport of a worker shares one port. Routers go to the least-loaded worker. A worker that
 * dies is logged, replaced on the same port, and the owners of its routers are told through
 * `routerlost` (their routers are already closed by then).
 */
import { EventEmitter } from 'node:events';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { Logger } from '../log/logger.js';
import { MEDIA_CODECS } from './mediaCodecs.js';

export interface WorkerPoolOptions {
  size: number;
  listenIp: string;
  announcedIp: string;
  /** First port; worker i listens on firstPort + i. 0: each worker picks a free port. */
  firstPort: number;
  logger: Logger;
  logLevel?: types.WorkerLogLevel;
}

export interface PooledRouter {
  router: types.Router;
  webRtcServer: types.WebRtcServer;
  workerIndex: number;
}

interface Slot {
  index: number;
  worker: types.Worker;
  webRtcServer: types.WebRtcServer;
  routers: Set<types.Router>;
  /** Load beyond the router count (transports, consumers) that owners report. */
  weight: number;
}

export interface WorkerPoolEvents {
  /** A worker died; `routers` were on it. */
  workerdied: [{ index: number; pid: number; error: Error; routers: types.Router[] }];
  workerreplaced: [{ index: number; pid: number }];
}

export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly #opts: WorkerPoolOptions;
  readonly #slots: (Slot | undefined)[];
  #closed = false;
  #rtpCapabilities: types.RtpCapabilities | undefined;

  private constructor(opts: WorkerPoolOptions) {
    super();
    this.#opts = opts;
    this.#slots = new Array<Slot | undefined>(opts.size).fill(undefined);
  }

  static async create(opts: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(opts);
    try {
      await Promise.all(pool.#slots.map((_, i) => pool.#start(i)));
      // Every router has the same codecs, so one router's capabilities are everyone's.
      const probe = await pool.#slots[0]!.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
      pool.#rtpCapabilities = probe.rtpCapabilities;
      probe.close();
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  /** The RTP capabilities of every router of this pool (what a mediasoup-client Device loads). */
  get rtpCapabilities(): types.RtpCapabilities {
    return this.#rtpCapabilities!;
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Workers currently running. */
  get aliveCount(): number {
    return this.#slots.filter((s) => s && !s.worker.closed).length;
  }

  /** Workers, for stats and tests. */
  workers(): { index: number; pid: number; routers: number; port: number | undefined; worker: types.Worker }[] {
    return this.#slots.flatMap((s) =>
      s ? [{ index: s.index, pid: s.worker.pid, routers: s.routers.size, port: this.#port(s.index), worker: s.worker }] : [],
    );
  }

  /** A new router on the least-loaded live worker. */
  async createRouter(appData: types.AppData = {}): Promise<PooledRouter> {
    if (this.#closed) throw new Error('worker pool is closed');
    const slot = this.#leastLoaded();
    if (!slot) throw new Error('no mediasoup worker is running');
    const router = await slot.worker.createRouter({ mediaCodecs: MEDIA_CODECS, appData });
    return this.#track(slot, router);
  }

  /**
   * A router with its own codec list on the worker of `beside` (so a pipe between them stays in one
   * process): WHEP viewers get one whose payload types are those of their offer.
   */
  async createRouterBeside(beside: types.Router, mediaCodecs: types.RtpCodecCapability[], appData: types.AppData = {}): Promise<PooledRouter> {
    const slot = this.#slots.find((s) => s?.routers.has(beside));
    if (!slot || slot.worker.closed || beside.closed) throw new Error('the router to place the new one beside is gone');
    const router = await slot.worker.createRouter({ mediaCodecs, appData });
    return this.#track(slot, router);
  }

  /** The WebRtcServer of the worker that hosts `router`. */
  webRtcServerFor(router: types.Router): types.WebRtcServer | undefined {
    return this.#slots.find((s) => s?.routers.has(router))?.webRtcServer;
  }

  /** Owners report extra load (e.g. consumers) so placement takes it into account. */
  addWeight(router: types.Router, delta: number): void {
    const slot = this.#slots.find((s) => s?.routers.has(router));
    if (slot) slot.weight = Math.max(0, slot.weight + delta);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#slots) s?.worker.close();
    this.#slots.fill(undefined);
  }

  #track(slot: Slot, router: types.Router): PooledRouter {
    slot.routers.add(router);
    // When the worker dies its routers close first: keep them listed for the `workerdied` report.
    router.observer.once('close', () => {
      if (!slot.worker.died) slot.routers.delete(router);
    });
    return { router, webRtcServer: slot.webRtcServer, workerIndex: slot.index };
  }

  #leastLoaded(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.#slots) {
      if (!s || s.worker.closed) continue;
      if (!best || load(s) < load(best)) best = s;
    }
    return best;
  }

  #port(index: number): number | undefined {
    return this.#opts.firstPort === 0 ? undefined : this.#opts.firstPort + index;
  }

  async #start(index: number): Promise<void> {
    const { logger } = this.#opts;
    const worker = await mediasoup.createWorker({
      logLevel: this.#opts.logLevel ?? 'warn',
      // Plain and pipe transports (HLS bridge, other nodes) take ports from here; WebRTC uses the WebRtcServer.
      rtcMinPort: 20000,
      rtcMaxPort: 29999,
      appData: { index },
    });
    let webRtcServer: types.WebRtcServer;
    try {
      const port = this.#port(index);
      webRtcServer = await worker.createWebRtcServer({
        listenInfos: (['udp', 'tcp'] as const).map((protocol) => ({
          protocol,
          ip: this.#opts.listenIp,
          announcedIp: this.#opts.announcedIp,
          ...(port !== undefined ? { port } : {}),
        })),
      });
    } catch (err) {
      worker.close();
      throw new Error(`mediasoup worker ${index}: cannot listen for WebRTC on port ${this.#port(index) ?? '(any)'}: ${(err as Error).message}`);
    }
    const slot: Slot = { index, worker, webRtcServer, routers: new Set(), weight: 0 };
    this.#slots[index] = slot;
    logger.info({ worker: index, pid: worker.pid, port: this.#port(index) ?? 'auto' }, 'mediasoup worker started');
    worker.once('died', (error) => this.#onDied(slot, error));
  }

  #onDied(slot: Slot, error: Error): void {
    if (this.#closed || this.#slots[slot.index] !== slot) return;
    const routers = [...slot.routers];
    this.#slots[slot.index] = undefined;
    this.#opts.logger.error({ worker: slot.index, pid: slot.worker.pid, err: error, routers: routers.length }, 'mediasoup worker died; replacing it');
    this.emit('workerdied', { index: slot.index, pid: slot.worker.pid, error, routers });
    void this.#replace(slot.index, 0);
  }

  async #replace(index: number, attempt: number): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#start(index);
      if (this.#closed) return this.#slots[index]?.worker.close();
      this.emit('workerreplaced', { index, pid: this.#slots[index]!.worker.pid });
    } catch (err) {
      const delay = Math.min(10_000, 250 * 2 ** attempt);
      this.#opts.logger.error({ worker: index, err, retryInMs: delay }, 'could not replace mediasoup worker');
      setTimeout(() => void this.#replace(index, attempt + 1), delay).unref();
    }
  }
}

const load = (s: Slot): number => s.routers.size * 100 + s.weight;
