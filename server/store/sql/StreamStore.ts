/**
 * The stream catalogue: metadata, owner, status and the secret stream key of every stream, on either engine.
 *
 * Node ownership (cluster mode, docs/cluster.md): a store belongs to one node (`nodeId`, given by
 * `openCatalogue()`; `local` on a single machine). `setStatus(id, 'live')` records that node as the holder of
 * the live broadcast (`live_node`); a node ends or idles only a stream it holds (or one not live), so a node
 * whose broadcast outlived its origin lease cannot end the stream another node now carries; `endAllLive()`
 * ends only this node's live streams (a restarting node must not end the streams of the others).
 *
 * Tags live twice: as a JSON array in `streams.tags` (the owner's order, read with the row) and as rows of
 * `stream_tags` (indexed, for the tag filter). Both change in one transaction, so they never disagree.
 */
import { sql, type Expression, type ExpressionBuilder, type Kysely, type SqlBool } from 'kysely';
import type { StreamStatus, Visibility } from '../../../shared/api.js';
import { newStreamId, newStreamKey } from '../ids.js';
import { translated } from './errors.js';
import { toNumber } from './numbers.js';
import type { CatalogueSchema } from './schema.js';

export interface StreamRecord {
  id: string;
  ownerId: string;
  ownerUsername: string;
  title: string;
  description: string;
  tags: string[];
  visibility: Visibility;
  status: StreamStatus;
  streamKey: string;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  endedAt: string | null;
}

export interface NewStream {
  ownerId: string;
  title: string;
  description: string;
  tags: string[];
  visibility: Visibility;
}

export interface StreamFilter {
  status?: StreamStatus | undefined;
  tag?: string | undefined;
  /** Text in the title or description, ignoring case; `%` and `_` match themselves. */
  q?: string | undefined;
  limit: number;
  offset: number;
}

export interface StreamChanges {
  title?: string | undefined;
  description?: string | undefined;
  tags?: string[] | undefined;
  visibility?: Visibility | undefined;
}

export interface StreamStore {
  /** Rejects with StoreError `missing_reference` when the owner does not exist. */
  create(input: NewStream): Promise<StreamRecord>;
  byId(id: string): Promise<StreamRecord | undefined>;
  /** The stream this publisher key opens (RTMP/SRT ingest name only the key). */
  byKey(streamKey: string): Promise<StreamRecord | undefined>;
  /** Public streams matching the filter: live ones first, then most recently updated; `total` ignores the page. */
  listPublic(filter: StreamFilter): Promise<{ streams: StreamRecord[]; total: number }>;
  /** Every stream of one owner, newest first. */
  listByOwner(ownerId: string): Promise<StreamRecord[]>;
  /** Undefined when there is no such stream. */
  update(id: string, changes: StreamChanges): Promise<StreamRecord | undefined>;
  /**
   * 'live': this node now holds the broadcast. 'ended' / 'idle': applied only when the stream is not live or
   * this node holds it (otherwise the record comes back unchanged). Undefined when there is no such stream.
   */
  setStatus(id: string, status: StreamStatus): Promise<StreamRecord | undefined>;
  /**
   * Streams this node left "live" when it stopped without ending them (crash, SIGKILL): ends them, returns how
   * many. Streams live on other nodes are theirs.
   */
  endAllLive(): Promise<number>;
  rotateKey(id: string): Promise<StreamRecord | undefined>;
  /** Deletes the stream with its tags and recordings; false when there was none. */
  delete(id: string): Promise<boolean>;
  /** Streams per status; a status no stream has is absent. */
  countByStatus(): Promise<Record<string, number>>;
}

type Db = Kysely<CatalogueSchema>;

/** LIKE with the user's wildcards and the escape character escaped. */
export const likePattern = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function selectStreams(db: Db) {
  return db
    .selectFrom('streams as s')
    .innerJoin('users as u', 'u.id', 's.owner_id')
    .selectAll('s')
    .select('u.username as owner_username');
}

