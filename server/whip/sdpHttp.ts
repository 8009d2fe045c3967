/**
 * The HTTP side shared by the WHIP and WHEP endpoints (`sdpEndpointRoutes`): CORS for browser clients on
 * other origins, the rate limit on offers per address, the stream lookup, the application/sdp body
 * (bounded), answers (201 + Location + ETag), the session resource (DELETE; PATCH and other methods 405),
 * and the services' errors as ApiError (JSON `{ error, message }`).
 */
import crypto from 'node:crypto';
import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { streamIdSchema } from '../../shared/apiSchemas.js';
import { ApiError } from '../http/ApiError.js';
import { LiveError } from '../live/LiveError.js';
import type { KeyedRateLimiter } from '../limits/KeyedRateLimiter.js';
import type { StreamRecord, StreamStore } from '../store/sql/StreamStore.js';
import { WHIP_LIMITS } from './limits.js';
import { OfferError } from './OfferError.js';
import { SESSION_ID } from './sessionIds.js';

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Location, ETag, Link, Retry-After',
};

/** Every response, errors included, readable by a browser client on another origin. */
const cors: RequestHandler = (_req, res, next) => {
  res.set(CORS);
  next();
};

/** OPTIONS: the CORS preflight (and what the resource takes). */
function preflight(allow: string): RequestHandler {
  return (_req, res) => {
    res
      .status(204)
      .set({
        Allow: allow,
        'Access-Control-Allow-Methods': 'POST, DELETE, PATCH, OPTIONS',
        'Access-Control-Allow-Headers': 'Authorization, Content-Type, If-Match',
        'Access-Control-Max-Age': '86400',
        'Accept-Post': 'application/sdp',
      })
      .end();
  };
}

/** 405 with the methods the resource does take. */
function methodNotAllowed(allow: string): RequestHandler {
  return (req) => {
    throw new ApiError('method_not_allowed', `${req.method} is not allowed here: use ${allow}`, { headers: { Allow: allow } });
  };
}

/** 415 unless the body is declared application/sdp. */
const requireSdp: RequestHandler = (req, _res, next) => {
  if (!req.is('application/sdp')) throw new ApiError('unsupported_media_type', 'send the SDP offer as the body, with Content-Type: application/sdp');
  next();
};

/** The offer as a string; larger than the limit is a 413 (body-parser's error, mapped by the error handler). */
const sdpBody = express.text({ type: 'application/sdp', limit: WHIP_LIMITS.maxOfferBytes });

/** 429 with Retry-After when the client's address sends offers faster than its bucket allows. */
function rateLimited(limiter: KeyedRateLimiter): RequestHandler {
  return (req, _res, next) => {
    const decision = limiter.take(req.ip ?? req.socket.remoteAddress ?? 'unknown');
    if (!decision.ok) {
      throw new ApiError('too_many_requests', `too many offers from your address: try again in ${decision.retryAfterSeconds} s`, {
        headers: { 'Retry-After': String(decision.retryAfterSeconds) },
      });
    }
    next();
  };
}

/** The stream of `/:id`, or 404 (a malformed id is just an unknown stream). */
function findStream(byId: (id: string) => Promise<StreamRecord | undefined>) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const id = String(req.params.id ?? '');
    const stream = streamIdSchema.safeParse(id).success ? await byId(id) : undefined;
    if (!stream) throw new ApiError('not_found', `no stream ${id.slice(0, 40)}`);
    res.locals.stream = stream;
    next();
  };
}

const streamOf = (res: Response): StreamRecord => res.locals.stream as StreamRecord;

/** The session id of `/:id/sessions/:sessionId` when well-formed. */
const sessionIdOf = (req: Request): string | undefined => {
  const id = String(req.params.sessionId ?? '');
  return SESSION_ID.test(id) ? id : undefined;
};

const noSuchSession = (req: Request): ApiError => new ApiError('not_found', `no session ${String(req.params.sessionId ?? '').slice(0, 40)} on stream ${String(req.params.id ?? '').slice(0, 40)}`);

/** 201 Created with the SDP answer (exactly application/sdp: some clients compare the type literally). */
function sendAnswer(res: Response, opts: { location: string; etag: string; answer: string }): void {
  res.status(201).set({ Location: opts.location, ETag: opts.etag, 'Content-Type': 'application/sdp', 'Cache-Control': 'no-store' });
  res.end(Buffer.from(opts.answer, 'utf8'));
}

