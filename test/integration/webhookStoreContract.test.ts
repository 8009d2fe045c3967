/**
 * The webhook store's contract (server/store/sql/WebhookStore.ts) on SQLite and on a real PostgreSQL
 * (test/helpers/postgres.ts): one suite, both engines. Each test gets a fresh database migrated the way OnAir
 * does it (migrateCatalogue), users and streams made by the real stores.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrateCatalogue } from '../../server/store/sql/migrate.js';
import { openPostgres } from '../../server/store/sql/openPostgres.js';
import { openSqlite } from '../../server/store/sql/openSqlite.js';
import type { CatalogueSchema } from '../../server/store/sql/schema.js';
import { SqlUserStore } from '../../server/store/sql/UserStore.js';
import { SERVER_HOOK_ID, SqlWebhookStore, type WebhookStore } from '../../server/store/sql/WebhookStore.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';

interface Target {
  store: WebhookStore;
  /** Creates a user; returns its id. */
  user(name: string): Promise<string>;
  deleteUser(id: string): Promise<void>;
  close(): Promise<void>;
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-webhook-store-'));
let n = 0;
let pgServer: PostgresServer | undefined;
let pgDb: string | undefined;
afterAll(async () => {
  fs.rmSync(root, { recursive: true, force: true });
  await pgServer?.close();
});

function kyselyTarget(db: Kysely<CatalogueSchema>): Target {
  const users = new SqlUserStore(db);
  return {
    store: new SqlWebhookStore(db),
    user: async (name) => (await users.create({ username: name, passwordHash: 'h', role: 'broadcaster' })).id,
    deleteUser: async (id) => void (await db.deleteFrom('users').where('id', '=', id).execute()),
    close: () => db.destroy(),
  };
}

const TARGETS: [string, () => Promise<Target>][] = [
  [
    'SQLite, Kysely',
    async () => {
      const db = openSqlite(path.join(root, `kysely${++n}`, 'onair.db'));
      await migrateCatalogue(db, 'sqlite');
      return kyselyTarget(db);
    },
  ],
  [
    'PostgreSQL, Kysely',
    async () => {
      pgServer ??= await startPostgres();
      pgDb ??= await pgServer.createDatabase();
      const admin = openPostgres({ url: pgDb });
      await admin.schema.dropSchema('public').cascade().execute();
      await admin.schema.createSchema('public').execute();
      await admin.destroy();
      const db = openPostgres({ url: pgDb });
      await migrateCatalogue(db, 'postgres');
      return kyselyTarget(db);
    },
  ],
];

const at = (second: number) => `2026-11-30T10:00:${String(second).padStart(2, '0')}.000Z`;