type StreamRow = Awaited<ReturnType<ReturnType<typeof selectStreams>['executeTakeFirstOrThrow']>>;

const fromRow = (r: StreamRow): StreamRecord => ({
  id: r.id,
  ownerId: r.owner_id,
  ownerUsername: r.owner_username,
  title: r.title,
  description: r.description,
  tags: JSON.parse(r.tags) as string[],
  visibility: r.visibility,
  status: r.status,
  streamKey: r.stream_key,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  startedAt: r.started_at,
  endedAt: r.ended_at,
});

/** The WHERE of the public catalogue, shared by the page query and its count. */
function publicFilter(filter: StreamFilter) {
  return (eb: ExpressionBuilder<CatalogueSchema & { s: CatalogueSchema['streams'] }, 's'>): Expression<SqlBool> => {
    const all: Expression<SqlBool>[] = [eb('s.visibility', '=', 'public')];
    if (filter.status) all.push(eb('s.status', '=', filter.status));
    if (filter.tag) {
      const tag = filter.tag;
      all.push(
        eb.exists(
          eb
            .selectFrom('stream_tags as t')
            .select(sql`1`.as('one'))
            .whereRef('t.stream_id', '=', 's.id')
            .where('t.tag', '=', tag),
        ),
      );
    }
    if (filter.q) {
      // lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not; this is the same on both.
      const like = likePattern(filter.q);
      all.push(
        eb.or([
          sql<SqlBool>`lower(${eb.ref('s.title')}) LIKE lower(${like}) ESCAPE '\\'`,
          sql<SqlBool>`lower(${eb.ref('s.description')}) LIKE lower(${like}) ESCAPE '\\'`,
        ]),
      );
    }
    return eb.and(all);
  };
}

export class SqlStreamStore implements StreamStore {
  readonly #db: Db;
  readonly #nodeId: string;

  /** `nodeId`: the node this store acts for (see the header). */
  constructor(db: Db, nodeId: string) {
    this.#db = db;
    this.#nodeId = nodeId;
  }

