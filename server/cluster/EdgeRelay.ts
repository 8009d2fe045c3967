/**
 * One stream's relay on an edge node: a Broadcast of this node (its router, its viewers spread over every
 * worker by ViewerRouters, seats, producer infos, events: the same viewer-facing surface as the origin's)
 * whose producers come from ONE EdgePipe from the stream's origin node, under the origin's producer ids. It
 * has no outputs and no publisher of its own: the pipe is its publisher. Its "publisher lease" is held while
 * the origin broadcast is live through the pipe, and released (the relay waits in state `reconnecting`,
 * exactly as a broadcast whose publisher dropped) when
 * - the origin's publisher dropped (the pipe says `reconnecting`): it comes back through the same pipe;
 * - the pipe is lost without an end: the origin moved to another router, or its node died or gave the stream
 *   up (its lease now names another node or token, or its node was not alive in the registry at two looks in
 *   a row);
 * and taken again (`resume`, as a publisher resuming) when the pipe (the same, or a new one from whichever
 * node holds the lease then) brings producers again: viewers re-consume on `broadcast:producers`, as after a
 * publisher resume on one machine. The relay's grace period covers the origin's own and the time to notice
 * a dead node; past it the relay ends.
 *
 * Lifetime: from `EdgeRelay.open` (broadcast made, first pipe opened) to the end of its broadcast: the origin
 * said the broadcast ended (viewers told), the grace period ran out, or `close()` (no viewer left, this node
 * became the stream's origin, shutdown: `quiet`, viewers not told). Ending closes the pipe (the origin is
 * told) and stops the watch.
 *
 * Guards, and why:
 * - Every change (pipe events, the watch's findings) runs in one chain, in order: a resume and a release
 *   never interleave.
 * - The watch asks Redis once a second; while Redis does not answer it changes nothing (the pipe's media
 *   needs no Redis: live viewers keep playing through an outage).
 */
import type { types } from 'mediasoup';
import { SOURCES, type Source } from '../../shared/signaling.js';
import { Broadcast, type PublisherLease } from '../live/Broadcast.js';
import type { Logger } from '../log/logger.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import type { EdgePipe } from './EdgePipe.js';
import type { EdgePipes } from './EdgePipes.js';
import type { OriginHolder } from './OriginLeases.js';

/** The relay's publisher: the pipe (whichever pipe feeds it now). */
const PIPE_PUBLISHER = 'origin-pipe';
export const RELAY_WATCH_MS = 1_000;
/** Looks in a row that must find the pipe's origin not alive before the pipe is given up. */
const ORIGIN_MISSES = 2;

export interface EdgeRelayOptions {
  streamId: string;
  pool: WorkerPool;
  /** How long the relay waits for its origin to come back (the origin's grace + the time to see it gone). */
  graceMs: number;
  maxWebrtcViewers: number;
  pipes: EdgePipes;
  /** The stream's origin lease now (throws while Redis does not answer). */
  originOf: (streamId: string) => Promise<OriginHolder | undefined>;
  /** Whether the node is alive in the registry (throws while Redis does not answer). */
  isAlive: (nodeId: string) => Promise<boolean>;
  /** This node's id. */
  selfId: string;
  /**
   * Hands the relay's broadcast to the viewer events before its first pipe opens (Broadcasts.adoptRelay), so
   * that viewers already waiting hear its first producers. `quiet()`: its end is not to be told.
   */
  adopt: (broadcast: Broadcast, quiet: () => boolean) => void;
  logger: Logger;
  watchMs?: number;
}

export class EdgeRelay {
  readonly streamId: string;
  readonly broadcast: Broadcast;
  readonly #o: EdgeRelayOptions;
  readonly #log: Logger;
  #lease: PublisherLease;
  #pipe: EdgePipe | undefined;
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #quiet = false;
  /** Looks in a row that found the pipe's origin not alive. */
  #misses = 0;

