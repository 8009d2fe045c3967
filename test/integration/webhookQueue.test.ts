/**
 * The delivery queue on its own (server/webhooks/Webhooks.ts): real SQLite file, real HTTP receiver on
 * 127.0.0.1, short retry settings. What a restart does to pending deliveries, when a delivery is given up,
 * a receiver that never answers, and a shutdown in the middle of an attempt.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { toStoreError } from '../../server/store/sql/errors.js';
import { createLogger } from '../../server/log/logger.js';
import { openCatalogue } from '../../server/store/sql/catalogue.js';
import type { WebhookStore } from '../../server/store/sql/WebhookStore.js';
import { Webhooks, type WebhooksOptions } from '../../server/webhooks/Webhooks.js';
import { WEBHOOK_DEFAULTS } from '../../server/webhooks/webhookConfig.js';
import { catalogueSql } from '../helpers/catalogueSql.js';
import { until } from '../helpers/until.js';
import { docNodeVerifier, startReceiver, type Receiver } from '../helpers/webhookReceiver.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Setup {
  dataDir: string;
  store: WebhookStore;
  rx: Receiver;
  streamId: string;
  hookId: string;
  secret: string;
  start(over?: Partial<WebhooksOptions>): Webhooks;
}

async function setup(): Promise<Setup> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-webhook-queue-'));
  const catalogue = await openCatalogue({ sqliteFile: path.join(dir, 'onair.db') });
  const rx = await startReceiver();
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }), () => catalogue.close(), () => rx.close());
  const { streams, webhooks: store } = catalogue;
  const ann = await catalogue.users.create({ username: 'ann', passwordHash: 'h', role: 'broadcaster' });
  const stream = await streams.create({ ownerId: ann.id, title: 'Show', description: '', tags: [], visibility: 'public' });
  const hook = await store.create({ id: 'wh_queuequeuequeue1', ownerId: ann.id, url: `${rx.url}/hook`, secret: 'whsec_queue', events: [], description: '' });
  const start = (over: Partial<WebhooksOptions> = {}) => {
    const w = new Webhooks({
      ...WEBHOOK_DEFAULTS,
      store,
      ownerOf: async (id) => (await streams.byId(id))?.ownerId,
      serverHook: undefined,
      allowPrivate: true,
      retry: { firstMs: 50, maxMs: 200, windowMs: 60_000 },
      logger: createLogger('silent'),
      ...over,
    });
    cleanups.push(() => w.close());
    w.start();
    return w;
  };
  return { dataDir: dir, store, rx, streamId: stream.id, hookId: hook.id, secret: hook.secret, start };
}

const live = (streamId: string) => ({ streamId, title: 'Show', startedAt: new Date().toISOString() });

describe('webhook delivery queue', () => {
  it('resumes pending deliveries after a restart, with the same event id, and delivers them', async () => {
    const t = await setup();
    t.rx.respond = () => 503;
    const first = t.start();
    first.emit('stream.live', live(t.streamId));
    const failed = await until('a failed attempt', async () => (await t.store.deliveries(t.hookId, { limit: 1, offset: 0 })).deliveries.find((d) => d.attempts >= 1));
    await first.close();
    expect((await t.store.deliveryById(failed.id))?.status).toBe('pending');
    const before = t.rx.at('/hook').length;

    // The receiver is back; OnAir starts again on the same database.
    t.rx.respond = () => 200;
    t.start();
    const done = await until('delivered after the restart', async () => {
      const d = await t.store.deliveryById(failed.id);
      return d?.status === 'delivered' ? d : undefined;
    });
    const after = t.rx.at('/hook').slice(before);
    expect(after).toHaveLength(1);
    expect(after[0]!.headers['onair-event-id']).toBe(failed.eventId);
    expect((await docNodeVerifier())(after[0]!.body, after[0]!.headers['onair-signature'] as string, t.secret)).toMatchObject({ id: failed.eventId, type: 'stream.live' });
    expect(done).toMatchObject({ responseStatus: 200, lastError: null, nextAttemptAt: null });
    expect(done.attempts).toBeGreaterThanOrEqual(2);
  });

  it('gives a delivery up once the retry window is over, and sends nothing more', async () => {
    const t = await setup();
    t.rx.respond = () => 500;
    const w = t.start({ retry: { firstMs: 20, maxMs: 40, windowMs: 300 } });
    w.emit('stream.live', live(t.streamId));
    const d = await until('given up', async () => (await t.store.deliveries(t.hookId, { limit: 1, offset: 0 })).deliveries.find((x) => x.status === 'failed'));
    expect(d).toMatchObject({ status: 'failed', nextAttemptAt: null, responseStatus: 500, lastError: 'HTTP 500' });
    expect(d.attempts).toBeGreaterThanOrEqual(2);
    expect(t.rx.at('/hook')).toHaveLength(d.attempts);
    // Nothing is due any more: the queue is empty.
    expect(await t.store.nextDueAt()).toBeUndefined();
  });

  it('bounds an attempt to a receiver that never answers, and retries it', async () => {
    const t = await setup();
    const sockets: import('node:net').Socket[] = [];
    // Accepts the connection, reads the request, never answers.
    const net = await import('node:net');
    const silent = net.createServer((s) => sockets.push(s.on('data', () => undefined)));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), silent.close(() => r()))));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    await t.store.create({ id: 'wh_silentsilentsile', ownerId: (await t.store.byId(t.hookId))!.ownerId, url: `http://127.0.0.1:${port}/`, secret: 's', events: [], description: '' });
    await t.store.delete(t.hookId);
    const w = t.start({ timeoutMs: 300 });
    w.emit('stream.live', live(t.streamId));
    const d = await until('a timed-out attempt', async () => (await t.store.deliveries('wh_silentsilentsile', { limit: 1, offset: 0 })).deliveries.find((x) => x.attempts >= 1));
    expect(d).toMatchObject({ status: 'pending', responseStatus: null, lastError: 'no answer within 0.3 s' });
  });

  it('does not count an attempt cut short by the shutdown; the delivery stays pending for the next start', async () => {
    const t = await setup();
    const net = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    let connected!: () => void;
    const reached = new Promise<void>((r) => (connected = r));
    const silent = net.createServer((s) => {
      sockets.push(s);
      connected();
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), silent.close(() => r()))));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    await t.store.create({ id: 'wh_shutdownshutdown', ownerId: (await t.store.byId(t.hookId))!.ownerId, url: `http://127.0.0.1:${port}/`, secret: 's', events: [], description: '' });
    await t.store.delete(t.hookId);
    const w = t.start({ closeGraceMs: 50 });
    w.emit('stream.live', live(t.streamId));
    await reached;
    await w.close();
    const d = (await t.store.deliveries('wh_shutdownshutdown', { limit: 1, offset: 0 })).deliveries[0]!;
    expect(d).toMatchObject({ status: 'pending', attempts: 0, lastError: null });
    // Events emitted after the shutdown are still queued, for the next start.
    w.emit('stream.live', live(t.streamId));
    await until('the second event queued', async () => (await t.store.deliveries('wh_shutdownshutdown', { limit: 5, offset: 0 })).total === 2);
  });

  it('stores no hook for an account removed while its address was being checked', async () => {
    const t = await setup();
    const w = t.start();
    const owner = (await t.store.byId(t.hookId))!.ownerId!;
    const creating = w.create(owner, { url: 'http://localhost:9/x', events: [], description: '' });
    // The name is being resolved (an await): the account goes meanwhile.
    catalogueSql(t, (db) => db.prepare('DELETE FROM users WHERE id = ?').run(owner));
    const err = await creating.catch((e: unknown) => e);
    expect(toStoreError(err)).toMatchObject({ reason: 'missing_reference' });
    expect(await t.store.listByOwner(owner)).toEqual([]);
  });

  it('sends an event of a stream nobody owns (deleted) to the server-wide hook only, signed with ONAIR_WEBHOOK_SECRET', async () => {
    const t = await setup();
    const w = t.start({ serverHook: { url: `${t.rx.url}/server`, secret: 'server-secret-0123456789abcdef' } });
    w.emit('stream.ended', { streamId: 'no-such-stream', title: null, reason: 'deleted', endedAt: new Date().toISOString() });
    const r = await until('the server-wide delivery', () => t.rx.at('/server')[0]);
    expect((await docNodeVerifier())(r.body, r.headers['onair-signature'] as string, 'server-secret-0123456789abcdef')).toMatchObject({ type: 'stream.ended', data: { streamId: 'no-such-stream' } });
    expect(t.rx.at('/hook')).toEqual([]);
  });
});
