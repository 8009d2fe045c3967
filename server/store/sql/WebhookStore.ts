/**
 * Webhooks and their deliveries (server/webhooks) on either engine.
 *
 * The switch: this `WebhookStore` interface replaces the synchronous class `WebhookStore` of
 * server/store/WebhookStore.ts, method for method, each now returning a promise. The caller
 * (server/webhooks/Webhooks.ts, built in app.ts) adds `await`; catalogue.ts gains
 * `webhooks: new SqlWebhookStore(db)`. Until then this store is reached as tests reach it: on a Kysely
 * handle migrated by `migrateCatalogue` (webhookStoreContract.test.ts).
 *
 * The tables are described here, not in schema.ts, and added to the catalogue's type with Kysely's
 * `withTables`: the store is the only code that reads them. `attempts` and `response_status` are `integer` on
 * both engines (4 bytes on PostgreSQL is plenty); times are ISO-8601 UTC text, which sorts as time on both.
 */
import type { Kysely } from 'kysely';
import { translated } from './errors.js';
import { toNumber } from './numbers.js';
import type { CatalogueSchema } from './schema.js';

export const SERVER_HOOK_ID = 'server';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookRecord {
  id: string;
  /** Null: the server-wide hook. */
  ownerId: string | null;
  url: string;
  secret: string;
  /** Event types this hook wants; empty: all of them. */
  events: string[];
  description: string;
  createdAt: string;
}

export type NewWebhook = Omit<WebhookRecord, 'createdAt'>;

export interface DeliveryRecord {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  createdAt: string;
  /** When the next attempt is due (pending only). */
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  responseStatus: number | null;
  lastError: string | null;
}

export type NewDelivery = Pick<DeliveryRecord, 'id' | 'webhookId' | 'eventId' | 'eventType' | 'body' | 'createdAt' | 'nextAttemptAt'>;

/** What one attempt changed. */
export interface DeliveryAttempt {
  status: DeliveryStatus;
  attempts: number;
  lastAttemptAt: string;
  nextAttemptAt: string | null;
  responseStatus: number | null;
  lastError: string | null;
}


export interface WebhooksTable {
  id: string;
  /** Null: the server-wide hook (id `server`). */
  owner_id: string | null;
  url: string;
  secret: string;
  /** Event types as a JSON array; empty: all. */
  events: string;
  description: string;
  created_at: string;
}

export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  body: string;
  status: DeliveryStatus;
  attempts: number | string;
  created_at: string;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  response_status: number | string | null;
  last_error: string | null;
}

// A type alias, not an interface: withTables wants a type with an implicit index signature.
export type WebhookTables = {
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
};

export interface WebhookStore {
  /** Rejects with StoreError `missing_reference` for an unknown owner, `duplicate` for a used id. */
  create(h: NewWebhook): Promise<WebhookRecord>;
  /** The server-wide hook: created or its URL replaced (url), or removed with its deliveries (undefined). */
  setServerHook(url: string | undefined): Promise<void>;
  byId(id: string): Promise<WebhookRecord | undefined>;
  /** A user's hooks, oldest first. */
  listByOwner(ownerId: string): Promise<WebhookRecord[]>;
  /** The owner's hooks and the server's. */
  audience(ownerId: string | undefined): Promise<WebhookRecord[]>;
  delete(id: string): Promise<boolean>;
  /** Queues deliveries, all or none. */
  addDeliveries(list: NewDelivery[]): Promise<void>;
  deliveryById(id: string): Promise<DeliveryRecord | undefined>;
  /** Pending deliveries due at `now`, the longest-waiting first. */
  due(now: string, limit: number): Promise<DeliveryRecord[]>;
  nextDueAt(): Promise<string | undefined>;
  recordAttempt(id: string, a: DeliveryAttempt): Promise<void>;
  /** A hook's delivery log, newest first. */
  deliveries(webhookId: string, page: { limit: number; offset: number }): Promise<{ deliveries: DeliveryRecord[]; total: number }>;
  /** Removes finished deliveries created before `before`; returns how many. */
  prune(before: string): Promise<number>;
}

type Db = Kysely<CatalogueSchema & WebhookTables>;

export const hookFromRow = (r: WebhooksTable): WebhookRecord => ({
  id: r.id,
  ownerId: r.owner_id,
  url: r.url,
  secret: r.secret,
  events: JSON.parse(r.events) as string[],
  description: r.description,
  createdAt: r.created_at,
});

export const deliveryFromRow = (r: WebhookDeliveriesTable): DeliveryRecord => ({
  id: r.id,
  webhookId: r.webhook_id,
  eventId: r.event_id,
  eventType: r.event_type,
  body: r.body,
  status: r.status,
  attempts: toNumber(r.attempts),
  createdAt: r.created_at,
  nextAttemptAt: r.next_attempt_at,
  lastAttemptAt: r.last_attempt_at,
  responseStatus: r.response_status === null ? null : toNumber(r.response_status),
  lastError: r.last_error,
});

