/**
 * Every live broadcast and every stream's audience, by stream id. The catalogue's view of live state
 * (LiveState) and the one place that moves a stream's status between idle/live/ended in the store.
 * Events are re-emitted with the stream id, for the signaling server to fan out to viewers.
 *
 * Each new broadcast gets its outputs from the `outputs` factories (the HLS bridge, and what comes: restreams,
 * cluster edges): the broadcast owns them from then on (see Broadcast).
 *
 * A new broadcast is announced to its viewers (`producers`, none yet) as soon as it exists: the player of a
 * viewer waiting for it prepares its receive transport while the publisher makes its producers.
 *
 * Starting is where ownership crosses awaits, so `start` checks the caller's signal after each: a publisher
 * whose connection closed while its broadcast was being made or resumed never holds it (a new broadcast is
 * ended at once, a resumed one waits for its publisher again). A start while the stream's previous broadcast
 * is still ending waits for that end to finish, then starts anew: an encoder that reconnects at once, or a
 * studio that goes live again right after End, succeeds.
 *
 * Cluster mode (`useCluster`, docs/cluster.md; absent on one machine): a new broadcast is made only under the
 * stream's origin lease (`claimOrigin`, before the router), and viewers of a stream live on another node
 * watch a relay: a Broadcast on this node fed by one pipe from the origin (server/cluster/EdgeRelay.ts),
 * with the same viewer-facing surface. Relays are not this node's broadcasts: they are not in `get()`, never
 * move the stream's status and never emit `started`/`ended` (webhooks, status); their viewer events
 * (producers, reconnecting, receivers lost) are emitted like a broadcast's, and their end as `relayended`.
 */
import { EventEmitter } from 'node:events';
import { KeyedSerial } from '../limits/KeyedSerial.js';
import type { BroadcastState, ProducerInfo } from '../../shared/signaling.js';
import type { LiveState } from '../http/Services.js';
import type { Logger } from '../log/logger.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import type { StreamStore } from '../store/sql/StreamStore.js';
import { Broadcast, type PublisherLease } from './Broadcast.js';
import type { BroadcastOutput } from './BroadcastOutput.js';
import { LocalAudienceCounts, type AudienceChange, type AudienceCounts } from './AudienceCounts.js';
import { LiveError, ownerGone } from './LiveError.js';
import type { LostReceiver } from './ViewerRouters.js';

export interface BroadcastsEvents {
  producers: [{ streamId: string; session: string; state: BroadcastState; producers: ProducerInfo[] }];
  /** A new broadcast made the stream live (not a publisher resuming one: the stream stayed live). */
  started: [{ streamId: string; broadcastId: string; publisher: string }];
  reconnecting: [{ streamId: string; broadcastId: string; graceMs: number }];
  ended: [{ streamId: string; broadcastId: string; reason: string }];
  receiverslost: [{ streamId: string; receivers: LostReceiver[] }];
  /** A relay's broadcast ended (the origin's ended): its viewers here are told. */
  relayended: [{ streamId: string; broadcastId: string; reason: string }];
  viewers: [{ streamId: string; count: number }];
  updated: [{ streamId: string }];
}

/** The origin lease a new broadcast of this node is made under (server/cluster/OriginClaims.ts). */
export interface OriginClaimHandle {
  /** It continues a broadcast whose origin node died (the publisher presented the resume key). */
  readonly takenOver: boolean;
  /** Whether this node still holds the stream's origin lease. */
  readonly current: boolean;
  /** Ties the lease to the broadcast made under it: released when it ends; its loss ends it. */
  bind(broadcast: Broadcast): void;
  /** The broadcast could not be made: the lease is given back. */
  abandon(): void;
}

/** What the live layer needs of cluster mode (server/cluster). */
export interface LiveCluster {
  /** Takes the stream's origin lease (LiveError 'stream_busy' while another alive node holds it). */
  claimOrigin(streamId: string, opts: { resumeKey?: string; signal?: AbortSignal }): Promise<OriginClaimHandle>;
  /** This node's relay of a stream live on another node, if it has one. */
  relay(streamId: string): Broadcast | undefined;
  /** The relay, opened if the stream is live on another node; undefined when it is live on none. */
  openRelay(streamId: string): Promise<Broadcast | undefined>;
  /** This node's audience of the stream changed (an edge without viewers lets its relay go). */
  audienceChanged(streamId: string, count: number): void;
}

