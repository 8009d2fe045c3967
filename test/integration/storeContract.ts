/**
 * The catalogue's contract (users, streams, recordings, chat), one suite for every engine: storeContract.sqlite.test.ts runs it on a temp SQLite
 * file, storeContract.postgres.test.ts on a real PostgreSQL. Each test gets a fresh, empty database (its own
 * file / its own PostgreSQL database), opened and migrated by `openCatalogue()` exactly as OnAir does.
 *
 * What it holds the stores to is what today's synchronous stores do (server/store/*.ts and
 * test/integration/store.test.ts), plus what the HTTP layer needs to rely on: typed errors for constraint
 * violations, stable ordering, pages that neither overlap nor skip, search that treats the user's `%` and
 * `_` as text, and deletes that take their dependants with them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_NODE_ID, openCatalogue, type Catalogue, type CatalogueOptions } from '../../server/store/sql/catalogue.js';
import type { ChatAuthor } from '../../server/store/sql/ChatStore.js';
import { StoreError } from '../../server/store/sql/errors.js';
import { SCHEMA_VERSION } from '../../server/store/sql/migrations.js';
import type { NewStream } from '../../server/store/sql/StreamStore.js';

export interface ContractTarget {
  engine: 'sqlite' | 'postgres';
  /** Options of a fresh, empty database. */
  newDatabase(): Promise<CatalogueOptions>;
  /** Runs raw SQL on that database, outside the stores (to set up what no store method can). */
  exec(db: CatalogueOptions, statement: string): Promise<void>;
}

/** Distinct ISO timestamps (milliseconds) between writes whose order a test checks. */
const tick = () => new Promise((r) => setTimeout(r, 3));

