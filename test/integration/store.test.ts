import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../server/store/migrations.js';
import { openDatabase, schemaVersion, type Db } from '../../server/store/Database.js';
import { StreamStore } from '../../server/store/StreamStore.js';
import { UserStore } from '../../server/store/UserStore.js';

const dirs: string[] = [];
const tmpDb = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-store-'));
  dirs.push(d);
  return path.join(d, 'onair.db');
};
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('SQLite store', () => {
  it('migrates to the latest schema in WAL mode', () => {
    const db = openDatabase(tmpDb());
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('keeps users and streams across a restart', () => {
    const file = tmpDb();
    let db: Db = openDatabase(file);
    const user = new UserStore(db).create({ username: 'ann', passwordHash: 'h', role: 'broadcaster' });
    const s = new StreamStore(db).create({ ownerId: user.id, title: 'Morning show', description: 'coffee', tags: ['talk', 'news'], visibility: 'public' });
    new StreamStore(db).setStatus(s.id, 'live');
    db.close();

    db = openDatabase(file);
    const streams = new StreamStore(db);
    expect(new UserStore(db).byUsername('ANN')?.id).toBe(user.id);
    const again = streams.byId(s.id)!;
    expect(again).toMatchObject({ title: 'Morning show', tags: ['talk', 'news'], status: 'live', ownerUsername: 'ann', streamKey: s.streamKey });
    // A restart after a crash marks what was live as ended.
    expect(streams.endAllLive()).toBe(1);
    expect(streams.byId(s.id)!.status).toBe('ended');
    db.close();
  });

  it('refuses a database written by a newer OnAir', () => {
    const file = tmpDb();
    const db = openDatabase(file);
    db.pragma(`user_version = ${MIGRATIONS.length + 5}`);
    db.close();
    expect(() => openDatabase(file)).toThrow(/newer than this OnAir/);
  });

  it('filters the public catalogue by status, tag and text, escaping LIKE wildcards', () => {
    const db = openDatabase(':memory:');
    const owner = new UserStore(db).create({ username: 'bob', passwordHash: 'h', role: 'broadcaster' });
    const streams = new StreamStore(db);
    const a = streams.create({ ownerId: owner.id, title: 'Chess 100% live', description: '', tags: ['chess'], visibility: 'public' });
    streams.create({ ownerId: owner.id, title: 'Cooking', description: 'pasta', tags: ['food'], visibility: 'public' });
    streams.create({ ownerId: owner.id, title: 'Secret chess', description: '', tags: ['chess'], visibility: 'private' });
    streams.create({ ownerId: owner.id, title: 'Unlisted chess', description: '', tags: ['chess'], visibility: 'unlisted' });
    streams.setStatus(a.id, 'live');
    const page = { limit: 50, offset: 0 };
    expect(streams.listPublic(page).total).toBe(2);
    expect(streams.listPublic({ ...page, tag: 'chess' }).streams.map((s) => s.id)).toEqual([a.id]);
    expect(streams.listPublic({ ...page, status: 'live' }).streams.map((s) => s.id)).toEqual([a.id]);
    expect(streams.listPublic({ ...page, q: 'PASTA' }).total).toBe(1);
    expect(streams.listPublic({ ...page, q: '100%' }).total).toBe(1);
    expect(streams.listPublic({ ...page, q: '%' }).total).toBe(1);
    db.close();
  });
});