/** Makes one output for a new broadcast of `streamId` (undefined: none, e.g. HLS turned off). */
export type OutputFactory = (streamId: string) => BroadcastOutput | undefined;

export interface StartOptions {
  /** The resume key of the broadcast, presented by its publisher reconnecting on a new connection. */
  resumeKey?: string;
  /** Aborted when the requester's connection closes. */
  signal?: AbortSignal;
}

export class Broadcasts extends EventEmitter<BroadcastsEvents> implements LiveState {
  readonly #live = new Map<string, Broadcast>();
  readonly #starting = new Map<string, Promise<unknown>>();
  readonly #audience = new Map<string, Set<string>>();
  readonly #pool: WorkerPool;
  readonly #streams: StreamStore;
  readonly #logger: Logger;
  readonly #graceMs: number;
  readonly #maxWebrtcViewers: number;
  readonly #outputs: OutputFactory[] = [];
  /** A stream's status writes (live, ended), one at a time in the order of the events (see start). */
  readonly #statusWrites = new KeyedSerial();
  #cluster: LiveCluster | undefined;
  /** Viewer totals: this node's (one machine) or every node's (cluster mode, RedisAudienceCounts). */
  #counts: AudienceCounts;
  #unsubscribeCounts: () => void;
  readonly #countChanged = ({ streamId, total }: AudienceChange) => this.emit('viewers', { streamId, count: total });

  constructor(opts: { pool: WorkerPool; streams: StreamStore; logger: Logger; graceMs: number; maxWebrtcViewers: number; audience?: AudienceCounts }) {
    super();
    this.#counts = opts.audience ?? new LocalAudienceCounts();
    this.#unsubscribeCounts = this.#counts.onChange(this.#countChanged);
    this.#pool = opts.pool;
    this.#streams = opts.streams;
    this.#logger = opts.logger.child({ component: 'broadcasts' });
    this.#graceMs = opts.graceMs;
    this.#maxWebrtcViewers = opts.maxWebrtcViewers;
  }

  /** Registers an output factory: every broadcast started from now on gets one output from it. */
  addOutputFactory(factory: OutputFactory): void {
    this.#outputs.push(factory);
  }

  /** Cluster mode: set once, by the composition root, before the server serves. */
  useCluster(cluster: LiveCluster): void {
    this.#cluster = cluster;
  }

  /** The stream's broadcast on this node (its origin), while it is live or ending. */
  get(streamId: string): Broadcast | undefined {
    return this.#live.get(streamId);
  }

  /** What this node's viewers of the stream watch now: its broadcast here, else its relay (cluster mode). */
  viewable(streamId: string): Broadcast | undefined {
    const own = this.#live.get(streamId);
    if (own && !own.ended) return own;
    const relay = this.#cluster?.relay(streamId);
    return relay && !relay.ended ? relay : undefined;
  }

