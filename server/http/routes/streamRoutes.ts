/**
 * The stream catalogue API.
 *   POST   /api/streams                  create (broadcaster, admin)         → 201 OwnedStream (429: 20 a minute per user)
 *   GET    /api/streams                  public streams, filtered            → StreamList
 *   GET    /api/streams/mine             the caller's streams, with keys     → { streams: OwnedStream[] }
 *   GET    /api/streams/:id              one stream (private: viewer token)  → PublicStream | OwnedStream
 *   PATCH  /api/streams/:id              edit (owner, admin)                 → OwnedStream
 *   DELETE /api/streams/:id              delete (owner, admin)               → 204
 *   POST   /api/streams/:id/rotate-key   new stream key (owner, admin)       → OwnedStream
 *   POST   /api/streams/:id/viewer-token token for a private stream (owner)  → { token, expiresAt }
 */
import { Router, type Request } from 'express';
import type { StreamList, ViewerTokenResponse } from '../../../shared/api.js';
import { createStreamBodySchema, listStreamsQuerySchema, streamIdSchema, updateStreamBodySchema } from '../../../shared/apiSchemas.js';
import { canManage, canWatch } from '../../auth/access.js';
import { TokenError } from '../../auth/tokens.js';
import type { StreamRecord } from '../../store/StreamStore.js';
import { ApiError } from '../ApiError.js';
import { baseUrl } from '../baseUrl.js';
import { authenticate, requestToken, requireRole } from '../middleware/auth.js';
import { ownedStream, publicStream } from '../presenters.js';
import type { Services } from '../Services.js';
import { parse } from '../validate.js';

export function streamRoutes(s: Services): Router {
  const r = Router();
  const auth = authenticate(s.tokens, s.users);
  const base = (req: Request) => baseUrl(req, s.config.publicUrl);

  const find = (req: Request): StreamRecord => {
    const id = parse(streamIdSchema, req.params.id, 'stream id');
    const stream = s.streams.byId(id);
    if (!stream) throw new ApiError('not_found', `no stream ${id}`);
    return stream;
  };
  const findManaged = (req: Request): StreamRecord => {
    const stream = find(req);
    if (!canManage(req.user, stream)) throw new ApiError('forbidden', 'only the owner of this stream or an admin may do this');
    return stream;
  };
  const owned = (req: Request, st: StreamRecord) => ownedStream(st, s.live.viewerCount(st.id), base(req));

  r.post('/', auth, requireRole('broadcaster', 'admin'), async (req, res) => {
    const body = parse(createStreamBodySchema, req.body, 'stream');
    const rate = await s.streamCreation.take(req.user!.sub);
    if (!rate.ok) {
      throw new ApiError('too_many_requests', `too many new streams: try again in ${rate.retryAfterSeconds} s`, {
        headers: { 'Retry-After': String(rate.retryAfterSeconds) },
      });
    }
    const stream = s.streams.create({ ownerId: req.user!.sub, ...body });
    req.log.info({ streamId: stream.id, ownerId: stream.ownerId }, 'stream created');
    res.status(201).location(`/api/streams/${stream.id}`).json(owned(req, stream));
  });

  r.get('/', (req, res) => {
    const q = parse(listStreamsQuerySchema, req.query, 'query');
    const { streams, total } = s.streams.listPublic(q);
    const body: StreamList = { streams: streams.map((st) => publicStream(st, s.live.viewerCount(st.id), base(req))), total };
    res.json(body);
  });

  r.get('/mine', auth, (req, res) => {
    res.json({ streams: s.streams.listByOwner(req.user!.sub).map((st) => owned(req, st)) });
  });

  r.get('/:id', (req, res) => {
    const stream = find(req);
    const token = requestToken(req);
    let user;
    try {
      user = token ? s.tokens.verifyAccess(token) : undefined;
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
    }
    if (canManage(user, stream)) return void res.json(owned(req, stream));
    if (!canWatch(s.tokens, stream, token)) throw new ApiError('forbidden', 'this stream is private: a viewer token is needed');
    res.json(publicStream(stream, s.live.viewerCount(stream.id), base(req)));
  });

  r.patch('/:id', auth, (req, res) => {
    const stream = findManaged(req);
    const changes = parse(updateStreamBodySchema, req.body, 'stream changes');
    const updated = s.streams.update(stream.id, changes)!;
    s.live.metadataChanged(stream.id);
    res.json(owned(req, updated));
  });

  r.delete('/:id', auth, async (req, res) => {
    const stream = findManaged(req);
    await s.live.endBroadcast(stream.id, 'the stream was deleted');
    s.streams.delete(stream.id);
    await s.deleteStreamMedia(stream.id);
    req.log.info({ streamId: stream.id }, 'stream deleted');
    res.status(204).end();
  });

  r.post('/:id/rotate-key', auth, (req, res) => {
    const stream = findManaged(req);
    res.json(owned(req, s.streams.rotateKey(stream.id)!));
  });

  r.post('/:id/viewer-token', auth, (req, res) => {
    const stream = findManaged(req);
    const { token, expiresAt } = s.tokens.signViewer(stream.id);
    const body: ViewerTokenResponse = { token, expiresAt: expiresAt.toISOString() };
    res.json(body);
  });
  return r;
}
