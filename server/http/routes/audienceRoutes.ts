/**
 * A live stream's audience by delivery, for its owner's studio (and admins):
 *   GET /api/streams/:id/viewers   owner, admin   → { total, webrtc, whep, hls }
 * `total` is the stream's viewerCount (every node in cluster mode; it also counts open watch pages that
 * receive nothing yet); the split is what this node serves (server/admin/audienceSplit.ts).
 */
import { Router } from 'express';
import type { AdminViewers } from '../../../shared/adminApi.js';
import { streamIdSchema } from '../../../shared/apiSchemas.js';
import { streamSplit } from '../../admin/audienceSplit.js';
import { canManage } from '../../auth/access.js';
import type { Broadcasts } from '../../live/Broadcasts.js';
import { ApiError } from '../ApiError.js';
import { authenticate } from '../middleware/auth.js';
import type { Services } from '../Services.js';
import { parse } from '../validate.js';

export function audienceRoutes(s: Services, deps: { broadcasts: Pick<Broadcasts, 'get' | 'viewerCount'>; hlsViewers(streamId: string): number }): Router {
  const r = Router();
  r.get('/:id/viewers', authenticate(s.tokens, s.users), async (req, res) => {
    const id = parse(streamIdSchema, req.params.id, 'stream id');
    const stream = await s.streams.byId(id);
    if (!stream) throw new ApiError('not_found', `no stream ${id}`);
    if (!canManage(req.user, stream)) throw new ApiError('forbidden', 'only the owner of this stream or an admin may see its audience');
    const body: AdminViewers = { total: deps.broadcasts.viewerCount(id), ...streamSplit(deps.broadcasts, id, deps.hlsViewers(id)) };
    res.json(body);
  });
  return r;
}
