/**
 * The whole server on PostgreSQL (ONAIR_DATABASE_URL), as a cluster's nodes run it: two OnAir servers started
 * at once on one new database (one migrates, one admin account is made), what one writes the other serves, a
 * stream live on one is live for the other's API, and PostgreSQL going away and coming back under them: 503
 * `not_ready` and /readyz false meanwhile, then the same servers serve again without a restart.
 * PostgreSQL is Debian's, started for this file on a loopback port (test/helpers/postgres.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { ADMIN, startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';

let pgServer: PostgresServer;
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  pgServer = await startPostgres();
  const url = await pgServer.createDatabase();
  [a, b] = await Promise.all([startTestServer({ ONAIR_DATABASE_URL: url }), startTestServer({ ONAIR_DATABASE_URL: url })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await pgServer?.close();
});

describe('OnAir on PostgreSQL', () => {
  it('starts two servers at once on one new database: both ready, one admin account', async () => {
    expect(a.catalogue.engine).toBe('postgres');
    expect(b.catalogue.engine).toBe('postgres');
    for (const s of [a, b]) expect((await s.api('GET', '/readyz')).body).toEqual({ status: 'ready', checks: { workers: true, database: true } });
    expect(await a.catalogue.users.count()).toBe(1);
    // The admin made by whichever server won signs in on both.
    expect(await b.login(ADMIN.username, ADMIN.password)).toBeTruthy();
    expect(await a.login(ADMIN.username, ADMIN.password)).toBeTruthy();
  });

  it('serves on one server what the other wrote, live status included', async () => {
    const ann = await a.broadcaster('ann');
    const made = await a.api('POST', '/api/streams', { token: ann, body: { title: 'Shared show', tags: ['pg'] } });
    expect(made.status).toBe(201);
    const id = made.body.id as string;
    // A token signed by one server is not valid on the other (each made its own JWT secret): public reads only.
    expect((await b.api('GET', `/api/streams/${id}`)).body).toMatchObject({ id, title: 'Shared show', tags: ['pg'], status: 'idle' });
    const { broadcast } = await a.broadcasts.start(id, 'test-publisher');
    try {
      expect((await b.api('GET', '/api/streams?status=live')).body.streams.map((s: { id: string }) => s.id)).toEqual([id]);
    } finally {
      await broadcast.end('test over');
    }
    await until('the end written', async () => (await b.api('GET', `/api/streams/${id}`)).body.status === 'ended');
  });

  it('answers 503 not_ready while PostgreSQL is down, and serves again once it is back, without a restart', async () => {
    await pgServer.stop();
    try {
      const list = await a.api('GET', '/api/streams');
      expect(list.status).toBe(503);
      expect(list.body).toMatchObject({ error: 'not_ready' });
      expect(list.headers.get('retry-after')).toBe('5');
      const ready = await a.api('GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.checks).toEqual({ workers: true, database: false });
    } finally {
      await pgServer.start();
    }
    await until('the catalogue back', async () => (await a.api('GET', '/readyz')).status === 200);
    expect((await a.api('GET', '/api/streams')).body.total).toBe(1);
    expect((await b.api('GET', '/api/streams')).body.total).toBe(1);
  });
});
