/**
 * Recordings (video on demand): every live session, kept as HLS.
 *   GET    /api/recordings        public recordings: ?streamId=&tag=&limit=&offset=  → { recordings, total }
 *   GET    /api/recordings/:id    one recording (private stream: viewer token)       → Recording
 *   DELETE /api/recordings/:id    owner or admin; removes its files                 → 204
 */
import { Router, type Request } from 'express';
import type { Recording } from '../../../shared/api.js';
import { listRecordingsQuerySchema, recordingIdSchema } from '../../../shared/apiSchemas.js';
import { canManage, canWatch } from '../../auth/access.js';
import { RecordingLiveError, type HlsService } from '../../hls/HlsService.js';
import type { RecordingRecord, RecordingStore } from '../../store/sql/RecordingStore.js';
import { ApiError } from '../ApiError.js';
import { baseUrl } from '../baseUrl.js';
import { authenticate, requestToken } from '../middleware/auth.js';
import type { Services } from '../Services.js';
import { parse } from '../validate.js';

export function recordingView(r: RecordingRecord, base: string): Recording {
  const files = `${base}/hls/${r.streamId}/${r.id}`;
  return {
    id: r.id,
    streamId: r.streamId,
    title: r.title,
    description: r.description,
    tags: r.tags,
    owner: { id: r.ownerId, username: r.ownerUsername },
    status: r.status,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    durationSeconds: r.durationSeconds,
    renditions: r.renditions,
    sizeBytes: r.sizeBytes,
    urls: { video: `${base}/video/${r.id}`, hls: `${files}/master.m3u8`, poster: `${files}/poster.jpg` },
  };
}

export function recordingRoutes(s: Services, recordings: RecordingStore, hls: HlsService): Router {
  const r = Router();
  const base = (req: Request) => baseUrl(req, s.config.publicUrl);
  const find = async (req: Request) => {
    const id = parse(recordingIdSchema, req.params.id, 'recording id');
    const rec = await recordings.byId(id);
    if (!rec) throw new ApiError('not_found', `no recording ${id}`);
    return rec;
  };

  r.get('/', async (req, res) => {
    const q = parse(listRecordingsQuerySchema, req.query, 'query');
    const { recordings: list, total } = await recordings.listPublic(q);
    res.json({ recordings: list.map((x) => recordingView(x, base(req))), total });
  });

  r.get('/:id', async (req, res) => {
    const rec = await find(req);
    const token = requestToken(req);
    if (!canWatch(s.tokens, { id: rec.streamId, ownerId: rec.ownerId, visibility: rec.visibility }, token)) {
      throw new ApiError('forbidden', 'this recording is private: a viewer token is needed');
    }
    res.json(recordingView(rec, base(req)));
  });

  r.delete('/:id', authenticate(s.tokens, s.users), async (req, res) => {
    const rec = await find(req);
    if (!canManage(req.user, { ownerId: rec.ownerId })) throw new ApiError('forbidden', 'only the owner of this recording or an admin may delete it');
    try {
      await hls.deleteRecording(rec.id, rec.streamId);
    } catch (err) {
      if (err instanceof RecordingLiveError) throw new ApiError('conflict', err.message);
      throw err;
    }
    req.log.info({ recordingId: rec.id }, 'recording deleted');
    res.status(204).end();
  });
  return r;
}
