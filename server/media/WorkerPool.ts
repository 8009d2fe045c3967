/**
 * The mediasoup worker pool: one worker per core, each with a WebRtcServer on its own port (UDP + TCP), so
 * every WebRTC transport of a worker shares one port. The pool counts each worker's load (its routers,
 * transports and consumers, from mediasoup's observers) so that new routers and viewers go to the
 * least-loaded worker. A worker that dies is logged, replaced on the same port, and the owners of its
 * routers are told through `workerdied` (their routers are already closed by then).
 *
 * A worker that is alive but stops answering (stuck, or stopped with SIGSTOP) would be worse than a dead one:
 * mediasoup 3.12's Channel has no request timeout, so every request to it (a viewer's transport, a consume)
 * would wait forever. A watchdog asks each worker for its resource usage every `watchdog.intervalMs`; one that
 * has not answered within `watchdog.timeoutMs` is killed, and so replaced like any dead worker.
 */
import { EventEmitter, once } from 'node:events';
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
  /** Liveness probes of each worker (defaults: DEFAULT_WATCHDOG). */
  watchdog?: { intervalMs: number; timeoutMs: number };
}

/**
 * A probe every 5 s, 10 s to answer: a worker busy forwarding to a thousand viewers answers in milliseconds;
 * one that takes 10 s is not serving its viewers anyway.
 */
export const DEFAULT_WATCHDOG = { intervalMs: 5000, timeoutMs: 10_000 } as const;

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
  /** Open transports (WebRTC, plain, pipe) and consumers on this worker's routers. */
  transports: number;
  consumers: number;
  /** Placements under way (see `placing`): counted before their transport exists. */
  placing: number;
}

/** How long `createRouter` waits for a dead worker's replacement when no worker runs. */
const REPLACEMENT_WAIT_MS = 5000;

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
  workers(): { index: number; pid: number; routers: number; load: number; port: number | undefined; worker: types.Worker }[] {
    return this.#slots.flatMap((s) =>
      s ? [{ index: s.index, pid: s.worker.pid, routers: s.routers.size, load: load(s), port: this.#port(s.index), worker: s.worker }] : [],
    );
  }

  /**
   * Runs `create` (which makes a transport on worker `index`) counting it in the worker's load meanwhile: a
   * burst of viewers joining at once would otherwise all see the same least-loaded worker, since a
   * transport only counts once mediasoup has made it.
   */
  async placing<T>(index: number, create: () => Promise<T>): Promise<T> {
    const slot = this.#slots[index];
    if (slot) slot.placing++;
    try {
      return await create();
    } finally {
      if (slot) slot.placing--;
    }
  }

  /** The index of the least-loaded live worker; undefined when none runs. */
  leastLoadedWorker(): number | undefined {
    let best: Slot | undefined;
    for (const s of this.#slots) {
      if (!s || s.worker.closed) continue;
      if (!best || load(s) < load(best)) best = s;
    }
    return best?.index;
  }

  /**
   * A new router on the least-loaded live worker. When none runs (the only worker just died) it waits a
   * moment for the replacement: a broadcaster republishes at once, within the few hundred ms a new worker
   * takes to start.
   */
  async createRouter(appData: types.AppData = {}): Promise<PooledRouter> {
    let index = this.leastLoadedWorker();
    if (index === undefined && !this.#closed) {
      index = await once(this, 'workerreplaced', { signal: AbortSignal.timeout(REPLACEMENT_WAIT_MS) }).then(
        ([replaced]) => (replaced as WorkerPoolEvents['workerreplaced'][0]).index,
        () => undefined,
      );
    }
    if (index === undefined) throw new Error(this.#closed ? 'worker pool is closed' : 'no mediasoup worker is running');
    return this.createRouterOn(index, appData);
  }

  /** A new router on worker `index` (e.g. a broadcast's edge router for the viewers placed there). */
  async createRouterOn(index: number, appData: types.AppData = {}): Promise<PooledRouter> {
    if (this.#closed) throw new Error('worker pool is closed');
    const slot = this.#slots[index];
    if (!slot || slot.worker.closed) throw new Error(`mediasoup worker ${index} is not running`);
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
    router.observer.on('newtransport', (transport: types.Transport) => {
      slot.transports++;
      transport.observer.once('close', () => slot.transports--);
      transport.observer.on('newconsumer', (consumer: types.Consumer) => {
        slot.consumers++;
        consumer.observer.once('close', () => slot.consumers--);
      });
    });
    return { router, webRtcServer: slot.webRtcServer, workerIndex: slot.index };
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
    const slot: Slot = { index, worker, webRtcServer, routers: new Set(), transports: 0, consumers: 0, placing: 0 };
    this.#slots[index] = slot;
    logger.info({ worker: index, pid: worker.pid, port: this.#port(index) ?? 'auto' }, 'mediasoup worker started');
    worker.once('died', (error) => this.#onDied(slot, error));
    this.#watch(worker, index);
  }

  /** Kills `worker` when it stops answering (see the watchdog in the header); stops when the worker closes. */
  #watch(worker: types.Worker, index: number): void {
    const { intervalMs, timeoutMs } = this.#opts.watchdog ?? DEFAULT_WATCHDOG;
    let probing = false;
    const timer = setInterval(() => {
      if (probing || worker.closed) return;
      probing = true;
      let answered = false;
      const deadline = setTimeout(() => {
        if (answered || worker.closed) return;
        this.#opts.logger.error({ worker: index, pid: worker.pid, timeoutMs }, 'mediasoup worker stopped answering; killing it');
        try {
          process.kill(worker.pid, 'SIGKILL');
        } catch {
          /* already gone: 'died' follows */
        }
      }, timeoutMs);
      worker
        .getResourceUsage()
        .catch(() => undefined) // a closed channel: the worker died, 'died' handles it
        .finally(() => {
          answered = true;
          probing = false;
          clearTimeout(deadline);
        });
    }, intervalMs);
    timer.unref();
    worker.observer.once('close', () => clearInterval(timer));
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

/**
 * What a worker carries: every router, transport and consumer counts one. Consumers dominate a popular
 * stream (each forwards every packet once more), routers keep new broadcasts apart while nobody watches.
 */
const load = (s: Slot): number => s.routers.size + s.transports + s.consumers + s.placing;