  /** `viewable`, opening a relay when the stream is live on another node (cluster mode). */
  async watch(streamId: string): Promise<Broadcast | undefined> {
    return this.viewable(streamId) ?? (await this.#cluster?.openRelay(streamId));
  }

  /**
   * Hands a relay's broadcast to the viewer events (called by cluster mode's relays). `quiet()` at its end:
   * true when its viewers must not be told it ended (it gave way to a broadcast of this node, no viewer
   * was left, the node shuts down).
   */
  adoptRelay(b: Broadcast, quiet: () => boolean): void {
    const streamId = b.streamId;
    this.#viewerEvents(b);
    b.once('ended', ({ reason }) => {
      if (!quiet()) this.emit('relayended', { streamId, broadcastId: b.id, reason });
    });
  }

  /**
   * Resolves once the status writes of the stream queued so far (live at a start, ended at an end) are done:
   * a reader of the stream's record after `started`/`ended` waits for it to see the new status.
   */
  statusSettled(streamId: string): Promise<void> {
    return this.#statusWrites.run(streamId, async () => undefined);
  }

  get liveCount(): number {
    return this.#live.size;
  }

  /**
   * Starts a broadcast, or resumes one that waits for its publisher; the caller gets the publisher lease.
   * Refused with LiveError('stream_busy') while another publisher sends this stream, unless the caller
   * presents the resume key (the same publisher reconnecting before its old connection was noticed as gone);
   * with LiveError('connection_closed') when `signal` aborted meanwhile (nothing is left held).
   */
  async start(streamId: string, publisher: string, opts: StartOptions = {}): Promise<{ broadcast: Broadcast; lease: PublisherLease; resumed: boolean }> {
    for (;;) {
      const pending = this.#starting.get(streamId);
      if (pending) await pending.catch(() => undefined);
      if (opts.signal?.aborted) throw ownerGone('broadcast:start');
      // Every turn: the stream may have been deleted while this start waited (its broadcast ended with it).
      if (!(await this.#streams.byId(streamId))) throw new LiveError('broadcast_ended', 'the stream was deleted');
      if (opts.signal?.aborted) throw ownerGone('broadcast:start');
      const existing = this.#live.get(streamId);
      if (existing?.ended) {
        // Its end is under way (outputs finishing): start anew once it is over.
        await existing.end('ended');
        continue;
      }
      if (existing) {
        if (existing.publisher && existing.publisher !== publisher && opts.resumeKey !== existing.resumeKey) {
          throw new LiveError('stream_busy', 'this stream is already being broadcast from another connection');
        }
        let lease: PublisherLease;
        try {
          lease = await this.#guarded(streamId, existing.resume(publisher));
        } catch (err) {
          // Ended while resuming: start anew.
          if (err instanceof LiveError && err.reason === 'broadcast_ended') continue;
          throw err;
        }
        if (opts.signal?.aborted) {
          lease.release();
          throw ownerGone('broadcast:start');
        }
        this.#logger.info({ streamId, publisher }, 'broadcast resumed');
        return { broadcast: existing, lease, resumed: true };
      }
      // The origin lease (cluster mode) and the router in one guarded step: a concurrent start waits for both.
      const { broadcast, lease, claim } = await this.#guarded(streamId, this.#create(streamId, publisher, opts));
      if (!(await this.#streams.byId(streamId))) {
        // Deleted while the broadcast was being made: its deletion found nothing live to end.
        broadcast.router.close();
        claim?.abandon();
        throw new LiveError('broadcast_ended', 'the stream was deleted');
      }
      this.#attach(broadcast, claim);
      claim?.bind(broadcast);
      // Viewers waiting for the stream hear of the new broadcast (no producers yet) now, not after the status
      // write and the publisher's transport and `produce`: they make their receive transports meanwhile.
      this.emit('producers', { streamId, session: broadcast.session, state: broadcast.state, producers: [] });
      // Written in turn with the 'ended' of its end (#statusWrites): a broadcast that ends while this write
      // runs leaves the stream ended, whichever connection of a pool runs which write.
      try {
        await this.#statusWrites.run(streamId, () => this.#streams.setStatus(streamId, 'live'));
      } catch (err) {
        void broadcast.end('the stream could not be marked live');
        throw err;
      }
      if (broadcast.ended) throw new LiveError('broadcast_ended', 'the broadcast ended while it was starting');
      this.#logger.info({ streamId, publisher, takenOver: claim?.takenOver }, 'broadcast started');
      // A takeover continues the stream (its status stayed live): no second "started".
      if (!claim?.takenOver) this.emit('started', { streamId, broadcastId: broadcast.id, publisher });
      for (const make of this.#outputs) {
        const output = make(streamId);
        if (output) broadcast.addOutput(output);
      }
      if (opts.signal?.aborted) {
        void broadcast.end('the broadcaster left before going live');
        throw ownerGone('broadcast:start');
      }
      return { broadcast, lease, resumed: claim?.takenOver ?? false };
    }
  }

  /** A new broadcast, made (cluster mode) under the stream's origin lease. */
  async #create(streamId: string, publisher: string, opts: StartOptions): Promise<{ broadcast: Broadcast; lease: PublisherLease; claim: OriginClaimHandle | undefined }> {
    // One machine: no claim, and no await before the router (the path is exactly as before cluster mode).
    const claim = this.#cluster ? await this.#cluster.claimOrigin(streamId, { resumeKey: opts.resumeKey, signal: opts.signal }) : undefined;
    try {
      const made = await Broadcast.create(streamId, publisher, {
        pool: this.#pool,
        graceMs: this.#graceMs,
        maxWebrtcViewers: this.#maxWebrtcViewers,
        logger: this.#logger,
      });
      return { ...made, claim };
    } catch (err) {
      claim?.abandon();
      throw err;
    }
  }

  /** Runs one start step of a stream; other starts of the stream wait for it. */
  async #guarded<T>(streamId: string, step: Promise<T>): Promise<T> {
    this.#starting.set(streamId, step);
    try {
      return await step;
    } finally {
      if (this.#starting.get(streamId) === step) this.#starting.delete(streamId);
    }
  }

  /** Ends the stream's broadcast, if any; settles when it has ended. */
  async endBroadcast(streamId: string, reason: string): Promise<void> {
    await this.#live.get(streamId)?.end(reason);
  }

  metadataChanged(streamId: string): void {
    this.emit('updated', { streamId });
  }

  /**
   * Cluster mode: viewers counted through `counts` (RedisAudienceCounts: every node's) from now on. Called at
   * start, before any viewer (what the previous counter held is not carried over).
   */
  useAudience(counts: AudienceCounts): void {
    this.#unsubscribeCounts();
    this.#counts = counts;
    this.#unsubscribeCounts = counts.onChange(this.#countChanged);
  }

  /** The stream's viewers on every node (on one machine: this node's). */
  viewerCount(streamId: string): number {
    return this.#counts.total(streamId);
  }

  /** Viewers of every stream on this node (metrics, the node registry's load). */
  get totalViewers(): number {
    let n = 0;
    for (const a of this.#audience.values()) n += a.size;
    return n;
  }

  addViewer(streamId: string, viewer: string): void {
    let a = this.#audience.get(streamId);
    if (!a) this.#audience.set(streamId, (a = new Set()));
    if (a.has(viewer)) return;
    a.add(viewer);
    this.#counts.setLocal(streamId, a.size);
    this.#cluster?.audienceChanged(streamId, a.size);
  }

  removeViewer(streamId: string, viewer: string): void {
    const a = this.#audience.get(streamId);
    if (!a?.delete(viewer)) return;
    if (a.size === 0) this.#audience.delete(streamId);
    this.#counts.setLocal(streamId, a.size);
    this.#cluster?.audienceChanged(streamId, a.size);
  }

  /** Ends every broadcast (shutdown). */
  async endAll(reason: string): Promise<void> {
    await Promise.all([...this.#live.values()].map((b) => b.end(reason)));
  }

  #attach(b: Broadcast, claim: OriginClaimHandle | undefined): void {
    const streamId = b.streamId;
    this.#live.set(streamId, b);
    this.#viewerEvents(b);
    b.once('ended', ({ reason }) => {
      if (this.#live.get(streamId) === b) this.#live.delete(streamId);
      // Another node took the stream over (this one was a stale origin): the stream did not end.
      if (claim && !claim.current) {
        this.#logger.warn({ streamId, reason }, 'broadcast given up: the stream moved to another node');
        return;
      }
      // The stream may have been deleted: setStatus on a missing row does nothing.
      const written = this.#statusWrites.run(streamId, () => this.#streams.setStatus(streamId, 'ended')).catch((err: Error) => {
        this.#logger.error({ streamId, err: err.message }, 'could not mark the stream ended');
      });
      // Whoever awaits the end (broadcast:stop, WHIP DELETE) answers once the status says ended.
      b.afterEnd(written);
      this.#logger.info({ streamId, reason }, 'broadcast ended');
      this.emit('ended', { streamId, broadcastId: b.id, reason });
    });
  }

  /** The events viewers of `b` hear (a broadcast of this node or a relay). */
  #viewerEvents(b: Broadcast): void {
    const streamId = b.streamId;
    b.on('producers', (producers) => this.emit('producers', { streamId, session: b.session, state: b.state, producers }));
    b.on('reconnecting', ({ graceMs }) => {
      this.#logger.warn({ streamId, graceMs }, 'broadcaster dropped; waiting for them to come back');
      this.emit('reconnecting', { streamId, broadcastId: b.id, graceMs });
    });
    b.on('receiverslost', (receivers) => {
      this.#logger.warn({ streamId, viewers: receivers.length }, 'a worker carrying viewers died; telling them to reconnect');
      this.emit('receiverslost', { streamId, receivers });
    });
  }
}
