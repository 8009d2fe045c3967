/**
 * Webhooks: turns OnAir's events into signed HTTP deliveries to the hooks that want them, retried until they
 * are answered with a 2xx or the retry window (24 h) is over, and keeps a log of each.
 *
 * Producers call `emit(type, data)` (the WebhookEmitter interface): it queues the writing of one delivery per
 * interested hook (the stream owner's hooks that take this event type, and the server-wide hook) and returns;
 * it never throws and never waits, so a broken receiver or a store error cannot disturb a broadcast. A
 * stream's events are written one at a time in the order they were emitted (KeyedSerial), so their deliveries
 * are due in that order; a failed write is logged.
 *
 * The deliveries table is the queue. A pump takes the due ones (up to `concurrency` in flight), posts each
 * (postWebhook.ts), and records the attempt: delivered, or pending with the next attempt's time (backoff.ts),
 * or failed once past the window. One timer waits for the next due delivery. Because the queue is in the
 * database, a restart resumes whatever was pending; an attempt cut short by `close()` is not counted and runs
 * again after the restart (receivers deduplicate by `OnAir-Event-Id`).
 *
 * Lifetime: one per server, made in app.ts. Events are queued from construction on; `start()` (once the
 * server is up) begins delivering, with whatever the previous run left pending, so a start-up that fails
 * half-way leaves no timer behind. `close()` stops the pump and the timers, waits for the events being written,
 * gives the attempts in flight a moment (`closeGraceMs`) to finish, then aborts them; `emit` after `close()`
 * still queues (events of the shutdown itself, such as stream.ended, are delivered after the restart). The
 * pump runs one pass at a time (a pass reads the queue, then starts attempts): a wake-up during a pass makes
 * one more pass after it, so no delivery is started twice.
 */
import crypto from 'node:crypto';
import type { Logger } from '../log/logger.js';
import { KeyedSerial } from '../limits/KeyedSerial.js';
import { SERVER_HOOK_ID, type DeliveryRecord, type WebhookRecord, type WebhookStore } from '../store/sql/WebhookStore.js';
import { resolveAllowed, bareHost } from './addressPolicy.js';
import { nextAttemptAt, type RetryPolicy } from './backoff.js';
import type { WebhookBody, WebhookEmitter, WebhookEventData, WebhookEventType } from './events.js';
import { postWebhook } from './postWebhook.js';
import { DELIVERY_ID_HEADER, EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, newWebhookSecret, signatureHeader } from './signature.js';

export interface WebhooksOptions {
  store: WebhookStore;
  /** The owner of a stream, for routing its events (undefined: unknown, only the server-wide hook hears). */
  ownerOf(streamId: string): Promise<string | undefined>;
  /** The server-wide hook (ONAIR_WEBHOOK_URL and its secret), if configured. */
  serverHook: { url: string; secret: string } | undefined;
  allowPrivate: boolean;
  retry: RetryPolicy;
  timeoutMs: number;
  concurrency: number;
  maxHooksPerUser: number;
  /** Finished deliveries older than this leave the log. */
  keepLogMs: number;
  logger: Logger;
  closeGraceMs?: number;
  /** For tests: the jitter's randomness. */
  random?: () => number;
}

export class WebhookLimitError extends Error {
  override name = 'WebhookLimitError';
}

/** The longest the pump sleeps, so that a changed clock or a missed wake-up costs at most this. */
const MAX_SLEEP_MS = 60_000;
const PRUNE_EVERY_MS = 3_600_000;

export class Webhooks implements WebhookEmitter {
  readonly #o: WebhooksOptions;
  readonly #log: Logger;
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #pruneTimer: NodeJS.Timeout | undefined;
  #started = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** The server-wide hook stored (or removed) as configured: events and the pump wait for it. */
  readonly #ready: Promise<void>;
  readonly #perStream = new KeyedSerial();
  readonly #perOwner = new KeyedSerial();
  readonly #writing = new Set<Promise<void>>();
  #pumping = false;
  #pumpAgain = false;

