/**
 * Recordings: one per live session, linked to its stream's metadata (the HLS files on disk are the
 * recording), on either engine.
 *
 * Node ownership (cluster mode, docs/cluster.md): a recording's files are on the disk of the node that wrote
 * it. `start()` records this store's node (`nodeId`, from `openCatalogue()`; `local` on a single machine) and
 * `unfinished()` lists only this node's open recordings: a restarting node recovers its own, never the files
 * another node is still writing.
 *
 * A recording is deleted with its stream (foreign key `ON DELETE CASCADE`); its files are the caller's to
 * remove. A recording's title, tags and visibility are its stream's, read through the join.
 */
import type { Expression, ExpressionBuilder, Kysely, SqlBool } from 'kysely';
import type { Visibility } from '../../../shared/api.js';
import { translated } from './errors.js';
import { toNumber } from './numbers.js';
import type { CatalogueSchema, RecordingStatus } from './schema.js';

export type { RecordingStatus } from './schema.js';

export interface RecordingRecord {
  id: string;
  streamId: string;
  status: RecordingStatus;
  startedAt: string;
  endedAt: string | null;
  durationSeconds: number;
  renditions: number[];
  sizeBytes: number;
  /** From the stream. */
  title: string;
  description: string;
  tags: string[];
  visibility: Visibility;
  ownerId: string;
  ownerUsername: string;
}

export interface RecordingFinish {
  status: Exclude<RecordingStatus, 'recording'>;
  durationSeconds: number;
  renditions: number[];
  sizeBytes: number;
}

export interface RecordingFilter {
  streamId?: string | undefined;
  tag?: string | undefined;
  limit: number;
  offset: number;
}

export interface RecordingStore {
  /** Rejects with StoreError `missing_reference` when the stream does not exist, `duplicate` for a used id. */
  start(id: string, streamId: string): Promise<void>;
  /** Closes the recording; `endedAt` is set once (the first finish) and kept by later ones. */
  finish(id: string, r: RecordingFinish): Promise<void>;
  byId(id: string): Promise<RecordingRecord | undefined>;
  /** The node holding the recording's files (cluster mode: another node's /hls requests are forwarded there). */
  nodeOf(id: string): Promise<string | undefined>;
  /** Finished recordings of public streams (optionally of one stream / with a tag), newest first. */
  listPublic(f: RecordingFilter): Promise<{ recordings: RecordingRecord[]; total: number }>;
  /** Recordings a crash of this node left open (other nodes' are theirs). */
  unfinished(): Promise<RecordingRecord[]>;
  delete(id: string): Promise<boolean>;
}

type Db = Kysely<CatalogueSchema>;

function selectRecordings(db: Db) {
  return db
    .selectFrom('recordings as r')
    .innerJoin('streams as s', 's.id', 'r.stream_id')
    .innerJoin('users as u', 'u.id', 's.owner_id')
    .selectAll('r')
    .select(['s.title', 's.description', 's.tags', 's.visibility', 's.owner_id', 'u.username as owner_username']);
}

type Row = Awaited<ReturnType<ReturnType<typeof selectRecordings>['executeTakeFirstOrThrow']>>;

const fromRow = (r: Row): RecordingRecord => ({
  id: r.id,
  streamId: r.stream_id,
  status: r.status,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  durationSeconds: r.duration_seconds,
  renditions: JSON.parse(r.renditions) as number[],
  sizeBytes: toNumber(r.size_bytes),
  title: r.title,
  description: r.description,
  tags: JSON.parse(r.tags) as string[],
  visibility: r.visibility,
  ownerId: r.owner_id,
  ownerUsername: r.owner_username,
});

/** The WHERE of the public list, shared by the page query and its count (both join r and s). */
function publicFilter(f: RecordingFilter) {
  return (eb: ExpressionBuilder<CatalogueSchema & { r: CatalogueSchema['recordings']; s: CatalogueSchema['streams'] }, 'r' | 's'>): Expression<SqlBool> => {
    const all: Expression<SqlBool>[] = [eb('s.visibility', '=', 'public'), eb('r.status', '<>', 'recording')];
    if (f.streamId) all.push(eb('r.stream_id', '=', f.streamId));
    if (f.tag) {
      const tag = f.tag;
      all.push(eb.exists(eb.selectFrom('stream_tags as t').select('t.tag').whereRef('t.stream_id', '=', 's.id').where('t.tag', '=', tag)));
    }
    return eb.and(all);
  };
}

export class SqlRecordingStore implements RecordingStore {
  readonly #db: Db;
  readonly #nodeId: string;

  /** `nodeId`: the node this store acts for (see the header). */
  constructor(db: Db, nodeId: string) {
    this.#db = db;
    this.#nodeId = nodeId;
  }

  start(id: string, streamId: string): Promise<void> {
    return translated(async () => {
      await this.#db.insertInto('recordings').values({ id, stream_id: streamId, status: 'recording', started_at: new Date().toISOString(), node: this.#nodeId }).execute();
    });
  }

  finish(id: string, r: RecordingFinish): Promise<void> {
    return translated(async () => {
      await this.#db
        .updateTable('recordings')
        .set((eb) => ({
          status: r.status,
          ended_at: eb.fn.coalesce('ended_at', eb.val(new Date().toISOString())),
          duration_seconds: r.durationSeconds,
          renditions: JSON.stringify(r.renditions),
          size_bytes: r.sizeBytes,
        }))
        .where('id', '=', id)
        .execute();
    });
  }

  byId(id: string): Promise<RecordingRecord | undefined> {
    return translated(async () => {
      const row = await selectRecordings(this.#db).where('r.id', '=', id).executeTakeFirst();
      return row && fromRow(row);
    });
  }

  nodeOf(id: string): Promise<string | undefined> {
    return translated(async () => {
      const row = await this.#db.selectFrom('recordings').select('node').where('id', '=', id).executeTakeFirst();
      return row?.node ?? undefined;
    });
  }

  listPublic(f: RecordingFilter): Promise<{ recordings: RecordingRecord[]; total: number }> {
    return translated(async () => {
      const where = publicFilter(f);
      const { n } = await this.#db
        .selectFrom('recordings as r')
        .innerJoin('streams as s', 's.id', 'r.stream_id')
        .where(where)
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow();
      const rows = await selectRecordings(this.#db).where(where).orderBy('r.started_at', 'desc').orderBy('r.id').limit(f.limit).offset(f.offset).execute();
      return { recordings: rows.map(fromRow), total: toNumber(n) };
    });
  }

  unfinished(): Promise<RecordingRecord[]> {
    return translated(async () => {
      const rows = await selectRecordings(this.#db).where('r.status', '=', 'recording').where('r.node', '=', this.#nodeId).orderBy('r.started_at').orderBy('r.id').execute();
      return rows.map(fromRow);
    });
  }

  delete(id: string): Promise<boolean> {
    return translated(async () => {
      const r = await this.#db.deleteFrom('recordings').where('id', '=', id).executeTakeFirst();
      return r.numDeletedRows > 0n;
    });
  }
}
