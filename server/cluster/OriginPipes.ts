/**
 * The origin's side of the pipe routes: an edge asks for a stream (`POST /internal/pipes`), gets an EdgeFeed
 * handed to the stream's broadcast, and may give it up (`DELETE /internal/pipes/:pipeId`).
 *
 * Refused: a stream this node is not the origin of (404 not_live: the edge looks the origin up again), a
 * lease that is no longer current (409: fencing), an edge whose media address is not the signing node's
 * registered address and pipe range (403: a node never sends media to an unregistered address), a pipe id
 * the edge already uses (409).
 *
 * Lifetime: every feed is forgotten when it closes (broadcast ended, edge left, lease lost); `close()` closes
 * them all (shutdown).
 */
import { ApiError } from '../http/ApiError.js';
import type { BroadcastMedia, BroadcastOutput } from '../live/BroadcastOutput.js';
import type { Logger } from '../log/logger.js';
import { EdgeFeed } from './EdgeFeed.js';
import type { InternalApi } from './InternalApi.js';
import type { InternalClient } from './InternalClient.js';
import type { NodeRegistry } from './NodeRegistry.js';
import type { OriginLease } from './OriginLeases.js';
import { emptySchema, okSchema, openPipeRequestSchema, pipeIdSchema, type OpenPipeAnswer } from './pipeSchemas.js';
import type { PipeTransports } from './PipeTransports.js';

/** What a feed needs of a broadcast (Broadcast satisfies it). */
export interface FedBroadcast {
  readonly ended: boolean;
  media(): BroadcastMedia;
  addOutput(output: BroadcastOutput): () => void;
}

/** The stream's broadcast on this node and the origin lease it runs under; undefined when not here. */
export type OriginLookup = (streamId: string) => { broadcast: FedBroadcast; lease: OriginLease } | undefined;

export interface OriginPipesOptions {
  api: InternalApi;
  lookup: OriginLookup;
  registry: NodeRegistry;
  transports: PipeTransports;
  client: InternalClient;
  logger: Logger;
}

export class OriginPipes {
  readonly #o: OriginPipesOptions;
  /** By "<edge node id>/<pipe id>". */
  readonly #feeds = new Map<string, EdgeFeed>();
  readonly #byLease = new Map<OriginLease, Set<EdgeFeed>>();
  readonly #leaseListeners = new Map<OriginLease, () => void>();

  constructor(o: OriginPipesOptions) {
    this.#o = o;
    o.api.post('/pipes', openPipeRequestSchema, async (req, ctx) => {
      const key = `${ctx.nodeId}/${req.pipeId}`;
      if (this.#feeds.has(key)) throw new ApiError('conflict', `pipe ${req.pipeId} is already open`);
      const here = o.lookup(req.streamId);
      if (!here || here.broadcast.ended) throw new ApiError('not_found', `this node is not the origin of stream ${req.streamId}`);
      const { broadcast, lease } = here;
      await lease.assertCurrent('pipe:open');
      const edgeNode = await o.registry.node(ctx.nodeId);
      if (!edgeNode || !(await o.registry.isRegisteredAddress(req.edge.ip, req.edge.port, ctx.nodeId))) {
        throw new ApiError('forbidden', `${req.edge.ip}:${req.edge.port} is not a media address of node ${ctx.nodeId}`);
      }
      const feed = await EdgeFeed.create({
        streamId: req.streamId,
        pipeId: req.pipeId,
        edgeNodeId: ctx.nodeId,
        router: broadcast.media().router,
        edge: req.edge,
        transports: o.transports,
        fence: lease,
        notify: (update) => o.client.request(edgeNode.url, 'POST', `/internal/pipes/${req.pipeId}/update`, update, okSchema).then(() => undefined),
        logger: o.logger,
      });
      this.#feeds.set(key, feed);
      this.#underLease(lease, feed);
      let detach: (() => void) | undefined;
      feed.onClose(() => {
        if (this.#feeds.get(key) === feed) this.#feeds.delete(key);
        detach?.();
      });
      try {
        // Refused (and the feed closed) when the broadcast ended meanwhile.
        detach = broadcast.addOutput(feed);
        const { producers, state } = await feed.initial();
        // Fencing again after the awaits: a lease lost meanwhile must not answer as origin.
        await lease.assertCurrent('pipe:open');
        const answer: OpenPipeAnswer = { token: lease.token, origin: feed.tuple, producers, state };
        return answer;
      } catch (err) {
        await feed.close('the pipe could not be opened', { ended: false });
        throw err;
      }
    });
    o.api.delete('/pipes/:pipeId', emptySchema, async (_body, ctx) => {
      const pipeId = pipeIdSchema.safeParse(ctx.params.pipeId);
      if (!pipeId.success) throw new ApiError('validation_failed', 'invalid pipe id');
      const feed = this.#feeds.get(`${ctx.nodeId}/${pipeId.data}`);
      if (!feed) throw new ApiError('not_found', `no pipe ${pipeId.data} from node ${ctx.nodeId}`);
      await feed.close('the edge left', { tellEdge: false });
      return { ok: true };
    });
  }

  /**
   * Closes `feed` when `lease` is lost. One listener per lease for all its feeds (a popular stream has an edge
   * per node), removed when the last of them closes.
   */
  #underLease(lease: OriginLease, feed: EdgeFeed): void {
    let feeds = this.#byLease.get(lease);
    if (!feeds) {
      const set = new Set<EdgeFeed>();
      feeds = set;
      const lost = () => {
        for (const f of [...set]) void f.close('this node is no longer the stream origin', { ended: false });
      };
      lease.once('lost', lost);
      this.#byLease.set(lease, set);
      this.#leaseListeners.set(lease, lost);
    }
    feeds.add(feed);
    feed.onClose(() => {
      feeds.delete(feed);
      if (feeds.size > 0 || this.#byLease.get(lease) !== feeds) return;
      this.#byLease.delete(lease);
      const lost = this.#leaseListeners.get(lease);
      this.#leaseListeners.delete(lease);
      if (lost) lease.off('lost', lost);
    });
  }

  /** Open feeds (stats and tests). */
  get size(): number {
    return this.#feeds.size;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#feeds.values()].map((f) => f.close('the origin node is shutting down', { ended: false })));
  }
}
