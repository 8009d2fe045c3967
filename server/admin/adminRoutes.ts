/**
 * The admin console's API, under /api/admin; every route needs an admin's access token (401 without one, 403
 * for any other role). The console page is /admin (client/pages/admin.ts).
 *   GET    /api/admin/users                  every account, with its state              → { users: AdminUser[] }
 *   PATCH  /api/admin/users/:id              { role?, disabled? }                        → AdminUser
 *   POST   /api/admin/users/:id/password     { password }: a new password                → 204
 *   GET    /api/admin/streams/live           streams live on this node, viewers by delivery, bitrate → { streams: AdminLiveStream[] }
 *   POST   /api/admin/streams/:id/end        { reason? }: ends its broadcast              → 204 (404 when not live)
 *   GET    /api/admin/server                 workers, ffmpeg, HLS bridges, memory, version → AdminServerStatus
 * Also for admins, elsewhere in the API: POST /api/users (create an account), POST
 * /api/streams/:id/rotate-key, DELETE /api/recordings/:id.
 *
 * Guards: an admin cannot demote or disable their own account, and the last active admin cannot be demoted
 * or disabled (the platform would have nobody left to run it). Two admins doing so to each other at once
 * could still both pass the check: it is a guard against mistakes, not a lock.
 */
import { Router } from 'express';
import { streamIdSchema } from '../../shared/apiSchemas.js';
import {
  adminEndBodySchema,
  adminPasswordBodySchema,
  adminUserIdSchema,
  adminUserPatchSchema,
  type AdminBitrate,
  type AdminLiveStream,
  type AdminUser,
} from '../../shared/adminApi.js';
import { hashPassword } from '../auth/passwords.js';
import { ApiError } from '../http/ApiError.js';
import { baseUrl } from '../http/baseUrl.js';
import { authenticate, requireRole } from '../http/middleware/auth.js';
import type { Services } from '../http/Services.js';
import { parse } from '../http/validate.js';
import type { Broadcasts } from '../live/Broadcasts.js';
import type { AdminUserStore } from './AdminUserStore.js';
import { streamSplit } from './audienceSplit.js';
import type { LiveRegistry } from './LiveRegistry.js';
import { serverStatus, type ServerStatusSources } from './serverStatus.js';

export interface AdminDeps {
  users: AdminUserStore;
  live: LiveRegistry;
  broadcasts: Pick<Broadcasts, 'get' | 'viewerCount' | 'endBroadcast'>;
  /** HLS playback sessions of a stream now (server/hls/HlsViewerSessions). */
  hlsViewers(streamId: string): number;
  /** Is the stream's HLS ladder running (undefined when HLS is off)? */
  hlsRunning(streamId: string): boolean | undefined;
  /** The last bitrate the stream health monitor measured (server/admin/IngestBitrates.ts). */
  bitrate(streamId: string): AdminBitrate | null;
  status: ServerStatusSources;
}

export function adminRoutes(s: Services, deps: AdminDeps): Router {
  const r = Router();
  r.use(authenticate(s.tokens, s.users), requireRole('admin'));

  const userView = async (id: string): Promise<AdminUser> => {
    const user = (await deps.users.list()).find((u) => u.id === id);
    if (!user) throw new ApiError('not_found', `no user ${id}`);
    return user;
  };

  r.get('/users', async (_req, res) => {
    res.json({ users: await deps.users.list() });
  });

  r.patch('/users/:id', async (req, res) => {
    const id = parse(adminUserIdSchema, req.params.id, 'user id');
    const body = parse(adminUserPatchSchema, req.body, 'user');
    const target = await userView(id);
    const demotes = body.role !== undefined && body.role !== 'admin' && target.role === 'admin';
    const disables = body.disabled === true && !target.disabled;
    if ((demotes || disables) && id === req.user!.sub) throw new ApiError('conflict', 'an admin cannot demote or disable their own account');
    if ((demotes || disables) && target.role === 'admin' && !target.disabled) {
      const admins = await deps.users.activeAdmins();
      if (admins.length <= 1) throw new ApiError('conflict', 'the last active admin cannot be demoted or disabled');
    }
    if (body.role !== undefined) await deps.users.setRole(id, body.role);
    if (body.disabled !== undefined) await deps.users.setDisabled(id, body.disabled);
    req.log.info({ userId: id, role: body.role, disabled: body.disabled }, 'account changed by an admin');
    res.json(await userView(id));
  });

  r.post('/users/:id/password', async (req, res) => {
    const id = parse(adminUserIdSchema, req.params.id, 'user id');
    const body = parse(adminPasswordBodySchema, req.body, 'password');
    if (!(await deps.users.setPasswordHash(id, await hashPassword(body.password)))) throw new ApiError('not_found', `no user ${id}`);
    req.log.info({ userId: id }, 'password set by an admin');
    res.status(204).end();
  });

  r.get('/streams/live', async (req, res) => {
    const base = baseUrl(req, s.config.publicUrl);
    const streams: AdminLiveStream[] = [];
    for (const { streamId, startedAt } of deps.live.entries()) {
      const b = deps.broadcasts.get(streamId);
      const stream = await s.streams.byId(streamId);
      if (!b || b.ended || !stream) continue;
      const split = streamSplit(deps.broadcasts, streamId, deps.hlsViewers(streamId));
      const publisher = b.state === 'live' && b.publisher !== null;
      const hlsRunning = deps.hlsRunning(streamId);
      streams.push({
        id: streamId,
        title: stream.title,
        owner: stream.ownerUsername,
        visibility: stream.visibility,
        startedAt,
        state: b.state,
        viewers: { total: deps.broadcasts.viewerCount(streamId), ...split },
        health: { publisher, hls: hlsRunning ?? null, ok: publisher && hlsRunning !== false },
        bitrate: deps.bitrate(streamId),
        watchUrl: `${base}/watch/${streamId}`,
      });
    }
    res.json({ streams });
  });

  r.post('/streams/:id/end', async (req, res) => {
    const id = parse(streamIdSchema, req.params.id, 'stream id');
    const body = parse(adminEndBodySchema, req.body ?? {}, 'body');
    const b = deps.broadcasts.get(id);
    if (!b || b.ended) throw new ApiError('not_found', 'this stream is not live on this server');
    await deps.broadcasts.endBroadcast(id, body.reason ?? 'ended by an admin');
    req.log.info({ streamId: id }, 'broadcast ended by an admin');
    res.status(204).end();
  });

  r.get('/server', async (_req, res) => {
    res.json(await serverStatus(deps.status));
  });
  return r;
}
