/**
 * A user's existing onair.db keeps working: databases made by OnAir's pre-Kysely synchronous store (its
 * versions in `PRAGMA user_version`; its schema kept frozen in test/helpers/legacySqliteSchema.ts since that
 * code was removed) are opened by the Kysely catalogue as they are, and migrated on from where they stopped.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openCatalogue, type Catalogue } from '../../server/store/sql/catalogue.js';
import { MIGRATION_NAMES, SCHEMA_VERSION } from '../../server/store/sql/migrations.js';
import { LEGACY_SCHEMA_VERSION, makeLegacySqlite } from '../helpers/legacySqliteSchema.js';

const dirs: string[] = [];
const open: Catalogue[] = [];
const tmpDb = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-legacy-'));
  dirs.push(d);
  return path.join(d, 'onair.db');
};
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
});
const catalogue = async (file: string) => {
  const c = await openCatalogue({ sqliteFile: file });
  open.push(c);
  return c;
};

/** Table layouts as SQLite reports them: columns, indexes, foreign keys. */
function layout(file: string): unknown {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'kysely_%' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    return Object.fromEntries(
      tables.map((t) => [
        t,
        {
          columns: (db.pragma(`table_info(${t})`) as { type: string }[]).map((col) => ({ ...col, type: col.type.toLowerCase() })),
          indexes: (db.pragma(`index_list(${t})`) as { name: string; unique: number; origin: string }[])
            .map((i) => ({ unique: i.unique, origin: i.origin, columns: (db.pragma(`index_info(${i.name})`) as { name: string }[]).map((c) => c.name), name: i.origin === 'c' ? i.name : '(auto)' }))
            .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
          foreignKeys: db.pragma(`foreign_key_list(${t})`),
          // The CHECKs and COLLATE NOCASE only show in the CREATE text: compare it without spacing, case and quotes.
          sqlWords: (db.prepare("SELECT sql FROM sqlite_master WHERE name = ?").get(t) as { sql: string }).sql.toLowerCase().replace(/["`]/g, '').replace(/\s+/g, ' ').match(/nocase|autoincrement|check\s*\([^)]*\)/g),
        },
      ]),
    );
  } finally {
    db.close();
  }
}

describe('existing SQLite databases (made before Kysely)', () => {
  it('opens a database of the old code as it is: same data, no migration re-run, its live rows this machine\'s', async () => {
    const file = tmpDb();
    const old = makeLegacySqlite(file);
    old.exec(`
      INSERT INTO users (id, username, password_hash, role, created_at) VALUES ('u1', 'Ann', 'scrypt$x', 'admin', '2026-11-01T00:00:00.000Z');
      INSERT INTO streams (id, owner_id, title, description, tags, visibility, status, stream_key, created_at, updated_at, started_at)
        VALUES ('s1', 'u1', 'Morning show', 'coffee', '["talk","news"]', 'public', 'live', 'sk_old', '2026-11-01T00:00:00.000Z', '2026-11-01T01:00:00.000Z', '2026-11-01T01:00:00.000Z');
      INSERT INTO stream_tags (stream_id, tag) VALUES ('s1', 'talk'), ('s1', 'news');
      INSERT INTO recordings (id, stream_id, status, started_at, ended_at, duration_seconds, renditions, size_bytes)
        VALUES ('rec1', 's1', 'ready', '2026-11-01T00:10:00.000Z', '2026-11-01T00:11:01.500Z', 61.5, '[720,360]', 123456);
      INSERT INTO recordings (id, stream_id, status, started_at) VALUES ('rec2', 's1', 'recording', '2026-11-01T01:00:00.000Z');
      INSERT INTO chat_messages (id, stream_id, at, name, role, user_id, address, session, text)
        VALUES ('m1', 's1', '2026-11-30T10:00:00.000Z', 'guest', 'viewer', NULL, '10.0.0.1', 'sess', 'hello');
      INSERT INTO chat_settings (stream_id, enabled, slow_mode_seconds, filter) VALUES ('s1', 1, 3, '["spam"]');
      INSERT INTO chat_sanctions (stream_id, kind, address, session, until, created_at) VALUES ('s1', 'ban', '10.0.0.2', 's2', NULL, '2026-11-30T09:00:00.000Z');
    `);
    old.close();

    const c = await catalogue(file);
    expect(c.schemaVersion).toBe(SCHEMA_VERSION);
    expect(await c.users.byUsername('ann')).toEqual({ id: 'u1', username: 'Ann', passwordHash: 'scrypt$x', role: 'admin', createdAt: '2026-11-01T00:00:00.000Z' });
    expect(await c.streams.byKey('sk_old')).toMatchObject({ id: 's1', title: 'Morning show', tags: ['talk', 'news'], status: 'live', ownerUsername: 'Ann' });
    expect(await c.recordings.byId('rec1')).toMatchObject({ status: 'ready', durationSeconds: 61.5, renditions: [720, 360], sizeBytes: 123456, title: 'Morning show' });
    expect((await c.streams.listPublic({ tag: 'news', limit: 10, offset: 0 })).total).toBe(1);
    expect(await c.chat.byId('m1')).toMatchObject({ text: 'hello', author: { userId: null, address: '10.0.0.1', session: 'sess' } });
    expect(await c.chat.settings('s1')).toEqual({ enabled: true, slowModeSeconds: 3, filter: ['spam'] });
    expect(await c.chat.sanctions('s1', '2026-11-30T10:00:00.000Z')).toMatchObject([{ kind: 'ban', address: '10.0.0.2', until: null }]);
    // The AUTOINCREMENT sequence goes on from the old rows.
    const m2 = await c.chat.add({ id: 'm2', streamId: 's1', at: '2026-11-30T10:00:01.000Z', name: 'guest', role: 'viewer', text: 'again' }, { userId: null, address: '10.0.0.1', session: 'sess' });
    expect(m2.seq).toBeGreaterThan(1);
    // The old NOCASE rule still guards the name.
    await expect(c.users.create({ username: 'ANN', passwordHash: 'h', role: 'broadcaster' })).rejects.toMatchObject({ reason: 'username_taken' });
    // What the one machine left live or recording is its own: the first start ends and recovers it.
    expect((await c.recordings.unfinished()).map((r) => r.id)).toEqual(['rec2']);
    expect(await c.streams.endAllLive()).toBe(1);
    await c.close();

    const raw = new BetterSqlite3(file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect((raw.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as { name: string }[]).map((r) => r.name)).toEqual([...MIGRATION_NAMES]);
    raw.close();
  });

  it('takes a version-1 database (before recordings) on from where it stopped', async () => {
    const file = tmpDb();
    const v1 = makeLegacySqlite(file, 1);
    v1.prepare("INSERT INTO users (id, username, password_hash, role, created_at) VALUES ('u1', 'bob', 'h', 'broadcaster', '2026-01-01T00:00:00.000Z')").run();
    v1.close();

    const c = await catalogue(file);
    expect(await c.users.count()).toBe(1);
    const s = await c.streams.create({ ownerId: 'u1', title: 'T', description: '', tags: [], visibility: 'public' });
    await c.recordings.start('r1', s.id);
    expect((await c.recordings.byId('r1'))?.ownerUsername).toBe('bob');
    await c.close();
    expect(layout(file)).toEqual(await layoutOfNewFile());
  });

  it('gives an old file the very layout of a new one (the Kysely migrations make what the old code made, then go on)', async () => {
    // The old code's last version, taken over: only the migrations after it run. A new file runs them all.
    // Equal layouts (columns, indexes, keys, checks, NOCASE) mean the first ones made exactly the old schema.
    const file = tmpDb();
    makeLegacySqlite(file).close();
    await (await catalogue(file)).close();
    expect(layout(file)).toEqual(await layoutOfNewFile());
    expect(SCHEMA_VERSION).toBeGreaterThan(LEGACY_SCHEMA_VERSION);
  });

  it('leaves a version the old code refuses (it reads only user_version, and would not run on a schema it does not know)', async () => {
    const file = tmpDb();
    await (await catalogue(file)).close();
    const raw = new BetterSqlite3(file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    raw.close();
  });

  it('refuses a file whose user_version is newer than it knows', async () => {
    const file = tmpDb();
    makeLegacySqlite(file).close();
    const raw = new BetterSqlite3(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 3}`);
    raw.close();
    await expect(openCatalogue({ sqliteFile: file })).rejects.toMatchObject({ reason: 'schema_too_new' });
  });
});

async function layoutOfNewFile(): Promise<unknown> {
  const file = tmpDb();
  await (await openCatalogue({ sqliteFile: file })).close();
  return layout(file);
}
