/**
 * The webhook settings from the environment. Pure: the central configuration (server/config/config.ts) merges
 * `WEBHOOK_ENV` into its schema and `toWebhookConfig` into its result, so that a bad value is reported with
 * every other bad variable.
 *
 * - ONAIR_WEBHOOK_URL: the server-wide hook (every event of every stream); checked like a user's hook URL
 *   (http or https, no credentials), its addresses checked at each delivery.
 * - ONAIR_WEBHOOK_SECRET: its signing secret (≥ 24 characters), required with the URL: an unsigned hook
 *   would teach receivers to accept anything.
 * - ONAIR_WEBHOOK_ALLOW_PRIVATE=1: hooks may point at loopback, private and link-local addresses (a receiver
 *   on the same host or network). Off by default: any user may add a hook, and a hook that may reach the
 *   server's own network is a way in (SSRF).
 * - ONAIR_WEBHOOK_RETRY_FIRST_MS: the first retry's delay; each next one doubles (up to an hour), with jitter,
 *   until 24 h after the event.
 */
import { z } from 'zod';
import { webhookUrlSchema } from './webhookUrl.js';

export const WEBHOOK_DEFAULTS = {
  retryFirstMs: 10_000,
  retryMaxMs: 3_600_000,
  retryWindowMs: 24 * 3_600_000,
  /** One attempt's bound: connecting, sending and reading the answer's status. */
  timeoutMs: 10_000,
  /** Deliveries in flight at once, for all hooks together. */
  concurrency: 8,
  /** Hooks per user. */
  maxHooksPerUser: 10,
  /** Finished deliveries are kept this long in the log. */
  keepLogMs: 7 * 24 * 3_600_000,
} as const;

export interface WebhookConfig {
  /** The server-wide hook, if configured. */
  url: string | undefined;
  secret: string | undefined;
  allowPrivate: boolean;
  retryFirstMs: number;
}

export const WEBHOOK_ENV = {
  ONAIR_WEBHOOK_URL: webhookUrlSchema.optional(),
  ONAIR_WEBHOOK_SECRET: z.string().min(24, 'ONAIR_WEBHOOK_SECRET must be at least 24 characters (openssl rand -hex 32)').optional(),
  ONAIR_WEBHOOK_ALLOW_PRIVATE: z.enum(['0', '1'], { message: 'ONAIR_WEBHOOK_ALLOW_PRIVATE must be 0 or 1' }).default('0'),
  ONAIR_WEBHOOK_RETRY_FIRST_MS: z.coerce.number().int().min(1).max(WEBHOOK_DEFAULTS.retryMaxMs).default(WEBHOOK_DEFAULTS.retryFirstMs),
};

const webhookEnvSchema = z.object(WEBHOOK_ENV);

type WebhookEnv = z.infer<typeof webhookEnvSchema>;

/** What is wrong across the variables (one line naming the variable), or undefined. */
export const webhookConfigProblem = (e: WebhookEnv): string | undefined =>
  e.ONAIR_WEBHOOK_URL && !e.ONAIR_WEBHOOK_SECRET ? 'ONAIR_WEBHOOK_SECRET: required with ONAIR_WEBHOOK_URL (receivers verify signatures with it)' : undefined;

export const toWebhookConfig = (e: WebhookEnv): WebhookConfig => {
  return { url: e.ONAIR_WEBHOOK_URL, secret: e.ONAIR_WEBHOOK_SECRET, allowPrivate: e.ONAIR_WEBHOOK_ALLOW_PRIVATE === '1', retryFirstMs: e.ONAIR_WEBHOOK_RETRY_FIRST_MS };
};
