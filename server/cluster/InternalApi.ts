/**
 * The node-to-node HTTP API (mounted by the app at `/internal`, outside `/api`): every request must carry a
 * valid signature by the cluster secret (requestSignature.ts), or it is refused with 401 and a JSON error
 * before any route runs. Routes declare a zod schema for their body; what passes is handed to the handler.
 *
 * Refused (401 unauthorized), in this order:
 * - a signature header missing or malformed (node id, timestamp, nonce, signature);
 * - a timestamp more than 30 s from this node's clock (a captured request is useless after that);
 * - a signature that does not match (constant-time comparison);
 * - a nonce seen before (`SET nonce NX PX 2×30 s` in Redis, shared by every node: a replay to another node is
 *   refused too). The nonce is stored only after the signature checked out, so an unauthenticated client
 *   cannot fill Redis.
 * Then: a body that is not JSON or fails the route's schema → 400; Redis unreachable → 503 not_ready.
 *
 * Guards, and why:
 * - The body is read raw (at most 64 kB) and hashed as received: the signature covers the exact bytes, not a
 *   re-serialisation. The app must mount this router where no JSON parser ran before it (not under /api).
 * - The error handler is this router's own, so refusals have the same JSON shape wherever it is mounted.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { REASON_CODE } from '../../shared/errors.js';
import { ApiError } from '../http/ApiError.js';
import { LiveError } from '../live/LiveError.js';
import type { Logger } from '../log/logger.js';
import { StaleOriginError } from './OriginLeases.js';
import type { Redis } from './redisClient.js';
import { HEADERS, MAX_SKEW_MS, NODE_ID, NONCE, SIGNATURE, TIMESTAMP, sign, signaturesEqual } from './requestSignature.js';

export const INTERNAL_BODY_LIMIT = 64 * 1024;

export interface InternalContext {
  /** The node that signed the request. */
  nodeId: string;
  params: Record<string, string>;
}

export type InternalHandler<S extends z.ZodTypeAny> = (body: z.output<S>, ctx: InternalContext) => Promise<unknown>;

export interface InternalApiOptions {
  secret: string;
  redis: Redis;
  logger: Logger;
  prefix?: string;
}

interface Authed {
  nodeId: string;
  body: Buffer;
}

export class InternalApi {
  readonly router: Router;
  readonly #opts: InternalApiOptions;
  readonly #routes: Router;

  constructor(opts: InternalApiOptions) {
    this.#opts = opts;
    this.router = express.Router();
    this.#routes = express.Router({ mergeParams: true });
    this.router.use(express.raw({ type: () => true, limit: INTERNAL_BODY_LIMIT }));
    this.router.use((req, res, next) => void this.#authenticate(req, res).then(() => next(), next));
    this.router.use(this.#routes);
    this.router.use((req, _res, next) => next(new ApiError('not_found', `no internal route ${req.method} ${req.path}`)));
    this.router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => this.#fail(err, req, res));
  }

  /** A route taking a JSON body checked by `schema` (use z.object({}) for none). */
  post<S extends z.ZodTypeAny>(path: string, schema: S, handler: InternalHandler<S>): void {
    this.#route('post', path, schema, handler);
  }

  delete<S extends z.ZodTypeAny>(path: string, schema: S, handler: InternalHandler<S>): void {
    this.#route('delete', path, schema, handler);
  }

  #route<S extends z.ZodTypeAny>(method: 'post' | 'delete', path: string, schema: S, handler: InternalHandler<S>): void {
    this.#routes[method](path, (req, res, next) => {
      const { nodeId, body } = res.locals.internal as Authed;
      let json: unknown = {};
      if (body.length > 0) {
        try {
          json = JSON.parse(body.toString('utf8'));
        } catch {
          return next(new ApiError('bad_request', 'the body is not JSON'));
        }
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) return next(ApiError.fromZod(parsed.error, 'internal request body'));
      handler(parsed.data, { nodeId, params: req.params as Record<string, string> }).then((result) => res.json(result ?? {}), next);
    });
  }

  async #authenticate(req: Request, res: Response): Promise<void> {
    const h = (name: string): string | undefined => {
      const v = req.headers[name];
      return typeof v === 'string' ? v : undefined;
    };
    const nodeId = h(HEADERS.node);
    const timestamp = h(HEADERS.timestamp);
    const nonce = h(HEADERS.nonce);
    const signature = h(HEADERS.signature);
    if (!nodeId || !NODE_ID.test(nodeId) || !timestamp || !TIMESTAMP.test(timestamp) || !nonce || !NONCE.test(nonce) || !signature || !SIGNATURE.test(signature)) {
      throw unauthorized('missing or malformed request signature');
    }
    if (Math.abs(Date.now() - Number(timestamp)) > MAX_SKEW_MS) throw unauthorized('request timestamp is more than 30 s off');
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const expected = sign(this.#opts.secret, { method: req.method, path: req.originalUrl, timestamp: Number(timestamp), nonce, nodeId, body });
    if (!signaturesEqual(signature, expected)) throw unauthorized('bad request signature');
    let fresh: string | null;
    try {
      fresh = await this.#opts.redis.set(`${this.#opts.prefix ?? 'onair:'}nonce:${nodeId}:${nonce}`, '1', 'PX', 2 * MAX_SKEW_MS, 'NX');
    } catch (err) {
      throw new ApiError('not_ready', `cannot check the request nonce: ${(err as Error).message}`);
    }
    if (fresh !== 'OK') throw unauthorized('replayed request');
    res.locals.internal = { nodeId, body } satisfies Authed;
  }

  #fail(err: unknown, req: Request, res: Response): void {
    const apiError = toApiError(err);
    if (apiError.status >= 500) this.#opts.logger.error({ err, path: req.originalUrl }, 'internal request failed');
    else if (apiError.status === 401) this.#opts.logger.warn({ path: req.originalUrl, reason: apiError.message }, 'internal request refused');
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(apiError.status).json(apiError.body());
  }
}

const unauthorized = (message: string) => new ApiError('unauthorized', message);

interface BodyParserError extends Error {
  type?: string;
  status?: number;
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof LiveError) return new ApiError(REASON_CODE[err.reason], err.message, { reason: err.reason });
  if (err instanceof StaleOriginError) return new ApiError('conflict', err.message);
  const e = err as BodyParserError;
  if (e?.type === 'entity.too.large') return new ApiError('payload_too_large', `internal request bodies are limited to ${INTERNAL_BODY_LIMIT} bytes`);
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return new ApiError('bad_request', 'malformed request');
  return new ApiError('internal', 'internal error');
}
