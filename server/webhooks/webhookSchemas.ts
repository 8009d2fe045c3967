/** The webhook API's inputs (server/http/routes/webhookRoutes.ts), validated with zod. */
import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES } from './events.js';
import { webhookUrlSchema } from './webhookUrl.js';

export const createWebhookSchema = z
  .object({
    url: webhookUrlSchema,
    /** Event types to receive; absent or empty: all (including types added later). */
    events: z
      .array(z.enum(WEBHOOK_EVENT_TYPES))
      .max(WEBHOOK_EVENT_TYPES.length)
      .default([])
      .transform((list) => [...new Set(list)]),
    description: z.string().trim().max(200).default(''),
  })
  .strict();

/** A user hook's id (`wh_` + 16 base64url characters) or `server`, the server-wide hook. */
export const webhookIdSchema = z.string().regex(/^(?:server|wh_[A-Za-z0-9_-]{16})$/, 'not a webhook id');

export const deliveriesQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();
