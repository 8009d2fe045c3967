/**
 * What a WebRTC client needs before it talks to any router.
 *   GET /api/media/capabilities  → { routerRtpCapabilities }
 * Every router of this server has the same codecs, so the answer never changes while the server runs. The
 * player fetches it while its signaling socket connects: its mediasoup-client Device (a local
 * RTCPeerConnection probe) is then loaded by the time the viewer has joined. The same capabilities also
 * come in the `viewer:join` and `broadcast:start` acks.
 */
import { Router } from 'express';
import type { MediaCapabilities } from '../../../shared/api.js';
import type { WorkerPool } from '../../media/WorkerPool.js';

export function mediaRoutes(pool: Pick<WorkerPool, 'rtpCapabilities'>): Router {
  const r = Router();
  r.get('/capabilities', (_req, res) => {
    const body: MediaCapabilities = { routerRtpCapabilities: pool.rtpCapabilities as unknown as Record<string, unknown> };
    // Short-lived in caches: a restarted server with other codecs must not be shadowed for long.
    res.set('Cache-Control', 'public, max-age=60').json(body);
  });
  return r;
}