/** The WHIP/WHEP services' errors as API errors; anything else stays a 500. */
function asApiError(err: unknown): unknown {
  if (err instanceof OfferError) return new ApiError(err.problem === 'not_acceptable' ? 'not_acceptable' : 'bad_request', err.message);
  if (err instanceof LiveError) {
    // WHEP players take 503 + Retry-After for "full"; the reason says which.
    if (err.reason === 'viewers_full') return new ApiError('not_ready', err.message, { status: 503, reason: err.reason, headers: { 'Retry-After': '30' } });
    return new ApiError(err.code, err.message, { reason: err.reason });
  }
  return err;
}

/** Compares secrets in constant time (whatever their lengths). */
export function sameSecret(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

export const TRICKLE_NOT_SUPPORTED =
  'OnAir does not take trickle ICE or ICE restarts: it is an ICE-lite server and its answer already holds every candidate it has. ' +
  'Gather your candidates before the POST (or send none: the server needs none), and POST a new offer to reconnect.';

export interface SdpEndpoint {
  streams: Pick<StreamStore, 'byId'>;
  /** Offers per client address. */
  limiter: KeyedRateLimiter;
  /** Throws an ApiError (401, 403) unless the request may make a session on this stream. */
  authorize(req: Request, stream: StreamRecord): void | Promise<void>;
  /**
   * Makes the session for an offer; throws the services' errors (see asApiError). `signal` aborts when the
   * client goes away before the answer is sent: whatever was made for it must then be closed.
   */
  create(streamId: string, offer: string, signal: AbortSignal): Promise<{ session: { id: string; etag: string }; answer: string }>;
  /** The session `id` of stream `streamId`, if open. */
  session(id: string, streamId: string): unknown;
  /** Ends session `id` of stream `streamId` (settles when it has ended); false when there is no such session. */
  end(id: string, streamId: string): Promise<boolean>;
}

/**
 *   OPTIONS /:id, /:id/sessions/:sessionId   CORS preflight                      → 204
 *   POST    /:id                             SDP offer                           → 201 SDP answer, Location, ETag
 *   DELETE  /:id/sessions/:sessionId         end the session                     → 204 (404 when unknown)
 *   PATCH   /:id/sessions/:sessionId         trickle ICE / ICE restart           → 405 (404 when unknown)
 * POST checks, in order: rate (429), stream (404), authorization (401/403), Content-Type (415), size (413).
 */
export function sdpEndpointRoutes(endpoint: SdpEndpoint): Router {
  const r = Router();
  r.use(cors);
  r.options('/:id', preflight('POST, OPTIONS'));
  r.options('/:id/sessions/:sessionId', preflight('DELETE, OPTIONS'));

  r.post(
    '/:id',
    rateLimited(endpoint.limiter),
    findStream((id) => endpoint.streams.byId(id)),
    async (req, res, next) => {
      await endpoint.authorize(req, streamOf(res));
      next();
    },
    requireSdp,
    sdpBody,
    async (req, res) => {
      const stream = streamOf(res);
      const gone = new AbortController();
      const onClose = () => {
        if (!res.writableFinished) gone.abort();
      };
      res.once('close', onClose);
      let created;
      try {
        created = await endpoint.create(stream.id, req.body as string, gone.signal);
      } catch (err) {
        throw asApiError(err);
      } finally {
        res.off('close', onClose);
      }
      if (gone.signal.aborted) return;
      sendAnswer(res, { location: `${req.baseUrl}/${stream.id}/sessions/${created.session.id}`, etag: created.session.etag, answer: created.answer });
    },
  );

  r.delete('/:id/sessions/:sessionId', async (req, res) => {
    const sessionId = sessionIdOf(req);
    if (!sessionId || !(await endpoint.end(sessionId, String(req.params.id)))) throw noSuchSession(req);
    res.status(204).end();
  });

  r.patch('/:id/sessions/:sessionId', (req) => {
    const sessionId = sessionIdOf(req);
    if (!sessionId || !endpoint.session(sessionId, String(req.params.id))) throw noSuchSession(req);
    throw new ApiError('method_not_allowed', TRICKLE_NOT_SUPPORTED, { headers: { Allow: 'DELETE, OPTIONS' } });
  });

  r.all('/:id', methodNotAllowed('POST, OPTIONS'));
  r.all('/:id/sessions/:sessionId', methodNotAllowed('DELETE, OPTIONS'));
  return r;
}
