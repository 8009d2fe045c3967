/**
 * The edge's side of the pipes: `open(streamId, router)` finds the stream's origin (its lease in Redis, its
 * node in the registry), asks it for a pipe over the internal API and makes the origin's producers in
 * `router` with their ids; the origin's later changes arrive at `POST /internal/pipes/:pipeId/update`.
 *
 * Refused (the pipe closed, an error thrown): no origin for the stream (not live anywhere), an origin node
 * not alive in the registry, an answer whose token is not the lease's current token (a stale origin
 * answering), an origin media address that is not that node's registered address and pipe range (a node
 * never sends media to an unregistered address). Updates: from a node other than the pipe's origin → 403;
 * with another token → 409 (fencing); for an unknown pipe → 404 (the origin then closes its end).
 *
 * One pipe per (stream, edge node): `open` shares an opening or open pipe of the stream.
 *
 * Lifetime: each pipe is forgotten when it closes; `close()` closes them all (shutdown), telling the origins.
 */
import crypto from 'node:crypto';
import type { types } from 'mediasoup';
import { ApiError } from '../http/ApiError.js';
import type { Logger } from '../log/logger.js';
import { EdgePipe } from './EdgePipe.js';
import type { InternalApi } from './InternalApi.js';
import type { InternalClient } from './InternalClient.js';
import type { NodeRegistry } from './NodeRegistry.js';
import type { OriginHolder } from './OriginLeases.js';
import { okSchema, openPipeAnswerSchema, pipeIdSchema, pipeUpdateSchema } from './pipeSchemas.js';
import { tupleOf, type PipeTransports } from './PipeTransports.js';

/** Where the stream's origin lease points now (OriginLeases.current). */
export type OriginOf = (streamId: string) => Promise<OriginHolder | undefined>;

export interface EdgePipesOptions {
  api: InternalApi;
  originOf: OriginOf;
  registry: NodeRegistry;
  transports: PipeTransports;
  client: InternalClient;
  logger: Logger;
}

/** The stream has no origin that can feed this edge now. */
export class NoOriginError extends Error {
  override name = 'NoOriginError';
}

export class EdgePipes {
  readonly #o: EdgePipesOptions;
  /** By pipe id. */
  readonly #pipes = new Map<string, EdgePipe>();
  /** By stream id: the pipe being opened or open. */
  readonly #opening = new Map<string, { router: types.Router; pipe: Promise<EdgePipe> }>();

  constructor(o: EdgePipesOptions) {
    this.#o = o;
    o.api.post('/pipes/:pipeId/update', pipeUpdateSchema, async (update, ctx) => {
      const pipeId = pipeIdSchema.safeParse(ctx.params.pipeId);
      if (!pipeId.success) throw new ApiError('validation_failed', 'invalid pipe id');
      const pipe = this.#pipes.get(pipeId.data);
      if (!pipe) throw new ApiError('not_found', `no pipe ${pipeId.data} on this node`);
      if (ctx.nodeId !== pipe.origin.nodeId) throw new ApiError('forbidden', `pipe ${pipe.pipeId} is fed by another node`);
      if (update.token !== pipe.token) throw new ApiError('conflict', `lease token ${update.token} is not this pipe's (${pipe.token}): a stale origin`);
      await pipe.apply(update);
      return { ok: true };
    });
  }

  /** Open pipes (stats and tests). */
  get size(): number {
    return this.#pipes.size;
  }

  /** The stream's pipe into this node, while it is open. */
  pipeOf(streamId: string): EdgePipe | undefined {
    for (const pipe of this.#pipes.values()) if (pipe.streamId === streamId && !pipe.closed) return pipe;
    return undefined;
  }

  /**
   * The pipe of stream `streamId` from its origin into `router` (on this node). One per stream and node:
   * while one is open or opening, the same router gets it (concurrent first viewers share one opening), and
   * another router is refused. mediasoup refuses a producer id twice in one worker, and the edge's viewers
   * are spread over its workers from this one router (ViewerRouters), as on the origin.
   */
  open(streamId: string, router: types.Router): Promise<EdgePipe> {
    const current = this.#opening.get(streamId);
    if (current) {
      if (current.router !== router) return Promise.reject(new Error(`stream ${streamId} is already piped into another router of this node`));
      return current.pipe;
    }
    const opening = { router, pipe: this.#open(streamId, router) };
    this.#opening.set(streamId, opening);
    const forget = () => this.#opening.get(streamId) === opening && this.#opening.delete(streamId);
    opening.pipe.then((pipe) => (pipe.closed ? forget() : pipe.once('closed', forget)), forget);
    return opening.pipe;
  }

  async #open(streamId: string, router: types.Router): Promise<EdgePipe> {
    const { registry, client, transports, logger } = this.#o;
    const holder = await this.#o.originOf(streamId);
    if (!holder) throw new NoOriginError(`stream ${streamId} has no origin`);
    if (holder.nodeId === registry.nodeId) throw new NoOriginError(`this node is the origin of stream ${streamId}`);
    const node = await registry.node(holder.nodeId);
    if (!node) throw new NoOriginError(`the origin of stream ${streamId} (${holder.nodeId}) is not alive`);
    const pipeId = crypto.randomBytes(12).toString('base64url');
    const transport = await transports.create(router, { streamId, pipeFrom: node.id });
    const origin = { nodeId: node.id, url: node.url };
    let asked = false;
    const pipe = new EdgePipe({
      streamId,
      pipeId,
      origin,
      router,
      transport,
      logger,
      leave: async () => {
        if (asked) await client.request(origin.url, 'DELETE', `/internal/pipes/${pipeId}`, {}, okSchema);
      },
    });
    this.#pipes.set(pipeId, pipe);
    pipe.once('closed', () => this.#pipes.get(pipeId) === pipe && this.#pipes.delete(pipeId));
    try {
      asked = true;
      const answer = await client.request(origin.url, 'POST', '/internal/pipes', { streamId, pipeId, edge: tupleOf(transport) }, openPipeAnswerSchema);
      if (answer.token !== holder.token) throw new NoOriginError(`node ${node.id} answered with lease token ${answer.token}, the stream's is ${holder.token}`);
      if (!(await registry.isRegisteredAddress(answer.origin.ip, answer.origin.port, node.id))) {
        throw new Error(`${answer.origin.ip}:${answer.origin.port} is not a media address of node ${node.id}`);
      }
      await pipe.open(answer.token, answer.origin, answer.producers, answer.state);
      return pipe;
    } catch (err) {
      await pipe.close(`could not open: ${(err as Error).message}`);
      throw err;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pipes.values()].map((p) => p.close('the edge node is shutting down')));
  }
}

