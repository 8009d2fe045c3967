/**
 * The catalogue contract (storeContract.ts) on a real PostgreSQL 15 (Debian's package, started for this file
 * by test/helpers/postgres.ts): an empty database per test. Then what only a server engine has: several nodes
 * migrating one database at once, and the server going away and coming back.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCatalogue, type Catalogue } from '../../server/store/sql/catalogue.js';
import { StoreError } from '../../server/store/sql/errors.js';
import { SCHEMA_VERSION } from '../../server/store/sql/migrations.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { describeStoreContract } from './storeContract.js';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.close();
});

async function exec(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

// One database for the contract, emptied before each test (its schema dropped and made again: the tables,
// the migrations' record and the identity sequences go). CREATE DATABASE costs ~0.5 s; this, ~50 ms.
let contractDb: string | undefined;

describeStoreContract({
  engine: 'postgres',
  newDatabase: async () => {
    contractDb ??= await server.createDatabase();
    await exec(contractDb, 'DROP SCHEMA public CASCADE; CREATE SCHEMA public');
    return { databaseUrl: contractDb, sqliteFile: '/nonexistent/never-used.db' };
  },
  exec: (db, statement) => exec(db.databaseUrl!, statement),
});

describe('catalogue on PostgreSQL, as a cluster uses it', () => {
  it('lets several nodes open and migrate one new database at once; one migrates, all work', async () => {
    const url = await server.createDatabase();
    const nodes: Catalogue[] = await Promise.all([1, 2, 3, 4].map(() => openCatalogue({ databaseUrl: url, sqliteFile: '' })));
    try {
      expect(nodes.map((n) => n.schemaVersion)).toEqual([1, 2, 3, 4].map(() => SCHEMA_VERSION));
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query<{ name: string }>('SELECT name FROM kysely_migration ORDER BY name');
      await client.end();
      expect(rows).toHaveLength(SCHEMA_VERSION);
      // What one node writes, every node reads.
      const ann = await nodes[0]!.users.create({ username: 'ann', passwordHash: 'h', role: 'broadcaster' });
      const s = await nodes[1]!.streams.create({ ownerId: ann.id, title: 'Shared', description: '', tags: ['x'], visibility: 'public' });
      expect((await nodes[2]!.streams.byId(s.id))?.ownerUsername).toBe('ann');
      await expect(nodes[3]!.users.create({ username: 'ANN', passwordHash: 'h', role: 'admin' })).rejects.toMatchObject({ reason: 'username_taken' });
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });

  it('fails fast with StoreError unavailable while the server is down, and recovers by itself when it is back', async () => {
    const url = await server.createDatabase();
    const poolErrors: Error[] = [];
    const c = await openCatalogue({ databaseUrl: url, sqliteFile: '', onPoolError: (e) => poolErrors.push(e) });
    try {
      const ann = await c.users.create({ username: 'ann', passwordHash: 'h', role: 'broadcaster' });
      await server.stop();
      const err = await c.users.byId(ann.id).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect(err).toMatchObject({ reason: 'unavailable' });
      await server.start();
      // The pool drops the dead connections and makes new ones: no restart of the node.
      expect((await c.users.byId(ann.id))?.username).toBe('ann');
    } finally {
      await c.close();
    }
  });

  it('refuses a URL that is not PostgreSQL, without echoing its password', async () => {
    const err = await openCatalogue({ databaseUrl: 'mysql://root:hunter2@127.0.0.1/onair', sqliteFile: '' }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/postgres:\/\//);
    expect(String(err)).not.toContain('hunter2');
    const unreachable = await openCatalogue({ databaseUrl: 'postgres://onair:hunter2@127.0.0.1:1/onair', sqliteFile: '' }).catch((e: unknown) => e);
    expect(unreachable).toMatchObject({ reason: 'unavailable' });
    expect(String(unreachable)).not.toContain('hunter2');
  });
});
