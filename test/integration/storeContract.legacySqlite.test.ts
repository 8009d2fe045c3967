/**
 * A user's existing onair.db keeps working: databases made by today's synchronous store (server/store/, its
 * versions in `PRAGMA user_version`) are opened by the Kysely catalogue as they are, and files the catalogue
 * made still open in today's code (a downgrade).
 *
 * The "today's code" here is the real one: server/store/Database.ts and its stores. When the lead switches
 * the callers over and removes them, this file keeps a frozen copy of their schema (the migration strings
 * of server/store/migrations.ts) to make the old files from.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion } from '../../server/store/Database.js';
import { MIGRATIONS } from '../../server/store/migrations.js';
import { ChatStore } from '../../server/store/ChatStore.js';
import { RecordingStore } from '../../server/store/RecordingStore.js';
import { StreamStore } from '../../server/store/StreamStore.js';
import { UserStore } from '../../server/store/UserStore.js';
import { openCatalogue, type Catalogue } from '../../server/store/sql/catalogue.js';
import { MIGRATION_NAMES, SCHEMA_VERSION } from '../../server/store/sql/migrations.js';

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
  it('opens a database of today\'s code as it is: same data, no migration re-run, user_version kept', async () => {
    const file = tmpDb();
    const old = openDatabase(file);
    const users = new UserStore(old);
    const streams = new StreamStore(old);
    const recordings = new RecordingStore(old);
    const ann = users.create({ username: 'Ann', passwordHash: 'scrypt$x', role: 'admin' });
    const s = streams.create({ ownerId: ann.id, title: 'Morning show', description: 'coffee', tags: ['talk', 'news'], visibility: 'public' });
    streams.setStatus(s.id, 'live');
    recordings.start('rec1', s.id);
    recordings.finish('rec1', { status: 'ready', durationSeconds: 61.5, renditions: [720, 360], sizeBytes: 123456 });
    const chat = new ChatStore(old);
    const author = { userId: null, address: '10.0.0.1', session: 'sess' };
    const m1 = chat.add({ id: 'm1', streamId: s.id, at: '2026-11-30T10:00:00.000Z', name: 'guest', role: 'viewer', text: 'hello' }, author);
    chat.saveSettings(s.id, { enabled: true, slowModeSeconds: 3, filter: ['spam'] });
    chat.addSanction(s.id, { kind: 'ban', userId: null, address: '10.0.0.2', session: 's2', until: null });
    const before = {
      user: users.byId(ann.id),
      stream: streams.byId(s.id),
      recording: recordings.byId('rec1'),
      message: chat.byId('m1'),
      settings: chat.settings(s.id),
      sanctions: chat.sanctions(s.id, '2026-11-30T10:00:00.000Z'),
    };
    old.close();

    const c = await catalogue(file);
    expect(c.schemaVersion).toBe(SCHEMA_VERSION);
    expect(await c.users.byUsername('ann')).toEqual(before.user);
    expect(await c.streams.byId(s.id)).toEqual(before.stream);
    expect(await c.recordings.byId('rec1')).toEqual(before.recording);
    expect((await c.streams.listPublic({ tag: 'news', limit: 10, offset: 0 })).total).toBe(1);
    expect(await c.chat.byId('m1')).toEqual(before.message);
    expect(await c.chat.settings(s.id)).toEqual(before.settings);
    expect(await c.chat.sanctions(s.id, '2026-11-30T10:00:00.000Z')).toEqual(before.sanctions);
    // The AUTOINCREMENT sequence goes on from the old rows.
    const m2 = await c.chat.add({ id: 'm2', streamId: s.id, at: '2026-11-30T10:00:01.000Z', name: 'guest', role: 'viewer', text: 'again' }, author);
    expect(m2.seq).toBeGreaterThan(m1.seq);
    // The old NOCASE rule still guards the name.
    await expect(c.users.create({ username: 'ANN', passwordHash: 'h', role: 'broadcaster' })).rejects.toMatchObject({ reason: 'username_taken' });
    await c.close();

    const raw = new BetterSqlite3(file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect((raw.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as { name: string }[]).map((r) => r.name)).toEqual([...MIGRATION_NAMES]);
    raw.close();
  });

  it('takes a version-1 database (before recordings) on from where it stopped', async () => {
    const file = tmpDb();
    const v1 = new BetterSqlite3(file);
    v1.exec(MIGRATIONS[0]!);
    v1.pragma('user_version = 1');
    v1.prepare("INSERT INTO users (id, username, password_hash, role, created_at) VALUES ('u1', 'bob', 'h', 'broadcaster', '2026-01-01T00:00:00.000Z')").run();
    v1.close();

    const c = await catalogue(file);
    expect(await c.users.count()).toBe(1);
    const s = await c.streams.create({ ownerId: 'u1', title: 'T', description: '', tags: [], visibility: 'public' });
    await c.recordings.start('r1', s.id);
    expect((await c.recordings.byId('r1'))?.ownerUsername).toBe('bob');
    await c.close();
    expect(layout(file)).toEqual(layoutOfToday());
  });

  it('makes new files with the very layout of today\'s code (columns, indexes, keys, checks, NOCASE)', async () => {
    const file = tmpDb();
    await (await catalogue(file)).close();
    expect(layout(file)).toEqual(layoutOfToday());
  });

  it('leaves files that today\'s code still opens and uses (a downgrade)', async () => {
    const file = tmpDb();
    const c = await catalogue(file);
    const ann = await c.users.create({ username: 'ann', passwordHash: 'h', role: 'broadcaster' });
    const s = await c.streams.create({ ownerId: ann.id, title: 'New code', description: '', tags: ['a'], visibility: 'public' });
    await c.close();

    const old = openDatabase(file);
    expect(schemaVersion(old)).toBe(MIGRATIONS.length);
    expect(new StreamStore(old).byId(s.id)).toMatchObject({ title: 'New code', tags: ['a'], ownerUsername: 'ann' });
    expect(new UserStore(old).byUsername('ANN')?.id).toBe(ann.id);
    old.close();
  });

  it('refuses a file whose user_version is newer than it knows', async () => {
    const file = tmpDb();
    openDatabase(file).close();
    const raw = new BetterSqlite3(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 3}`);
    raw.close();
    await expect(openCatalogue({ sqliteFile: file })).rejects.toMatchObject({ reason: 'schema_too_new' });
  });
});

function layoutOfToday(): unknown {
  const file = tmpDb();
  openDatabase(file).close();
  return layout(file);
}
