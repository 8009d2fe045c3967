/**
 * WHEP playback endpoints, mounted at /whep (routes in sdpHttp.ts):
 *   POST    /whep/:id                      SDP offer (recvonly); private streams: Bearer   → 201 SDP answer, Location, ETag
 *                                          <viewer token | owner's or admin's access token>
 *   DELETE  /whep/:id/sessions/:sessionId  leave                                            → 204
 *   PATCH   /whep/:id/sessions/:sessionId  trickle ICE / ICE restart: not supported          → 405
 *   OPTIONS                                CORS preflight                                   → 204
 * Errors are JSON `{ error, message }`: 400 malformed offer, 401 private stream without a token, 403 a token
 * that does not open this stream, 404 unknown stream or session, 406 the player cannot receive the stream's
 * codecs, 409 the stream is not live (or sends nothing yet), 413, 415, 429, 503 too many WebRTC viewers.
 */
import type { Router } from 'express';
import { canWatch } from '../auth/access.js';
import type { Tokens } from '../auth/tokens.js';
import { ApiError } from '../http/ApiError.js';
import { bearerToken } from '../http/middleware/auth.js';
import { KeyedRateLimiter } from '../limits/KeyedRateLimiter.js';
import type { StreamStore } from '../store/sql/StreamStore.js';
import { WHIP_LIMITS } from './limits.js';
import { sdpEndpointRoutes } from './sdpHttp.js';
import type { WhepPlayback } from './WhepPlayback.js';

export interface WhepRoutesDeps {
  playback: WhepPlayback;
  streams: Pick<StreamStore, 'byId'>;
  tokens: Tokens;
  limiter?: KeyedRateLimiter;
}

export function whepRoutes(deps: WhepRoutesDeps): Router {
  const { playback } = deps;
  return sdpEndpointRoutes({
    streams: deps.streams,
    limiter: deps.limiter ?? new KeyedRateLimiter(WHIP_LIMITS.whepOfferRate),
    authorize: (req, stream) => {
      const token = bearerToken(req);
      if (canWatch(deps.tokens, stream, token)) return;
      throw token
        ? new ApiError('forbidden', 'this token does not open this private stream')
        : new ApiError('unauthorized', 'this stream is private: send a viewer token as "Authorization: Bearer <token>"', {
            headers: { 'WWW-Authenticate': 'Bearer' },
          });
    },
    create: (streamId, offer, signal) => playback.play(streamId, offer, signal),
    session: (id, streamId) => playback.session(id, streamId),
    end: (id, streamId) => playback.end(id, streamId),
  });
}
