/**
 * Webhooks (server/webhooks, docs/webhooks.md). Signed in; each user manages their own hooks, an admin anyone's
 * and sees the server-wide one (id `server`, from ONAIR_WEBHOOK_URL: read-only here).
 *   POST   /api/webhooks                    { url, events?, description? }  → 201 Webhook + secret (only here)
 *   GET    /api/webhooks                    the caller's hooks              → { webhooks }
 *   GET    /api/webhooks/:id                one hook (no secret)            → Webhook
 *   DELETE /api/webhooks/:id                with its delivery log           → 204
 *   GET    /api/webhooks/:id/deliveries     ?limit=&offset=, newest first   → { deliveries, total }
 * A URL is refused (400) when it is not http(s), carries credentials, or resolves to a loopback, private or
 * reserved address (unless ONAIR_WEBHOOK_ALLOW_PRIVATE=1); 409 past the per-user number of hooks.
 */
import dns from 'node:dns';
import { Router, type Request } from 'express';
import { canManage } from '../../auth/access.js';
import type { DeliveryRecord, WebhookRecord, WebhookStore } from '../../store/sql/WebhookStore.js';
import { SERVER_HOOK_ID } from '../../store/sql/WebhookStore.js';
import { StoreError, toStoreError } from '../../store/sql/errors.js';
import { AddressRefusedError } from '../../webhooks/addressPolicy.js';
import { WebhookLimitError, type Webhooks } from '../../webhooks/Webhooks.js';
import { createWebhookSchema, deliveriesQuerySchema, webhookIdSchema } from '../../webhooks/webhookSchemas.js';
import { ApiError } from '../ApiError.js';
import { authenticate } from '../middleware/auth.js';
import type { Services } from '../Services.js';
import { parse } from '../validate.js';

const hookView = (h: WebhookRecord) => ({
  id: h.id,
  url: h.url,
  events: h.events,
  description: h.description,
  serverWide: h.id === SERVER_HOOK_ID,
  createdAt: h.createdAt,
});

const deliveryView = (d: DeliveryRecord) => ({
  id: d.id,
  eventId: d.eventId,
  type: d.eventType,
  status: d.status,
  attempts: d.attempts,
  createdAt: d.createdAt,
  lastAttemptAt: d.lastAttemptAt,
  nextAttemptAt: d.nextAttemptAt,
  responseStatus: d.responseStatus,
  error: d.lastError,
});

export function webhookRoutes(s: Services, store: WebhookStore, webhooks: Webhooks): Router {
  const r = Router();
  r.use(authenticate(s.tokens, s.users));
  const find = async (req: Request) => {
    const id = parse(webhookIdSchema, req.params.id, 'webhook id');
    const hook = await store.byId(id);
    // Someone else's hook is "not found", not "forbidden": ids are not to be probed.
    if (!hook || !(hook.ownerId === null ? req.user?.role === 'admin' : canManage(req.user, { ownerId: hook.ownerId }))) {
      throw new ApiError('not_found', `no webhook ${id}`);
    }
    return hook;
  };

  r.post('/', async (req, res) => {
    const body = parse(createWebhookSchema, req.body, 'webhook');
    let hook: WebhookRecord;
    try {
      hook = await webhooks.create(req.user!.sub, body);
    } catch (err) {
      if (err instanceof AddressRefusedError) throw new ApiError('validation_failed', `url: ${err.message}`, { issues: [{ path: 'url', message: err.message }] });
      if (err instanceof WebhookLimitError) throw new ApiError('conflict', err.message);
      // The account was removed while its hook's address was being checked.
      const stored = toStoreError(err);
      if (stored instanceof StoreError && stored.reason === 'missing_reference') throw new ApiError('unauthorized', 'the account of this token no longer exists');
      const code = (err as NodeJS.ErrnoException).code;
      if (code === dns.NOTFOUND || code === dns.NODATA || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
        throw new ApiError('validation_failed', `url: its host could not be resolved (${code})`, { issues: [{ path: 'url', message: 'the host could not be resolved' }] });
      }
      throw err;
    }
    req.log.info({ webhookId: hook.id, events: hook.events }, 'webhook created');
    res.status(201).json({ ...hookView(hook), secret: hook.secret });
  });

  r.get('/', async (req, res) => {
    res.json({ webhooks: (await store.listByOwner(req.user!.sub)).map(hookView) });
  });

  r.get('/:id', async (req, res) => {
    res.json(hookView(await find(req)));
  });

  r.delete('/:id', async (req, res) => {
    const hook = await find(req);
    if (hook.id === SERVER_HOOK_ID) throw new ApiError('conflict', 'the server-wide webhook is set by ONAIR_WEBHOOK_URL: change it there');
    await store.delete(hook.id);
    req.log.info({ webhookId: hook.id }, 'webhook deleted');
    res.status(204).end();
  });

  r.get('/:id/deliveries', async (req, res) => {
    const q = parse(deliveriesQuerySchema, req.query, 'query');
    const hook = await find(req);
    const { deliveries, total } = await store.deliveries(hook.id, q);
    res.json({ deliveries: deliveries.map(deliveryView), total });
  });
  return r;
}
