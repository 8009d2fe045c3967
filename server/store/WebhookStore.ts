/**
 * Webhooks and their deliveries (server/webhooks), in the embedded SQLite catalogue.
 *
 * A hook belongs to a user (`ownerId`) and hears about that user's streams; the one hook with id `server` and
 * no owner is the server-wide ONAIR_WEBHOOK_URL, written here at each start (`setServerHook`) so that its
 * deliveries have a row to belong to. Its secret is not kept: it comes from ONAIR_WEBHOOK_SECRET at each start.
 *
 * A delivery is one event for one hook: its exact body (every retry sends the same bytes), its state
 * (`pending` until a 2xx, then `delivered`; `failed` once the retry window is over) and what its last attempt
 * got. Pending rows are the queue: a restart picks them up by `nextAttemptAt` (`due`). Deliveries go with
 * their hook, and hooks with their owner (foreign keys `ON DELETE CASCADE`).
 *
 * The async twin for SQLite and PostgreSQL is server/store/sql/WebhookStore.ts, method for method; the records,
 * the row layout and the conversions between them live there (this class goes at the switch).
 */
import type { Db } from './Database.js';
import {
  SERVER_HOOK_ID,
  deliveryFromRow,
  hookFromRow,
  type DeliveryAttempt,
  type DeliveryRecord,
  type NewDelivery,
  type NewWebhook,
  type WebhookDeliveriesTable,
  type WebhookRecord,
  type WebhooksTable,
} from './sql/WebhookStore.js';

export { SERVER_HOOK_ID } from './sql/WebhookStore.js';
export type { DeliveryAttempt, DeliveryRecord, DeliveryStatus, NewDelivery, NewWebhook, WebhookRecord } from './sql/WebhookStore.js';

export class WebhookStore {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  create(h: NewWebhook): WebhookRecord {
    const createdAt = new Date().toISOString();
    this.#db
      .prepare('INSERT INTO webhooks (id, owner_id, url, secret, events, description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(h.id, h.ownerId, h.url, h.secret, JSON.stringify(h.events), h.description, createdAt);
    return { ...h, createdAt };
  }

  /** The server-wide hook: created or its URL replaced (url), or removed with its deliveries (undefined). */
  setServerHook(url: string | undefined): void {
    if (url === undefined) {
      this.#db.prepare('DELETE FROM webhooks WHERE id = ?').run(SERVER_HOOK_ID);
      return;
    }
    this.#db
      .prepare("INSERT INTO webhooks (id, owner_id, url, secret, created_at) VALUES (?, NULL, ?, '', ?) ON CONFLICT (id) DO UPDATE SET url = excluded.url")
      .run(SERVER_HOOK_ID, url, new Date().toISOString());
  }

  byId(id: string): WebhookRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM webhooks WHERE id = ?').get(id) as WebhooksTable | undefined;
    return row && hookFromRow(row);
  }

  /** A user's hooks, oldest first. */
  listByOwner(ownerId: string): WebhookRecord[] {
    return (this.#db.prepare('SELECT * FROM webhooks WHERE owner_id = ? ORDER BY created_at, id').all(ownerId) as WebhooksTable[]).map(hookFromRow);
  }

  /** The hooks that hear about a stream of `ownerId` (undefined: an owner unknown): the owner's and the server's. */
  audience(ownerId: string | undefined): WebhookRecord[] {
    const rows = this.#db.prepare('SELECT * FROM webhooks WHERE id = ? OR owner_id = ? ORDER BY created_at, id').all(SERVER_HOOK_ID, ownerId ?? null) as WebhooksTable[];
    return rows.map(hookFromRow);
  }

  delete(id: string): boolean {
    return this.#db.prepare('DELETE FROM webhooks WHERE id = ?').run(id).changes > 0;
  }

  /** Queues deliveries, all or none. */
  addDeliveries(list: NewDelivery[]): void {
    const insert = this.#db.prepare(
      'INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.#db.transaction(() => {
      for (const d of list) insert.run(d.id, d.webhookId, d.eventId, d.eventType, d.body, d.createdAt, d.nextAttemptAt);
    })();
  }

  deliveryById(id: string): DeliveryRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM webhook_deliveries WHERE id = ?').get(id) as WebhookDeliveriesTable | undefined;
    return row && deliveryFromRow(row);
  }

  /** Pending deliveries due at `now` (ISO time), the longest-waiting first. */
  due(now: string, limit: number): DeliveryRecord[] {
    const rows = this.#db
      .prepare("SELECT * FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?")
      .all(now, limit) as WebhookDeliveriesTable[];
    return rows.map(deliveryFromRow);
  }

  /** When the earliest pending delivery is due, if any is pending. */
  nextDueAt(): string | undefined {
    const row = this.#db.prepare("SELECT MIN(next_attempt_at) AS at FROM webhook_deliveries WHERE status = 'pending'").get() as { at: string | null };
    return row.at ?? undefined;
  }

  recordAttempt(id: string, a: DeliveryAttempt): void {
    this.#db
      .prepare('UPDATE webhook_deliveries SET status = ?, attempts = ?, last_attempt_at = ?, next_attempt_at = ?, response_status = ?, last_error = ? WHERE id = ?')
      .run(a.status, a.attempts, a.lastAttemptAt, a.nextAttemptAt, a.responseStatus, a.lastError, id);
  }

  /** A hook's delivery log, newest first. */
  deliveries(webhookId: string, page: { limit: number; offset: number }): { deliveries: DeliveryRecord[]; total: number } {
    const total = (this.#db.prepare('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE webhook_id = ?').get(webhookId) as { n: number }).n;
    const rows = this.#db
      .prepare('SELECT * FROM webhook_deliveries WHERE webhook_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?')
      .all(webhookId, page.limit, page.offset) as WebhookDeliveriesTable[];
    return { deliveries: rows.map(deliveryFromRow), total };
  }

  /** Removes finished deliveries created before `before` (ISO time); returns how many. */
  prune(before: string): number {
    return this.#db.prepare("DELETE FROM webhook_deliveries WHERE status != 'pending' AND created_at < ?").run(before).changes;
  }
}