  private constructor(o: EdgeRelayOptions, broadcast: Broadcast, lease: PublisherLease) {
    this.#o = o;
    this.streamId = o.streamId;
    this.broadcast = broadcast;
    this.#lease = lease;
    this.#log = o.logger.child({ component: 'relay', streamId: o.streamId });
    broadcast.once('ended', ({ reason }) => {
      clearInterval(this.#timer);
      void this.#pipe?.close(`the relay ended: ${reason}`);
      this.#log.info({ reason, quiet: this.#quiet }, 'relay ended');
    });
  }

  /** A relay fed by a pipe from `origin`; throws (nothing left open) when the pipe cannot be opened. */
  static async open(o: EdgeRelayOptions): Promise<EdgeRelay> {
    const { broadcast, lease } = await Broadcast.create(o.streamId, PIPE_PUBLISHER, {
      pool: o.pool,
      graceMs: o.graceMs,
      maxWebrtcViewers: o.maxWebrtcViewers,
      logger: o.logger,
    });
    const relay = new EdgeRelay(o, broadcast, lease);
    o.adopt(broadcast, () => relay.#quiet);
    try {
      await relay.#pipeFromOrigin();
    } catch (err) {
      await relay.close('the relay could not be opened', { quiet: true });
      throw err;
    }
    relay.#timer = setInterval(() => relay.#step(() => relay.#watch()), o.watchMs ?? RELAY_WATCH_MS);
    relay.#timer.unref();
    return relay;
  }

  /** Ends the relay; `quiet`: its viewers are not told (none left, the node became the origin, shutdown). */
  close(reason: string, { quiet = false } = {}): Promise<void> {
    if (!this.broadcast.ended) this.#quiet = quiet;
    return this.broadcast.end(reason);
  }

  #step(work: () => Promise<void>): void {
    this.#chain = this.#chain.then(work).catch((err: Error) => {
      this.#log.warn({ err: err.message }, 'relay step failed');
    });
  }

  /** The watch: the pipe's origin still the stream's and alive; else a new pipe from the new origin. */
  async #watch(): Promise<void> {
    if (this.broadcast.ended) return;
    const pipe = this.#pipe && !this.#pipe.closed ? this.#pipe : undefined;
    let holder: OriginHolder | undefined;
    let holderAlive: boolean;
    let originAlive: boolean;
    try {
      holder = await this.#o.originOf(this.streamId);
      holderAlive = holder !== undefined && (await this.#o.isAlive(holder.nodeId));
      originAlive = pipe ? (pipe.origin.nodeId === holder?.nodeId ? holderAlive : await this.#o.isAlive(pipe.origin.nodeId)) : false;
    } catch {
      return; // Redis unreachable: change nothing.
    }
    if (holder?.nodeId === this.#o.selfId) return void (await this.close('this node is the stream origin now', { quiet: true }));
    if (pipe) {
      // The pipe's origin is replaced (another node or token holds the lease), or silent for two looks in a
      // row (one miss may be a registry just restarted and not yet rewritten). No lease at all with the
      // origin alive is not a loss: an end is told through the pipe, and an expired lease is taken again.
      const replaced = holder !== undefined && (holder.nodeId !== pipe.origin.nodeId || holder.token !== pipe.token);
      this.#misses = originAlive ? 0 : this.#misses + 1;
      if (!replaced && this.#misses < ORIGIN_MISSES) return;
      this.#log.warn({ origin: pipe.origin.nodeId, holder, originAlive }, 'the origin of the pipe is gone; waiting for the next one');
      this.#lost(pipe);
      await pipe.close('the origin is gone');
    }
    if (holder && holderAlive && !this.broadcast.ended) {
      await this.#pipeFromOrigin().catch((err: Error) => this.#log.warn({ err: err.message }, 'could not pipe from the new origin yet'));
    }
  }

  async #pipeFromOrigin(): Promise<void> {
    // The relay's router died with its worker: a new one first (resume makes it).
    if (this.broadcast.router.closed && !this.#lease.held) this.#lease = await this.broadcast.resume(PIPE_PUBLISHER);
    const pipe = await this.#o.pipes.open(this.streamId, this.broadcast.router);
    if (this.broadcast.ended) return void (await pipe.close('the relay ended'));
    this.#pipe = pipe;
    this.#misses = 0;
    pipe.on('producers', () => this.#step(() => this.#sync()));
    pipe.on('state', () => this.#step(() => this.#sync()));
    pipe.once('closed', ({ reason, ended }) =>
      this.#step(async () => {
        // Already dropped (the watch found its origin gone): a newer pipe may feed the relay by now.
        if (this.#pipe !== pipe) return;
        if (ended) return void (await this.broadcast.end(reason));
        this.#lost(pipe);
      }),
    );
    this.#log.info({ origin: pipe.origin.nodeId, token: pipe.token, producers: pipe.producers().length, state: pipe.state }, 'relay piped from the origin');
    await this.#sync();
  }

  /** The pipe is lost without an end: the relay waits (grace period) for the watch to find the next origin. */
  #lost(pipe: EdgePipe): void {
    if (this.#pipe === pipe) this.#pipe = undefined;
    if (!this.broadcast.ended && this.#lease.held) this.#lease.release();
  }

  /** The relay's state and producers follow the pipe's. */
  async #sync(): Promise<void> {
    const pipe = this.#pipe;
    if (!pipe || pipe.closed || this.broadcast.ended) return;
    if (pipe.state === 'reconnecting') {
      if (this.#lease.held) this.#lease.release();
      return;
    }
    // Nothing new (a relay waiting for its origin stays `reconnecting` until media comes again).
    if (!pipe.producers().some((p) => !p.closed && !this.broadcast.producer(p.id))) return;
    if (!this.#lease.held) this.#lease = await this.broadcast.resume(PIPE_PUBLISHER);
    for (const p of pipe.producers()) {
      if (!p.closed && !this.broadcast.producer(p.id)) this.broadcast.addProducer(this.#lease, p, sourceOf(p));
    }
  }
}

const sourceOf = (p: types.Producer): Source => {
  const s = p.appData.source;
  return typeof s === 'string' && (SOURCES as readonly string[]).includes(s) ? (s as Source) : p.kind === 'video' ? 'camera' : 'microphone';
};