describe.each(TARGETS)('webhook store contract (%s)', (_name, make) => {
  let t: Target;
  const open: Target[] = [];
  beforeAll(async () => {
    // PostgreSQL's first start takes a few seconds; the tests then reuse its server.
    await (await make()).close();
  }, 60_000);
  afterEach(async () => {
    await Promise.all(open.splice(0).map((x) => x.close()));
  });
  const fresh = async () => {
    t = await make();
    open.push(t);
    return t.store;
  };
  const hook = (id: string, ownerId: string | null, over: Partial<{ url: string; events: string[] }> = {}) => ({
    id,
    ownerId,
    url: over.url ?? `https://hooks.example.com/${id}`,
    secret: `whsec_${id}`,
    events: over.events ?? [],
    description: `hook ${id}`,
  });
  const delivery = (id: string, webhookId: string, second: number, nextSecond = second) => ({
    id,
    webhookId,
    eventId: `evt_${id}`,
    eventType: 'stream.live',
    body: `{"id":"evt_${id}","n":"ünïcode ✓"}`,
    createdAt: at(second),
    nextAttemptAt: at(nextSecond),
  });

  it('creates hooks, finds them by id and owner, and routes a stream owner’s events to the owner’s hooks and the server’s', async () => {
    const s = await fresh();
    const ann = await t.user('ann');
    const bob = await t.user('bob');
    const a1 = await s.create(hook('a1', ann, { events: ['stream.live'] }));
    expect(a1.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    await s.create(hook('b1', bob));
    await s.create(hook('a2', ann));
    expect(await s.byId('a1')).toEqual(a1);
    expect(await s.byId('nope')).toBeUndefined();
    expect((await s.listByOwner(ann)).map((h) => h.id).sort()).toEqual(['a1', 'a2']);
    expect((await s.audience(ann)).map((h) => h.id).sort()).toEqual(['a1', 'a2']);
    await s.setServerHook('https://ops.example.com/hook');
    expect((await s.audience(ann)).map((h) => h.id).sort()).toEqual(['a1', 'a2', SERVER_HOOK_ID]);
    expect((await s.audience(undefined)).map((h) => h.id)).toEqual([SERVER_HOOK_ID]);
    expect(await s.byId(SERVER_HOOK_ID)).toMatchObject({ ownerId: null, url: 'https://ops.example.com/hook', secret: '' });
    // A new URL at the next start replaces the old one; no URL removes the hook.
    await s.setServerHook('https://ops.example.com/v2');
    expect((await s.byId(SERVER_HOOK_ID))?.url).toBe('https://ops.example.com/v2');
    await s.setServerHook(undefined);
    expect(await s.byId(SERVER_HOOK_ID)).toBeUndefined();
  });

  it('refuses a hook of an unknown owner or with a used id', async () => {
    const s = await fresh();
    const ann = await t.user('ann');
    await expect(s.create(hook('x', 'no-such-user'))).rejects.toMatchObject({ reason: 'missing_reference' });
    await s.create(hook('x', ann));
    await expect(s.create(hook('x', ann))).rejects.toMatchObject({ reason: 'duplicate' });
  });

  it('queues deliveries, hands out the due ones in order, records attempts, and keeps a log per hook', async () => {
    const s = await fresh();
    const ann = await t.user('ann');
    await s.create(hook('h', ann));
    await s.create(hook('g', ann));
    await s.addDeliveries([delivery('d1', 'h', 1, 5), delivery('d2', 'h', 2, 3), delivery('d3', 'g', 3, 9)]);
    expect(await s.nextDueAt()).toBe(at(3));
    expect((await s.due(at(5), 10)).map((d) => d.id)).toEqual(['d2', 'd1']);
    expect((await s.due(at(5), 1)).map((d) => d.id)).toEqual(['d2']);
    expect(await s.due(at(2), 10)).toEqual([]);
    const d1 = (await s.deliveryById('d1'))!;
    expect(d1).toEqual({ ...delivery('d1', 'h', 1, 5), status: 'pending', attempts: 0, lastAttemptAt: null, responseStatus: null, lastError: null });

    await s.recordAttempt('d2', { status: 'pending', attempts: 1, lastAttemptAt: at(3), nextAttemptAt: at(7), responseStatus: 500, lastError: 'HTTP 500' });
    await s.recordAttempt('d1', { status: 'delivered', attempts: 1, lastAttemptAt: at(5), nextAttemptAt: null, responseStatus: 204, lastError: null });
    expect((await s.due(at(6), 10)).map((d) => d.id)).toEqual([]);
    expect(await s.nextDueAt()).toBe(at(7));
    expect(await s.deliveryById('d2')).toMatchObject({ status: 'pending', attempts: 1, responseStatus: 500, lastError: 'HTTP 500', nextAttemptAt: at(7) });

    const log = await s.deliveries('h', { limit: 10, offset: 0 });
    expect(log.total).toBe(2);
    expect(log.deliveries.map((d) => [d.id, d.status, d.responseStatus])).toEqual([
      ['d2', 'pending', 500],
      ['d1', 'delivered', 204],
    ]);
    expect((await s.deliveries('h', { limit: 1, offset: 1 })).deliveries.map((d) => d.id)).toEqual(['d1']);

    // Finished deliveries older than the cut-off go; pending ones stay whatever their age.
    expect(await s.prune(at(10))).toBe(1);
    expect((await s.deliveries('h', { limit: 10, offset: 0 })).deliveries.map((d) => d.id)).toEqual(['d2']);
    await s.recordAttempt('d3', { status: 'failed', attempts: 9, lastAttemptAt: at(9), nextAttemptAt: null, responseStatus: null, lastError: 'connect ECONNREFUSED' });
    expect(await s.nextDueAt()).toBe(at(7));
    await s.recordAttempt('d2', { status: 'failed', attempts: 2, lastAttemptAt: at(7), nextAttemptAt: null, responseStatus: 503, lastError: 'HTTP 503' });
    expect(await s.nextDueAt()).toBeUndefined();
  });

  it('queues a batch all or none', async () => {
    const s = await fresh();
    const ann = await t.user('ann');
    await s.create(hook('h', ann));
    await expect(s.addDeliveries([delivery('d1', 'h', 1), delivery('d2', 'no-such-hook', 1)])).rejects.toMatchObject({ reason: 'missing_reference' });
    expect(await s.deliveryById('d1')).toBeUndefined();
  });

  it('takes deliveries with their hook, and hooks with their owner', async () => {
    const s = await fresh();
    const ann = await t.user('ann');
    await s.create(hook('h', ann));
    await s.create(hook('g', ann));
    await s.addDeliveries([delivery('d1', 'h', 1), delivery('d2', 'g', 1)]);
    expect(await s.delete('h')).toBe(true);
    expect(await s.delete('h')).toBe(false);
    expect(await s.deliveryById('d1')).toBeUndefined();
    await t.deleteUser(ann);
    expect(await s.byId('g')).toBeUndefined();
    expect(await s.deliveryById('d2')).toBeUndefined();
    expect(await s.nextDueAt()).toBeUndefined();
  });
});
