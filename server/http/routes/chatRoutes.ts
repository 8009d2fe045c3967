/**
 * A stream's stored chat (live chat: server/chat).
 *   GET /api/streams/:id/chat?before=&after=&limit=   → ChatHistory (oldest first)
 * `before` / `after`: ISO 8601 times, both exclusive; without `after` the latest `limit` (≤ 200, default 50)
 * messages before `before` (default: now), with it the earliest after it (to page forwards, as the /video
 * page's replay does: message times are unique within a stream, so the last one's time is an exact cursor).
 * Private streams need a viewer token (Bearer or `?token=`), or the owner's or an admin's access token.
 */
import { Router } from 'express';
import { streamIdSchema } from '../../../shared/apiSchemas.js';
import { chatHistoryQuerySchema } from '../../../shared/chatSchemas.js';
import { canWatch } from '../../auth/access.js';
import type { ChatService } from '../../chat/ChatService.js';
import { ApiError } from '../ApiError.js';
import { requestToken } from '../middleware/auth.js';
import type { Services } from '../Services.js';
import { parse } from '../validate.js';

const iso = (t: string | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

export function chatRoutes(s: Services, chat: ChatService): Router {
  const r = Router();
  r.get('/:id/chat', async (req, res) => {
    const id = parse(streamIdSchema, req.params.id, 'stream id');
    const q = parse(chatHistoryQuerySchema, req.query, 'query');
    const stream = await s.streams.byId(id);
    if (!stream) throw new ApiError('not_found', `no stream ${id}`);
    if (!canWatch(s.tokens, stream, requestToken(req))) throw new ApiError('forbidden', 'this stream is private: a viewer token is needed');
    res.json(await chat.history(id, { before: iso(q.before), after: iso(q.after), limit: q.limit }));
  });
  return r;
}