  create(input: NewStream): Promise<StreamRecord> {
    const id = newStreamId();
    const now = new Date().toISOString();
    return translated(async () => {
      await this.#db.transaction().execute(async (trx) => {
        await trx
          .insertInto('streams')
          .values({
            id,
            owner_id: input.ownerId,
            title: input.title,
            description: input.description,
            tags: JSON.stringify(input.tags),
            visibility: input.visibility,
            stream_key: newStreamKey(),
            created_at: now,
            updated_at: now,
          })
          .execute();
        await setTags(trx, id, input.tags);
      });
      return (await this.#byId(id))!;
    });
  }

  byId(id: string): Promise<StreamRecord | undefined> {
    return translated(() => this.#byId(id));
  }

  byKey(streamKey: string): Promise<StreamRecord | undefined> {
    return translated(async () => {
      const row = await selectStreams(this.#db).where('s.stream_key', '=', streamKey).executeTakeFirst();
      return row && fromRow(row);
    });
  }

  listPublic(filter: StreamFilter): Promise<{ streams: StreamRecord[]; total: number }> {
    return translated(async () => {
      const where = publicFilter(filter);
      const { n } = await this.#db
        .selectFrom('streams as s')
        .where(where)
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow();
      const rows = await selectStreams(this.#db)
        .where(where)
        .orderBy(sql`CASE WHEN s.status = 'live' THEN 0 ELSE 1 END`)
        .orderBy('s.updated_at', 'desc')
        .orderBy('s.id')
        .limit(filter.limit)
        .offset(filter.offset)
        .execute();
      return { streams: rows.map(fromRow), total: toNumber(n) };
    });
  }

  listByOwner(ownerId: string): Promise<StreamRecord[]> {
    return translated(async () => {
      const rows = await selectStreams(this.#db).where('s.owner_id', '=', ownerId).orderBy('s.created_at', 'desc').orderBy('s.id').execute();
      return rows.map(fromRow);
    });
  }

  update(id: string, changes: StreamChanges): Promise<StreamRecord | undefined> {
    return translated(async () => {
      const found = await this.#db.transaction().execute(async (trx) => {
        const r = await trx
          .updateTable('streams')
          .set({
            ...(changes.title !== undefined && { title: changes.title }),
            ...(changes.description !== undefined && { description: changes.description }),
            ...(changes.visibility !== undefined && { visibility: changes.visibility }),
            ...(changes.tags !== undefined && { tags: JSON.stringify(changes.tags) }),
            updated_at: new Date().toISOString(),
          })
          .where('id', '=', id)
          .executeTakeFirst();
        if (r.numUpdatedRows === 0n) return false;
        if (changes.tags !== undefined) await setTags(trx, id, changes.tags);
        return true;
      });
      return found ? this.#byId(id) : undefined;
    });
  }

  setStatus(id: string, status: StreamStatus): Promise<StreamRecord | undefined> {
    return translated(async () => {
      const now = new Date().toISOString();
      if (status === 'live') {
        await this.#db
          .updateTable('streams')
          .set({ status: 'live', started_at: now, ended_at: null, updated_at: now, live_node: this.#nodeId })
          .where('id', '=', id)
          .execute();
      } else {
        await this.#db
          .updateTable('streams')
          .set(status === 'ended' ? { status: 'ended', ended_at: now, updated_at: now, live_node: null } : { status: 'idle', updated_at: now, live_node: null })
          .where('id', '=', id)
          .where((eb) => eb.or([eb('status', '<>', 'live'), eb('live_node', 'is', null), eb('live_node', '=', this.#nodeId)]))
          .execute();
      }
      return this.#byId(id);
    });
  }

  endAllLive(): Promise<number> {
    return translated(async () => {
      const now = new Date().toISOString();
      const r = await this.#db
        .updateTable('streams')
        .set({ status: 'ended', ended_at: now, updated_at: now, live_node: null })
        .where('status', '=', 'live')
        .where('live_node', '=', this.#nodeId)
        .executeTakeFirst();
      return toNumber(r.numUpdatedRows);
    });
  }

  rotateKey(id: string): Promise<StreamRecord | undefined> {
    return translated(async () => {
      await this.#db.updateTable('streams').set({ stream_key: newStreamKey(), updated_at: new Date().toISOString() }).where('id', '=', id).execute();
      return this.#byId(id);
    });
  }

  delete(id: string): Promise<boolean> {
    return translated(async () => {
      const r = await this.#db.deleteFrom('streams').where('id', '=', id).executeTakeFirst();
      return r.numDeletedRows > 0n;
    });
  }

  countByStatus(): Promise<Record<string, number>> {
    return translated(async () => {
      const rows = await this.#db
        .selectFrom('streams')
        .select((eb) => ['status', eb.fn.countAll<number | string>().as('n')])
        .groupBy('status')
        .execute();
      return Object.fromEntries(rows.map((r) => [r.status, toNumber(r.n)]));
    });
  }

  async #byId(id: string): Promise<StreamRecord | undefined> {
    const row = await selectStreams(this.#db).where('s.id', '=', id).executeTakeFirst();
    return row && fromRow(row);
  }
}

/** Replaces the stream's rows in stream_tags (inside the caller's transaction). */
async function setTags(trx: Db, id: string, tags: string[]): Promise<void> {
  await trx.deleteFrom('stream_tags').where('stream_id', '=', id).execute();
  // A tag given twice is one row (the primary key is (stream_id, tag)); the JSON keeps the list as given.
  const unique = [...new Set(tags)];
  if (unique.length > 0) await trx.insertInto('stream_tags').values(unique.map((tag) => ({ stream_id: id, tag }))).execute();
}