  constructor(opts: WebhooksOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'webhooks' });
    this.#ready = opts.store.setServerHook(opts.serverHook?.url).catch((err: unknown) => this.#log.error({ err }, 'could not store the server-wide webhook'));
  }

  /** Begins delivering: what is queued, including what the previous run left pending. Twice is harmless. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#prune();
    this.#pruneTimer = setInterval(() => this.#prune(), PRUNE_EVERY_MS).unref();
    this.#wake();
  }

  /** Queues the event for every hook that wants it. Never throws. */
  emit<T extends WebhookEventType>(type: T, data: WebhookEventData[T]): void {
    // The event's time is when it happened, not when its write got its turn.
    const createdAt = new Date().toISOString();
    const writing = this.#perStream
      .run(data.streamId, () => this.#write(type, data, createdAt))
      .catch((err: unknown) => this.#log.error({ err, type, streamId: data.streamId }, 'could not queue a webhook event'));
    this.#writing.add(writing);
    void writing.finally(() => this.#writing.delete(writing));
  }

  async #write<T extends WebhookEventType>(type: T, data: WebhookEventData[T], createdAt: string): Promise<void> {
    await this.#ready;
    const hooks = (await this.#o.store.audience(await this.#o.ownerOf(data.streamId))).filter((h) => this.#wants(h, type));
    if (hooks.length === 0) return;
    const body: WebhookBody<T> = { id: `evt_${crypto.randomBytes(12).toString('base64url')}`, type, createdAt, data };
    const json = JSON.stringify(body);
    await this.#o.store.addDeliveries(
      hooks.map((h) => ({ id: `whd_${crypto.randomBytes(12).toString('base64url')}`, webhookId: h.id, eventId: body.id, eventType: type, body: json, createdAt, nextAttemptAt: createdAt })),
    );
    this.#log.debug({ eventId: body.id, type, streamId: data.streamId, hooks: hooks.length }, 'webhook event queued');
    this.#wake();
  }

  /**
   * Makes a user's hook after checking where its URL points (every address the name resolves to); the secret
   * is in the result, and only there. Rejects with AddressRefusedError (a private address), a DNS error, or
   * WebhookLimitError.
   */
  async create(ownerId: string, h: { url: string; events: WebhookEventType[]; description: string }): Promise<WebhookRecord> {
    await resolveAllowed(bareHost(new URL(h.url)), this.#o.allowPrivate);
    // Counted after the address check, next to the insert, one creation of a user at a time: two creations
    // at once cannot both pass the limit (on one node; see KeyedSerial for a cluster).
    return this.#perOwner.run(ownerId, async () => {
      if ((await this.#o.store.listByOwner(ownerId)).length >= this.#o.maxHooksPerUser) {
        throw new WebhookLimitError(`a user may have at most ${this.#o.maxHooksPerUser} webhooks: delete one first`);
      }
      return this.#o.store.create({ id: `wh_${crypto.randomBytes(12).toString('base64url')}`, ownerId, url: h.url, secret: newWebhookSecret(), events: h.events, description: h.description });
    });
  }

  /** Stops delivering; what is pending stays queued for the next start. Twice is harmless. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      clearTimeout(this.#timer);
      clearInterval(this.#pruneTimer);
      await Promise.all(this.#writing);
      const all = Promise.all(this.#inFlight.values());
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([all, new Promise<void>((r) => (grace = setTimeout(r, this.#o.closeGraceMs ?? 2000)))]);
      clearTimeout(grace);
      this.#abort.abort();
      await all;
    })();
    return this.#closing;
  }

  #wants(h: WebhookRecord, type: WebhookEventType): boolean {
    if (h.id === SERVER_HOOK_ID) return this.#o.serverHook !== undefined;
    return h.events.length === 0 || h.events.includes(type);
  }

  #wake(): void {
    if (!this.#started || this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#pump(), 0);
  }

  #pump(): void {
    if (this.#closed) return;
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    void this.#pass().finally(() => {
      this.#pumping = false;
      if (this.#pumpAgain) {
        this.#pumpAgain = false;
        this.#pump();
      }
    });
  }

  /** One pass of the pump: starts the due deliveries there is room for, then sets the timer for the next. */
  async #pass(): Promise<void> {
    clearTimeout(this.#timer);
    try {
      await this.#ready;
      const free = this.#o.concurrency - this.#inFlight.size;
      if (free > 0) {
        const now = new Date().toISOString();
        const due = (await this.#o.store.due(now, free + this.#inFlight.size)).filter((d) => !this.#inFlight.has(d.id)).slice(0, free);
        if (this.#closed) return;
        for (const d of due) {
          const run = this.#attempt(d)
            .catch((err: unknown) => this.#log.error({ err, deliveryId: d.id }, 'webhook attempt failed unexpectedly'))
            .finally(() => {
              this.#inFlight.delete(d.id);
              this.#pump();
            });
          this.#inFlight.set(d.id, run);
        }
      }
      const next = await this.#o.store.nextDueAt();
      if (next === undefined || this.#closed) return;
      const wait = Date.parse(next) - Date.now();
      // Due now but all in flight (or no slot free): a finishing attempt pumps again.
      if (wait <= 0 && this.#inFlight.size > 0) return;
      this.#timer = setTimeout(() => this.#pump(), Math.min(Math.max(wait, 0), MAX_SLEEP_MS)).unref();
    } catch (err) {
      if (this.#closed) return;
      this.#log.error({ err }, 'webhook queue could not be read; trying again in a minute');
      this.#timer = setTimeout(() => this.#pump(), MAX_SLEEP_MS).unref();
    }
  }

  async #attempt(d: DeliveryRecord): Promise<void> {
    const hook = await this.#o.store.byId(d.webhookId);
    if (!hook) return; // deleted meanwhile, with its deliveries
    const secret = hook.id === SERVER_HOOK_ID ? this.#o.serverHook?.secret : hook.secret;
    const startedAt = Date.now();
    const result = secret
      ? await postWebhook(
          hook.url,
          d.body,
          {
            [SIGNATURE_HEADER]: signatureHeader(secret, d.body, Math.floor(startedAt / 1000)),
            [EVENT_ID_HEADER]: d.eventId,
            [EVENT_TYPE_HEADER]: d.eventType,
            [DELIVERY_ID_HEADER]: d.id,
          },
          { timeoutMs: this.#o.timeoutMs, allowPrivate: this.#o.allowPrivate, signal: this.#abort.signal },
        )
      : ({ ok: false, status: null, error: 'the server-wide hook is no longer configured' } as const);
    // Cut short by the shutdown: not an attempt; it runs again after the restart.
    if (this.#abort.signal.aborted && !result.ok) return;
    const attempts = d.attempts + 1;
    const log = { deliveryId: d.id, eventId: d.eventId, type: d.eventType, webhookId: hook.id, attempts };
    if (result.ok) {
      await this.#o.store.recordAttempt(d.id, { status: 'delivered', attempts, lastAttemptAt: new Date(startedAt).toISOString(), nextAttemptAt: null, responseStatus: result.status, lastError: null });
      this.#log.debug({ ...log, status: result.status }, 'webhook delivered');
      return;
    }
    const next = secret ? nextAttemptAt(Date.parse(d.createdAt), Date.now(), attempts, this.#o.retry, this.#o.random) : undefined;
    await this.#o.store.recordAttempt(d.id, {
      status: next === undefined ? 'failed' : 'pending',
      attempts,
      lastAttemptAt: new Date(startedAt).toISOString(),
      nextAttemptAt: next === undefined ? null : new Date(next).toISOString(),
      responseStatus: result.status,
      lastError: result.error,
    });
    if (next === undefined) this.#log.warn({ ...log, error: result.error }, 'webhook delivery given up');
    else this.#log.info({ ...log, error: result.error, retryInMs: next - Date.now() }, 'webhook delivery failed; will retry');
  }

  #prune(): void {
    this.#o.store.prune(new Date(Date.now() - this.#o.keepLogMs).toISOString()).then(
      (removed) => {
        if (removed > 0) this.#log.debug({ removed }, 'old webhook deliveries removed from the log');
      },
      (err: unknown) => this.#log.warn({ err }, 'could not prune the webhook log'),
    );
  }
}
