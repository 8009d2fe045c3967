/**
 * WHIP (RFC 9725) ingest endpoints, mounted at /whip (routes in sdpHttp.ts):
 *   POST    /whip/:id                      SDP offer, Bearer <stream key | access token>   → 201 SDP answer, Location, ETag
 *   DELETE  /whip/:id/sessions/:sessionId  end the broadcast                                → 204
 *   PATCH   /whip/:id/sessions/:sessionId  trickle ICE / ICE restart: not supported          → 405
 *   OPTIONS                                CORS preflight                                   → 204
 * Errors are JSON `{ error, message }`: 400 malformed offer, 401 missing or wrong key, 403 a valid token of
 * someone who may not publish here, 404 unknown stream or session, 406 nothing OnAir can receive, 409 the
 * stream is live from another publisher, 413 offer too large, 415 not application/sdp, 429 too many offers.
 */
import type { Request, Router } from 'express';
import { canManage } from '../auth/access.js';
import { TokenError, type Tokens } from '../auth/tokens.js';
import { ApiError } from '../http/ApiError.js';
import { bearerToken } from '../http/middleware/auth.js';
import { KeyedRateLimiter } from '../limits/KeyedRateLimiter.js';
import type { StreamRecord, StreamStore } from '../store/sql/StreamStore.js';
import type { UserStore } from '../store/sql/UserStore.js';
import { WHIP_LIMITS } from './limits.js';
import { sameSecret, sdpEndpointRoutes } from './sdpHttp.js';
import type { WhipIngest } from './WhipIngest.js';

export interface WhipRoutesDeps {
  ingest: WhipIngest;
  streams: Pick<StreamStore, 'byId'>;
  users: Pick<UserStore, 'byId'>;
  tokens: Tokens;
  limiter?: KeyedRateLimiter;
}

export function whipRoutes(deps: WhipRoutesDeps): Router {
  const { ingest } = deps;
  return sdpEndpointRoutes({
    streams: deps.streams,
    limiter: deps.limiter ?? new KeyedRateLimiter(WHIP_LIMITS.whipOfferRate),
    authorize: (req, stream) => authorizePublisher(req, stream, deps),
    create: (streamId, offer, signal) => ingest.publish(streamId, offer, signal),
    session: (id, streamId) => ingest.session(id, streamId),
    end: (id, streamId) => ingest.end(id, streamId),
  });
}

/**
 * The publisher presents the stream's key, or the access token of the stream's owner or of an admin.
 * Missing or wrong: 401; a valid token of another broadcaster: 403.
 */
async function authorizePublisher(req: Request, stream: StreamRecord, deps: Pick<WhipRoutesDeps, 'tokens' | 'users'>): Promise<void> {
  const challenge = { 'WWW-Authenticate': 'Bearer' };
  const token = bearerToken(req);
  if (!token) throw new ApiError('unauthorized', 'send the stream key as "Authorization: Bearer <stream key>"', { headers: challenge });
  if (sameSecret(token, stream.streamKey)) return;
  let claims;
  try {
    claims = deps.tokens.verifyAccess(token);
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    throw new ApiError('unauthorized', "the bearer token is neither this stream's key nor a valid access token", {
      headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
    });
  }
  const user = await deps.users.byId(claims.sub);
  if (!user) throw new ApiError('unauthorized', 'the account of this token no longer exists', { headers: challenge });
  if (!canManage({ sub: user.id, role: user.role, username: user.username }, stream)) {
    throw new ApiError('forbidden', 'only the owner of this stream or an admin may publish into it');
  }
}