export function describeStoreContract(target: ContractTarget): void {
  describe(`catalogue store contract (${target.engine})`, () => {
    let options: CatalogueOptions;
    let c: Catalogue;
    const open: Catalogue[] = [];
    const reopen = async () => {
      const again = await openCatalogue(options);
      open.push(again);
      return again;
    };

    beforeEach(async () => {
      options = await target.newDatabase();
      c = await reopen();
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((x) => x.close()));
    });

    const user = (username: string, role: 'admin' | 'broadcaster' = 'broadcaster') => c.users.create({ username, passwordHash: `hash-of-${username}`, role });
    const stream = (ownerId: string, over: Partial<NewStream> = {}) =>
      c.streams.create({ ownerId, title: 'A stream', description: '', tags: [], visibility: 'public', ...over });
    const page = { limit: 50, offset: 0 };
    const ids = (list: { id: string }[]) => list.map((x) => x.id);

    describe('catalogue', () => {
      it('opens on the engine asked for, migrated to the latest schema', () => {
        expect(c.engine).toBe(target.engine);
        expect(c.schemaVersion).toBe(SCHEMA_VERSION);
      });

      it('keeps everything across a restart, running no migration twice', async () => {
        const ann = await user('ann');
        const s = await stream(ann.id, { title: 'Morning show', tags: ['talk', 'news'] });
        await c.streams.setStatus(s.id, 'live');
        await c.recordings.start('rec1', s.id);
        await c.close();

        const again = await reopen();
        expect(again.schemaVersion).toBe(SCHEMA_VERSION);
        expect((await again.users.byUsername('ANN'))?.id).toBe(ann.id);
        expect(await again.streams.byId(s.id)).toMatchObject({ title: 'Morning show', tags: ['talk', 'news'], status: 'live', streamKey: s.streamKey });
        expect(ids(await again.recordings.unfinished())).toEqual(['rec1']);
        // A restart after a crash ends what was live.
        expect(await again.streams.endAllLive()).toBe(1);
        expect((await again.streams.byId(s.id))?.status).toBe('ended');
      });

      it('refuses a database migrated by a newer OnAir, with a reason', async () => {
        await c.close();
        await target.exec(options, "INSERT INTO kysely_migration (name, timestamp) VALUES ('9999_from_the_future', '2030-01-01T00:00:00.000Z')");
        const err = await openCatalogue(options).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StoreError);
        expect(err).toMatchObject({ reason: 'schema_too_new', message: expect.stringMatching(/newer than this OnAir/) });
      });

      it('refuses to be used once closed', async () => {
        await c.close();
        await c.close(); // twice is harmless
        await expect(c.users.count()).rejects.toThrow();
      });
    });

    describe('users', () => {
      it('creates an account and finds it by id and by name, ignoring case', async () => {
        expect(await c.users.count()).toBe(0);
        const ann = await user('Ann', 'admin');
        expect(ann).toMatchObject({ username: 'Ann', passwordHash: 'hash-of-Ann', role: 'admin' });
        expect(ann.id).toMatch(/^[0-9a-f-]{36}$/);
        expect(new Date(ann.createdAt).toISOString()).toBe(ann.createdAt);
        expect(await c.users.byId(ann.id)).toEqual(ann);
        expect(await c.users.byUsername('ann')).toEqual(ann);
        expect(await c.users.byUsername('ANN')).toEqual(ann);
        expect(await c.users.count()).toBe(1);
      });

      it('finds nothing for an unknown id or name (LIKE wildcards are not patterns)', async () => {
        await user('ann');
        expect(await c.users.byId('no-such-id')).toBeUndefined();
        expect(await c.users.byUsername('bob')).toBeUndefined();
        expect(await c.users.byUsername('a%')).toBeUndefined();
        expect(await c.users.byUsername('an_')).toBeUndefined();
      });

      it('refuses a taken username, in any case, with StoreError username_taken', async () => {
        await user('ann');
        for (const name of ['ann', 'ANN', 'aNn']) {
          const err = await user(name).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(StoreError);
          expect(err).toMatchObject({ reason: 'username_taken' });
        }
        expect(await c.users.count()).toBe(1);
      });

      it('lets exactly one of two simultaneous sign-ups with one name through', async () => {
        const results = await Promise.allSettled([user('carol'), user('CAROL'), user('Carol')]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ reason: 'username_taken' });
        expect(await c.users.count()).toBe(1);
      });

      it('refuses a role outside the allowed set (the schema checks it too)', async () => {
        const err = await c.users.create({ username: 'eve', passwordHash: 'h', role: 'root' as 'admin' }).catch((e: unknown) => e);
        expect(err).toMatchObject({ reason: 'invalid_value' });
        expect(await c.users.count()).toBe(0);
      });
    });

    describe('streams', () => {
      it('creates a stream with its owner, tags, a secret key and idle status', async () => {
        const ann = await user('ann');
        const s = await stream(ann.id, { title: 'Chess', description: 'openings', tags: ['chess', 'games'], visibility: 'unlisted' });
        expect(s).toMatchObject({
          ownerId: ann.id,
          ownerUsername: 'ann',
          title: 'Chess',
          description: 'openings',
          tags: ['chess', 'games'],
          visibility: 'unlisted',
          status: 'idle',
          startedAt: null,
          endedAt: null,
        });
        expect(s.id).toMatch(/^[A-Za-z0-9_-]{12}$/);
        expect(s.streamKey).toMatch(/^sk_[A-Za-z0-9_-]{32}$/);
        expect(s.updatedAt).toBe(s.createdAt);
        expect(await c.streams.byId(s.id)).toEqual(s);
        expect(await c.streams.byId('nope')).toBeUndefined();
      });

      it('refuses a stream of an owner that does not exist, with StoreError missing_reference', async () => {
        await expect(stream('no-such-user')).rejects.toMatchObject({ reason: 'missing_reference' });
        expect(await c.streams.countByStatus()).toEqual({});
      });

      it('keeps the tag list as given, a repeated tag once in the filter', async () => {
        const ann = await user('ann');
        const s = await stream(ann.id, { tags: ['b', 'a', 'b'] });
        expect((await c.streams.byId(s.id))?.tags).toEqual(['b', 'a', 'b']);
        expect((await c.streams.listPublic({ ...page, tag: 'b' })).total).toBe(1);
      });

      it('updates only what is given, moves updatedAt, and replaces the tags the filter sees', async () => {
        const ann = await user('ann');
        const s = await stream(ann.id, { title: 'Old', description: 'keep me', tags: ['x'] });
        await tick();
        const u = (await c.streams.update(s.id, { title: 'New', tags: ['y', 'z'] }))!;
        expect(u).toMatchObject({ title: 'New', description: 'keep me', tags: ['y', 'z'], visibility: 'public', streamKey: s.streamKey });
        expect(u.updatedAt > s.updatedAt).toBe(true);
        expect(u.createdAt).toBe(s.createdAt);
        expect((await c.streams.listPublic({ ...page, tag: 'x' })).total).toBe(0);
        expect(ids((await c.streams.listPublic({ ...page, tag: 'z' })).streams)).toEqual([s.id]);
        // Visibility and description alone; the tags stay.
        const v = (await c.streams.update(s.id, { visibility: 'private', description: '' }))!;
        expect(v).toMatchObject({ visibility: 'private', description: '', tags: ['y', 'z'] });
        // An empty tag list clears them.
        expect((await c.streams.update(s.id, { tags: [] }))?.tags).toEqual([]);
        expect(await c.streams.update('nope', { title: 'x', tags: ['a'] })).toBeUndefined();
      });

      it('moves through idle → live → ended → live with the right times', async () => {
        const ann = await user('ann');
        const s = await stream(ann.id);
        const live = (await c.streams.setStatus(s.id, 'live'))!;
        expect(live).toMatchObject({ status: 'live', endedAt: null });
        expect(live.startedAt).toBe(live.updatedAt);
        await tick();
        const ended = (await c.streams.setStatus(s.id, 'ended'))!;
        expect(ended).toMatchObject({ status: 'ended', startedAt: live.startedAt });
        expect(ended.endedAt! > live.startedAt!).toBe(true);
        await tick();
        const again = (await c.streams.setStatus(s.id, 'live'))!;
        expect(again).toMatchObject({ status: 'live', endedAt: null });
        expect(again.startedAt! > live.startedAt!).toBe(true);
        expect((await c.streams.setStatus(s.id, 'idle'))?.status).toBe('idle');
        expect(await c.streams.setStatus('nope', 'live')).toBeUndefined();
      });

      it('ends every live stream (and only those) after a crash, saying how many', async () => {
        const ann = await user('ann');
        const [a, b, i, e] = [await stream(ann.id), await stream(ann.id), await stream(ann.id), await stream(ann.id)];
        await c.streams.setStatus(a.id, 'live');
        await c.streams.setStatus(b.id, 'live');
        await c.streams.setStatus(e.id, 'ended');
        expect(await c.streams.endAllLive()).toBe(2);
        expect((await c.streams.byId(a.id))?.status).toBe('ended');
        expect((await c.streams.byId(a.id))?.endedAt).not.toBeNull();
        expect((await c.streams.byId(i.id))?.status).toBe('idle');
        expect(await c.streams.countByStatus()).toEqual({ ended: 3, idle: 1 });
        expect(await c.streams.endAllLive()).toBe(0);
      });

      it('rotates the stream key', async () => {
        const ann = await user('ann');
        const s = await stream(ann.id);
        const r = (await c.streams.rotateKey(s.id))!;
        expect(r.streamKey).toMatch(/^sk_/);
        expect(r.streamKey).not.toBe(s.streamKey);
        expect((await c.streams.byId(s.id))?.streamKey).toBe(r.streamKey);
        expect(await c.streams.rotateKey('nope')).toBeUndefined();
      });

      it("lists an owner's streams, all visibilities, newest first", async () => {
        const ann = await user('ann');
        const bob = await user('bob');
        const a1 = await stream(ann.id, { visibility: 'private' });
        await tick();
        await stream(bob.id);
        await tick();
        const a2 = await stream(ann.id, { visibility: 'unlisted' });
        expect(ids(await c.streams.listByOwner(ann.id))).toEqual([a2.id, a1.id]);
        expect(await c.streams.listByOwner('nobody')).toEqual([]);
      });

      it('counts streams by status', async () => {
        const ann = await user('ann');
        expect(await c.streams.countByStatus()).toEqual({});
        const [a] = [await stream(ann.id), await stream(ann.id), await stream(ann.id, { visibility: 'private' })];
        await c.streams.setStatus(a.id, 'live');
        expect(await c.streams.countByStatus()).toEqual({ live: 1, idle: 2 });
      });

      it('deletes a stream with its tags and recordings', async () => {
        const ann = await user('ann');
        const s = await stream(ann.id, { tags: ['gone'] });
        const other = await stream(ann.id, { tags: ['gone'] });
        await c.recordings.start('rec-a', s.id);
        await c.recordings.finish('rec-a', { status: 'ready', durationSeconds: 1, renditions: [360], sizeBytes: 1 });
        await c.recordings.start('rec-b', other.id);
        expect(await c.streams.delete(s.id)).toBe(true);
        expect(await c.streams.delete(s.id)).toBe(false);
        expect(await c.streams.byId(s.id)).toBeUndefined();
        expect(await c.recordings.byId('rec-a')).toBeUndefined();
        expect(await c.recordings.byId('rec-b')).toBeDefined();
        expect(ids((await c.streams.listPublic({ ...page, tag: 'gone' })).streams)).toEqual([other.id]);
        // The deleted stream's id can carry a recording no more.
        await expect(c.recordings.start('rec-c', s.id)).rejects.toMatchObject({ reason: 'missing_reference' });
      });
    });

    describe('public catalogue', () => {
      it('shows only public streams, filtered by status, tag and text', async () => {
        const bob = await user('bob');
        const a = await stream(bob.id, { title: 'Chess 100% live', tags: ['chess'] });
        const cook = await stream(bob.id, { title: 'Cooking', description: 'Fresh PASTA', tags: ['food'] });
        await stream(bob.id, { title: 'Secret chess', tags: ['chess'], visibility: 'private' });
        await stream(bob.id, { title: 'Unlisted chess', tags: ['chess'], visibility: 'unlisted' });
        await c.streams.setStatus(a.id, 'live');
        expect((await c.streams.listPublic(page)).total).toBe(2);
        expect(ids((await c.streams.listPublic({ ...page, tag: 'chess' })).streams)).toEqual([a.id]);
        expect(ids((await c.streams.listPublic({ ...page, status: 'live' })).streams)).toEqual([a.id]);
        expect(ids((await c.streams.listPublic({ ...page, status: 'idle' })).streams)).toEqual([cook.id]);
        expect((await c.streams.listPublic({ ...page, status: 'ended' })).total).toBe(0);
        expect(ids((await c.streams.listPublic({ ...page, q: 'pasta' })).streams)).toEqual([cook.id]);
        expect(ids((await c.streams.listPublic({ ...page, q: 'CHESS' })).streams)).toEqual([a.id]);
        expect(ids((await c.streams.listPublic({ ...page, q: 'chess', tag: 'food' })).streams)).toEqual([]);
        expect((await c.streams.listPublic({ ...page, tag: 'none' })).total).toBe(0);
      });

      it("treats the user's %, _ and \\ as text", async () => {
        const bob = await user('bob');
        const pct = await stream(bob.id, { title: '100% live' });
        const under = await stream(bob.id, { title: 'snake_case talk' });
        const slash = await stream(bob.id, { title: 'back\\slash' });
        await stream(bob.id, { title: '1000 live' });
        await stream(bob.id, { title: 'snakeXcase talk' });
        const q = async (text: string) => ids((await c.streams.listPublic({ ...page, q: text })).streams).sort();
        expect(await q('%')).toEqual([pct.id]);
        expect(await q('0% l')).toEqual([pct.id]);
        expect(await q('_')).toEqual([under.id]);
        expect(await q('e_c')).toEqual([under.id]);
        expect(await q('\\')).toEqual([slash.id]);
        expect(await q("'; DROP TABLE streams; --")).toEqual([]);
        expect((await c.streams.listPublic(page)).total).toBe(5);
      });

      it('orders live streams first, then by latest update, and pages without overlap or gaps', async () => {
        const bob = await user('bob');
        const made = [];
        for (let i = 0; i < 7; i++) {
          made.push(await stream(bob.id, { title: `s${i}` }));
          await tick();
        }
        // s2 and s5 go live (s5 last); s0 is touched last of the idle ones.
        await c.streams.setStatus(made[2]!.id, 'live');
        await tick();
        await c.streams.setStatus(made[5]!.id, 'live');
        await tick();
        await c.streams.update(made[0]!.id, { description: 'touched' });
        const expected = ['s5', 's2', 's0', 's6', 's4', 's3', 's1'];
        const all = await c.streams.listPublic(page);
        expect(all.streams.map((s) => s.title)).toEqual(expected);

        const seen: string[] = [];
        for (let offset = 0; offset < 9; offset += 3) {
          const p = await c.streams.listPublic({ limit: 3, offset });
          expect(p.total).toBe(7);
          seen.push(...p.streams.map((s) => s.title));
        }
        expect(seen).toEqual(expected);
        expect((await c.streams.listPublic({ limit: 3, offset: 7 })).streams).toEqual([]);
        expect((await c.streams.listPublic({ limit: 2, offset: 1, status: 'live' })).streams.map((s) => s.title)).toEqual(['s2']);
      });
    });

    describe('chat', () => {
      const author = (over: Partial<ChatAuthor> = {}): ChatAuthor => ({ userId: null, address: '10.0.0.1', session: 'sess-1', ...over });
      const at = (second: number) => `2026-11-30T10:00:${String(second).padStart(2, '0')}.000Z`;
      const say = (streamId: string, id: string, second: number, a: ChatAuthor = author()) =>
        c.chat.add({ id, streamId, at: at(second), name: 'viewer', role: 'viewer', text: `text ${id}` }, a);

      it('stores messages in order with a rising seq, marks account authors verified, keeps authors private', async () => {
        const ann = await user('ann');
        const s = await stream(ann.id);
        const m1 = await say(s.id, 'm1', 1);
        const m2 = await say(s.id, 'm2', 2, author({ userId: ann.id }));
        expect(m1).toMatchObject({ id: 'm1', streamId: s.id, at: at(1), name: 'viewer', role: 'viewer', verified: false, text: 'text m1' });
        expect(m2.verified).toBe(true);
        expect(m2.seq).toBeGreaterThan(m1.seq);
        expect(await c.chat.byId('m2')).toEqual({ ...m2, author: author({ userId: ann.id }), deleted: false });
        expect(await c.chat.byId('nope')).toBeUndefined();
        await expect(say('no-such-stream', 'm3', 3)).rejects.toMatchObject({ reason: 'missing_reference' });
        await expect(say(s.id, 'm1', 4)).rejects.toMatchObject({ reason: 'duplicate' });
      });

      it('pages a time window from the end or from the start, without deleted messages', async () => {
        const ann = await user('ann');
        const s = await stream(ann.id);
        const other = await stream(ann.id);
        for (let i = 1; i <= 6; i++) await say(s.id, `m${i}`, i);
        await say(other.id, 'x1', 3);
        expect(await c.chat.delete('m5')).toBe(true);
        expect(await c.chat.delete('m5')).toBe(false);
        expect(await c.chat.delete('nope')).toBe(false);
        expect((await c.chat.byId('m5'))?.deleted).toBe(true);
        const texts = (r: { messages: { id: string }[]; hasMore: boolean }) => [ids(r.messages), r.hasMore];
        expect(texts(await c.chat.window(s.id, { limit: 3, fromStart: false }))).toEqual([['m3', 'm4', 'm6'], true]);
        expect(texts(await c.chat.window(s.id, { limit: 10, fromStart: false }))).toEqual([['m1', 'm2', 'm3', 'm4', 'm6'], false]);
        expect(texts(await c.chat.window(s.id, { before: at(3), limit: 3, fromStart: false }))).toEqual([['m1', 'm2'], false]);
        expect(texts(await c.chat.window(s.id, { after: at(1), limit: 2, fromStart: true }))).toEqual([['m2', 'm3'], true]);
        expect(texts(await c.chat.window(s.id, { after: at(2), before: at(6), limit: 5, fromStart: true }))).toEqual([['m3', 'm4'], false]);
        // The latest time counts deleted messages too (times stay strictly increasing).
        await c.chat.delete('m6');
        expect(await c.chat.lastAt(s.id)).toBe(at(6));
        expect(await c.chat.lastAt('nope')).toBeUndefined();
      });

      it("protects the owner's and the admins' names", async () => {
        const ann = await user('ann');
        await user('root', 'admin');
        await user('bob');
        expect((await c.chat.protectedNames(ann.id)).sort()).toEqual(['ann', 'root']);
      });

      it('keeps per-stream settings, defaults until saved, replaced on save', async () => {
        const ann = await user('ann');
        const s = await stream(ann.id);
        expect(await c.chat.settings(s.id)).toEqual({ enabled: true, slowModeSeconds: 0, filter: [] });
        await c.chat.saveSettings(s.id, { enabled: false, slowModeSeconds: 10, filter: ['spam'] });
        expect(await c.chat.settings(s.id)).toEqual({ enabled: false, slowModeSeconds: 10, filter: ['spam'] });
        await c.chat.saveSettings(s.id, { enabled: true, slowModeSeconds: 0, filter: [] });
        expect(await c.chat.settings(s.id)).toEqual({ enabled: true, slowModeSeconds: 0, filter: [] });
        await expect(c.chat.saveSettings('no-such-stream', { enabled: true, slowModeSeconds: 0, filter: [] })).rejects.toMatchObject({ reason: 'missing_reference' });
      });

      it('keeps sanctions in force until they end, lifts them by account or by address/session', async () => {
        const ann = await user('ann');
        const s = await stream(ann.id);
        const now = '2026-11-30T12:00:00.000Z';
        await c.chat.addSanction(s.id, { kind: 'timeout', userId: ann.id, address: null, session: null, until: '2026-11-30T12:05:00.000Z' });
        await c.chat.addSanction(s.id, { kind: 'timeout', userId: null, address: '10.0.0.9', session: 's9', until: '2026-11-30T11:00:00.000Z' });
        await c.chat.addSanction(s.id, { kind: 'ban', userId: null, address: '10.0.0.7', session: 's7', until: null });
        expect((await c.chat.sanctions(s.id, now)).map((x) => x.kind)).toEqual(['timeout', 'ban']);
        expect(await c.chat.removeSanctions(s.id, { userId: null, address: 'elsewhere', session: 's7' })).toBe(1);
        expect(await c.chat.removeSanctions(s.id, { userId: ann.id, address: 'x', session: 'y' })).toBe(1);
        expect(await c.chat.sanctions(s.id, now)).toEqual([]);
      });

      it('goes with its stream', async () => {
        const ann = await user('ann');
        const s = await stream(ann.id);
        await say(s.id, 'm1', 1);
        await c.chat.saveSettings(s.id, { enabled: false, slowModeSeconds: 5, filter: [] });
        await c.chat.addSanction(s.id, { kind: 'ban', userId: null, address: 'a', session: 's', until: null });
        await c.streams.delete(s.id);
        expect(await c.chat.byId('m1')).toBeUndefined();
        expect(await c.chat.settings(s.id)).toEqual({ enabled: true, slowModeSeconds: 0, filter: [] });
        expect(await c.chat.sanctions(s.id, '2000-01-01T00:00:00.000Z')).toEqual([]);
      });
    });

    describe('recordings', () => {
      const finished = { status: 'ready' as const, durationSeconds: 12.5, renditions: [720, 360], sizeBytes: 5_000_000_000 };

      it('starts a recording with its stream, finishes it once, keeps its end time', async () => {
        const ann = await user('ann');
        const s = await stream(ann.id, { title: 'Talk', description: 'd', tags: ['t'] });
        await c.recordings.start('rec1', s.id);
        const open = (await c.recordings.byId('rec1'))!;
        expect(open).toMatchObject({
          id: 'rec1',
          streamId: s.id,
          status: 'recording',
          endedAt: null,
          durationSeconds: 0,
          renditions: [],
          sizeBytes: 0,
          title: 'Talk',
          description: 'd',
          tags: ['t'],
          visibility: 'public',
          ownerId: ann.id,
          ownerUsername: 'ann',
        });
        expect(ids(await c.recordings.unfinished())).toEqual(['rec1']);

        await c.recordings.finish('rec1', finished);
        const done = (await c.recordings.byId('rec1'))!;
        // A size past 2^32 (a long recording) and a fractional duration come back exactly.
        expect(done).toMatchObject({ status: 'ready', durationSeconds: 12.5, renditions: [720, 360], sizeBytes: 5_000_000_000 });
        expect(done.endedAt! >= done.startedAt).toBe(true);
        expect(await c.recordings.unfinished()).toEqual([]);

        await tick();
        await c.recordings.finish('rec1', { status: 'interrupted', durationSeconds: 13, renditions: [720], sizeBytes: 7 });
        const twice = (await c.recordings.byId('rec1'))!;
        expect(twice).toMatchObject({ status: 'interrupted', durationSeconds: 13, sizeBytes: 7, endedAt: done.endedAt });
        // The stream's metadata is read through: a rename shows on its recordings.
        await c.streams.update(s.id, { title: 'Renamed' });
        expect((await c.recordings.byId('rec1'))?.title).toBe('Renamed');
      });

      it('refuses a recording of an unknown stream or with a used id', async () => {
        const ann = await user('ann');
        const s = await stream(ann.id);
        await expect(c.recordings.start('r', 'no-such-stream')).rejects.toMatchObject({ reason: 'missing_reference' });
        await c.recordings.start('r', s.id);
        await expect(c.recordings.start('r', s.id)).rejects.toMatchObject({ reason: 'duplicate' });
        expect(await c.recordings.byId('nope')).toBeUndefined();
      });

      it('lists finished recordings of public streams, newest first, by stream and tag, in pages', async () => {
        const ann = await user('ann');
        const pub = await stream(ann.id, { tags: ['music'] });
        const other = await stream(ann.id, { tags: ['talk'] });
        const hidden = await stream(ann.id, { visibility: 'private', tags: ['music'] });
        for (const [id, s] of [['r1', pub], ['r2', other], ['r3', pub], ['r4', hidden], ['r5', pub]] as const) {
          await c.recordings.start(id, s.id);
          await c.recordings.finish(id, finished);
          await tick();
        }
        await c.recordings.start('r6', pub.id); // still recording: not listed
        const all = await c.recordings.listPublic(page);
        expect(ids(all.recordings)).toEqual(['r5', 'r3', 'r2', 'r1']);
        expect(all.total).toBe(4);
        expect(ids((await c.recordings.listPublic({ ...page, streamId: pub.id })).recordings)).toEqual(['r5', 'r3', 'r1']);
        expect(ids((await c.recordings.listPublic({ ...page, tag: 'talk' })).recordings)).toEqual(['r2']);
        expect(ids((await c.recordings.listPublic({ ...page, tag: 'music' })).recordings)).toEqual(['r5', 'r3', 'r1']);
        const p2 = await c.recordings.listPublic({ limit: 2, offset: 2 });
        expect(ids(p2.recordings)).toEqual(['r2', 'r1']);
        expect(p2.total).toBe(4);
        // A stream made private takes its recordings out of the public list.
        await c.streams.update(pub.id, { visibility: 'unlisted' });
        expect(ids((await c.recordings.listPublic(page)).recordings)).toEqual(['r2']);
      });

      it('deletes one recording', async () => {
        const ann = await user('ann');
        const s = await stream(ann.id);
        await c.recordings.start('r1', s.id);
        await c.recordings.start('r2', s.id);
        expect(await c.recordings.delete('r1')).toBe(true);
        expect(await c.recordings.delete('r1')).toBe(false);
        expect(await c.recordings.byId('r1')).toBeUndefined();
        expect(ids(await c.recordings.unfinished())).toEqual(['r2']);
        expect(await c.streams.byId(s.id)).toBeDefined();
      });
    });

    describe('restream destinations', () => {
      const dest = (streamId: string, name: string) => ({ streamId, name, url: 'rtmp://live.example.com/app', keySealed: `v1.sealed-${name}`, keyHint: '••••1234', enabled: true });

      it('stores destinations per stream, oldest first, and reads them back as written', async () => {
        const ann = await user('ann');
        const s = await stream(ann.id);
        const other = await stream(ann.id);
        const a = await c.destinations.create(dest(s.id, 'YouTube'));
        await tick();
        const b = await c.destinations.create({ ...dest(s.id, 'Twitch'), id: 'fixedDestId1', enabled: false });
        await c.destinations.create(dest(other.id, 'Elsewhere'));
        expect(b.id).toBe('fixedDestId1');
        expect(await c.destinations.byId(a.id)).toEqual(a);
        expect(await c.destinations.byId(b.id)).toEqual(b);
        expect(ids(await c.destinations.listByStream(s.id))).toEqual([a.id, b.id]);
        expect(await c.destinations.countByStream(s.id)).toBe(2);
        expect(await c.destinations.setEnabled(b.id, true)).toBe(true);
        expect((await c.destinations.byId(b.id))?.enabled).toBe(true);
        expect(await c.destinations.setEnabled('nonexistent1', true)).toBe(false);
      });

      it('refuses a destination of a missing stream, deletes one, and goes with its stream', async () => {
        const ann = await user('ann');
        const s = await stream(ann.id);
        await expect(c.destinations.create(dest('noSuchStream', 'x'))).rejects.toMatchObject({ reason: 'missing_reference' });
        const a = await c.destinations.create(dest(s.id, 'a'));
        const b = await c.destinations.create(dest(s.id, 'b'));
        await expect(c.destinations.create({ ...dest(s.id, 'c'), id: a.id })).rejects.toMatchObject({ reason: 'duplicate' });
        expect(await c.destinations.delete(a.id)).toBe(true);
        expect(await c.destinations.delete(a.id)).toBe(false);
        expect(ids(await c.destinations.listByStream(s.id))).toEqual([b.id]);
        await c.streams.delete(s.id);
        expect(await c.destinations.byId(b.id)).toBeUndefined();
        expect(await c.destinations.countByStream(s.id)).toBe(0);
      });
    });

    describe('nodes sharing one database (cluster mode)', () => {
      // Another catalogue on the same database, acting for another node (as each node of a cluster opens it).
      const node = async (nodeId: string) => {
        const x = await openCatalogue({ ...options, nodeId });
        open.push(x);
        return x;
      };

      it('acts for the local node by default', () => {
        expect(c.nodeId).toBe(LOCAL_NODE_ID);
      });

      it('ends at restart only the live streams of the restarting node', async () => {
        const [a, b] = [await node('node-a'), await node('node-b')];
        const ann = await a.users.create({ username: 'ann', passwordHash: 'h', role: 'broadcaster' });
        const [onA, onB, alsoOnA] = [await stream(ann.id), await stream(ann.id), await stream(ann.id)];
        await a.streams.setStatus(onA.id, 'live');
        await b.streams.setStatus(onB.id, 'live');
        await a.streams.setStatus(alsoOnA.id, 'live');
        // node-a restarts: its two streams end, node-b's plays on.
        expect(await a.streams.endAllLive()).toBe(2);
        expect((await b.streams.byId(onA.id))?.status).toBe('ended');
        expect((await b.streams.byId(alsoOnA.id))?.status).toBe('ended');
        expect((await a.streams.byId(onB.id))?.status).toBe('live');
        expect(await a.streams.endAllLive()).toBe(0);
        expect(await b.streams.endAllLive()).toBe(1);
        expect((await a.streams.byId(onB.id))?.status).toBe('ended');
      });

      it('lets only the node holding a live stream end it (a stream taken over by another node stays live)', async () => {
        const [a, b] = [await node('node-a'), await node('node-b')];
        const ann = await a.users.create({ username: 'ann', passwordHash: 'h', role: 'broadcaster' });
        const s = await stream(ann.id);
        await a.streams.setStatus(s.id, 'live');
        // The origin moves to node-b; node-a's late end (its grace period ran out) changes nothing.
        const taken = (await b.streams.setStatus(s.id, 'live'))!;
        expect(await a.streams.setStatus(s.id, 'ended')).toEqual(taken);
        expect(await a.streams.setStatus(s.id, 'idle')).toEqual(taken);
        expect(await a.streams.endAllLive()).toBe(0);
        // The holder ends it; after that any node may change a stream that is not live.
        expect((await b.streams.setStatus(s.id, 'ended'))?.status).toBe('ended');
        expect((await a.streams.setStatus(s.id, 'idle'))?.status).toBe('idle');
      });

      it('lists as unfinished only the recordings the node itself wrote', async () => {
        const [a, b] = [await node('node-a'), await node('node-b')];
        const ann = await a.users.create({ username: 'ann', passwordHash: 'h', role: 'broadcaster' });
        const s = await stream(ann.id);
        await a.recordings.start('recA', s.id);
        await b.recordings.start('recB', s.id);
        expect(ids(await a.recordings.unfinished())).toEqual(['recA']);
        expect(ids(await b.recordings.unfinished())).toEqual(['recB']);
        // Every node reads every recording.
        expect((await a.recordings.byId('recB'))?.status).toBe('recording');
        await a.recordings.finish('recA', { status: 'interrupted', durationSeconds: 1, renditions: [], sizeBytes: 0 });
        expect(await a.recordings.unfinished()).toEqual([]);
        expect(ids(await b.recordings.unfinished())).toEqual(['recB']);
      });
    });

    describe('catalogue services', () => {
      it('finds a stream by its key, and by the new key only after a rotation', async () => {
        const ann = await user('ann');
        const s = await stream(ann.id);
        expect((await c.streams.byKey(s.streamKey))?.id).toBe(s.id);
        const rotated = (await c.streams.rotateKey(s.id))!;
        expect(await c.streams.byKey(s.streamKey)).toBeUndefined();
        expect((await c.streams.byKey(rotated.streamKey))?.id).toBe(s.id);
        expect(await c.streams.byKey('sk_nothing')).toBeUndefined();
      });

      it('answers ping while open and not after close', async () => {
        expect(await c.ping()).toBe(true);
        await c.close();
        expect(await c.ping()).toBe(false);
      });

      it('holds the webhooks with the rest of the catalogue', async () => {
        const ann = await user('ann');
        const hook = await c.webhooks.create({ id: 'wh_contract', ownerId: ann.id, url: 'https://example.com/h', secret: 's', events: [], description: '' });
        expect(ids(await c.webhooks.audience(ann.id))).toEqual([hook.id]);
        await c.users.create({ username: 'bob', passwordHash: 'h', role: 'broadcaster' });
        expect(ids(await c.webhooks.listByOwner(ann.id))).toEqual([hook.id]);
      });
    });
  });
}
