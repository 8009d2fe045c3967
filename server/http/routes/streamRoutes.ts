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
import type { StreamRecord } from '../../store/sql/StreamStore.js';
import { StoreError } from '../../store/sql/errors.js';
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

  const find = async (req: Request): Promise<StreamRecord> => {
    const id = parse(streamIdSchema, req.params.id, 'stream id');
    const stream = await s.streams.byId(id);
    if (!stream) throw new ApiError('not_found', `no stream ${id}`);
    return stream;
  };
  const findManaged = async (req: Request): Promise<StreamRecord> => {
    const stream = await find(req);
    if (!canManage(req.user, stream)) throw new ApiError('forbidden', 'only the owner of this stream or an admin may do this');
    return stream;
  };
  const audience = (id: string) => ({ viewerCount: s.live.viewerCount(id), viewers: s.live.viewersByDelivery(id) });
  const owned = (req: Request, st: StreamRecord) => ownedStream(st, audience(st.id), base(req));

  r.post('/', auth, requireRole('broadcaster', 'admin'), async (req, res) => {
    const body = parse(createStreamBodySchema, req.body, 'stream');
    const rate = await s.streamCreation.take(req.user!.sub);
    if (!rate.ok) {
      throw new ApiError('too_many_requests', `too many new streams: try again in ${rate.retryAfterSeconds} s`, {
        headers: { 'Retry-After': String(rate.retryAfterSeconds) },
      });
    }
    // The account may be removed between the authentication and the insert: its foreign key refuses the row.
    const stream = await s.streams.create({ ownerId: req.user!.sub, ...body }).catch((err: unknown) => {
      if (err instanceof StoreError && err.reason === 'missing_reference') throw new ApiError('unauthorized', 'the account of this token no longer exists');
      throw err;
    });
    req.log.info({ streamId: stream.id, ownerId: stream.ownerId }, 'stream created');
    res.status(201).location(`/api/streams/${stream.id}`).json(owned(req, stream));
  });

  r.get('/', async (req, res) => {
    const q = parse(listStreamsQuerySchema, req.query, 'query');
    const { streams, total } = await s.streams.listPublic(q);
    const body: StreamList = { streams: streams.map((st) => publicStream(st, audience(st.id), base(req))), total };
    res.json(body);
  });

  r.get('/mine', auth, async (req, res) => {
    res.json({ streams: (await s.streams.listByOwner(req.user!.sub)).map((st) => owned(req, st)) });
  });

  r.get('/:id', async (req, res) => {
    const stream = await find(req);
    const token = requestToken(req);
    let user;
    try {
      user = token ? s.tokens.verifyAccess(token) : undefined;
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
    }
    if (canManage(user, stream)) return void res.json(owned(req, stream));
    if (!canWatch(s.tokens, stream, token)) throw new ApiError('forbidden', 'this stream is private: a viewer token is needed');
    res.json(publicStream(stream, audience(stream.id), base(req)));
  });

  r.patch('/:id', auth, async (req, res) => {
    const stream = await findManaged(req);
    const changes = parse(updateStreamBodySchema, req.body, 'stream changes');
    // Deleted by another request since it was read: nothing to answer with.
    const updated = await s.streams.update(stream.id, changes);
    if (!updated) throw new ApiError('not_found', `no stream ${stream.id}`);
    s.live.metadataChanged(stream.id);
    res.json(owned(req, updated));
  });

  r.delete('/:id', auth, async (req, res) => {
    const stream = await findManaged(req);
    await s.live.endBroadcast(stream.id, 'the stream was deleted');
    await s.streams.delete(stream.id);
    await s.deleteStreamMedia(stream.id);
    req.log.info({ streamId: stream.id }, 'stream deleted');
    res.status(204).end();
  });

  r.post('/:id/rotate-key', auth, async (req, res) => {
    const stream = await findManaged(req);
    const rotated = await s.streams.rotateKey(stream.id);
    if (!rotated) throw new ApiError('not_found', `no stream ${stream.id}`);
    res.json(owned(req, rotated));
  });

  r.post('/:id/viewer-token', auth, async (req, res) => {
    const stream = await findManaged(req);
    const { token, expiresAt } = s.tokens.signViewer(stream.id);
    const body: ViewerTokenResponse = { token, expiresAt: expiresAt.toISOString() };
    res.json(body);
  });
  return r;
}