export class SqlWebhookStore implements WebhookStore {
  readonly #db: Db;

  constructor(db: Kysely<CatalogueSchema>) {
    this.#db = db.withTables<WebhookTables>();
  }

  create(h: NewWebhook): Promise<WebhookRecord> {
    return translated(async () => {
      const createdAt = new Date().toISOString();
      await this.#db
        .insertInto('webhooks')
        .values({ id: h.id, owner_id: h.ownerId, url: h.url, secret: h.secret, events: JSON.stringify(h.events), description: h.description, created_at: createdAt })
        .execute();
      return { ...h, createdAt };
    });
  }

  setServerHook(url: string | undefined): Promise<void> {
    return translated(async () => {
      if (url === undefined) {
        await this.#db.deleteFrom('webhooks').where('id', '=', SERVER_HOOK_ID).execute();
        return;
      }
      await this.#db
        .insertInto('webhooks')
        .values({ id: SERVER_HOOK_ID, owner_id: null, url, secret: '', events: '[]', description: '', created_at: new Date().toISOString() })
        .onConflict((oc) => oc.column('id').doUpdateSet((eb) => ({ url: eb.ref('excluded.url') })))
        .execute();
    });
  }

  byId(id: string): Promise<WebhookRecord | undefined> {
    return translated(async () => {
      const row = await this.#db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
      return row && hookFromRow(row);
    });
  }

  listByOwner(ownerId: string): Promise<WebhookRecord[]> {
    return translated(async () => {
      const rows = await this.#db.selectFrom('webhooks').selectAll().where('owner_id', '=', ownerId).orderBy('created_at').orderBy('id').execute();
      return rows.map(hookFromRow);
    });
  }

  audience(ownerId: string | undefined): Promise<WebhookRecord[]> {
    return translated(async () => {
      const rows = await this.#db
        .selectFrom('webhooks')
        .selectAll()
        .where((eb) => (ownerId === undefined ? eb('id', '=', SERVER_HOOK_ID) : eb.or([eb('id', '=', SERVER_HOOK_ID), eb('owner_id', '=', ownerId)])))
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(hookFromRow);
    });
  }

  delete(id: string): Promise<boolean> {
    return translated(async () => {
      const r = await this.#db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
      return r.numDeletedRows > 0n;
    });
  }

  addDeliveries(list: NewDelivery[]): Promise<void> {
    return translated(async () => {
      if (list.length === 0) return;
      await this.#db
        .insertInto('webhook_deliveries')
        .values(
          list.map((d) => ({
            id: d.id,
            webhook_id: d.webhookId,
            event_id: d.eventId,
            event_type: d.eventType,
            body: d.body,
            status: 'pending' as const,
            attempts: 0,
            created_at: d.createdAt,
            next_attempt_at: d.nextAttemptAt,
            last_attempt_at: null,
            response_status: null,
            last_error: null,
          })),
        )
        .execute();
    });
  }

  deliveryById(id: string): Promise<DeliveryRecord | undefined> {
    return translated(async () => {
      const row = await this.#db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
      return row && deliveryFromRow(row);
    });
  }

  due(now: string, limit: number): Promise<DeliveryRecord[]> {
    return translated(async () => {
      const rows = await this.#db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .orderBy('next_attempt_at')
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map(deliveryFromRow);
    });
  }

  nextDueAt(): Promise<string | undefined> {
    return translated(async () => {
      const row = await this.#db
        .selectFrom('webhook_deliveries')
        .select((eb) => eb.fn.min('next_attempt_at').as('at'))
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return row?.at ?? undefined;
    });
  }

  recordAttempt(id: string, a: DeliveryAttempt): Promise<void> {
    return translated(async () => {
      await this.#db
        .updateTable('webhook_deliveries')
        .set({
          status: a.status,
          attempts: a.attempts,
          last_attempt_at: a.lastAttemptAt,
          next_attempt_at: a.nextAttemptAt,
          response_status: a.responseStatus,
          last_error: a.lastError,
        })
        .where('id', '=', id)
        .execute();
    });
  }

  deliveries(webhookId: string, page: { limit: number; offset: number }): Promise<{ deliveries: DeliveryRecord[]; total: number }> {
    return translated(async () => {
      const { n } = await this.#db
        .selectFrom('webhook_deliveries')
        .where('webhook_id', '=', webhookId)
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow();
      const rows = await this.#db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('webhook_id', '=', webhookId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(page.limit)
        .offset(page.offset)
        .execute();
      return { deliveries: rows.map(deliveryFromRow), total: toNumber(n) };
    });
  }

  prune(before: string): Promise<number> {
    return translated(async () => {
      const r = await this.#db.deleteFrom('webhook_deliveries').where('status', '<>', 'pending').where('created_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  }
}
