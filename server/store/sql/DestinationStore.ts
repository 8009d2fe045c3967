/**
 * Restream destinations on either engine: a stream's RTMP(S) targets, the stream key sealed (AES-256-GCM,
 * server/restream/KeySealer.ts) and a masked hint. Rows go with their stream (ON DELETE CASCADE).
 *
 * Callers: http/routes/destinationRoutes.ts and restream/RestreamService.ts, with `catalogue.destinations`.
 */
import type { Kysely, Selectable } from 'kysely';
import { newStreamId } from '../ids.js';
import { translated } from './errors.js';
import { toNumber } from './numbers.js';
import type { CatalogueSchema, RestreamDestinationsTable } from './schema.js';

export interface DestinationRecord {
  id: string;
  streamId: string;
  name: string;
  url: string;
  keySealed: string;
  keyHint: string;
  enabled: boolean;
  createdAt: string;
}

export type NewDestination = Omit<DestinationRecord, 'id' | 'createdAt'> & { id?: string };

export interface DestinationStore {
  /** Rejects with StoreError `missing_reference` for an unknown stream, `duplicate` for a used id. */
  create(d: NewDestination): Promise<DestinationRecord>;
  byId(id: string): Promise<DestinationRecord | undefined>;
  /** Oldest first. */
  listByStream(streamId: string): Promise<DestinationRecord[]>;
  countByStream(streamId: string): Promise<number>;
  setEnabled(id: string, enabled: boolean): Promise<boolean>;
  delete(id: string): Promise<boolean>;
}

/** A new destination id: the same shape as stream ids (12 base64url characters). */
export const newDestinationId = newStreamId;

const fromRow = (r: Selectable<RestreamDestinationsTable>): DestinationRecord => ({
  id: r.id,
  streamId: r.stream_id,
  name: r.name,
  url: r.url,
  keySealed: r.key_sealed,
  keyHint: r.key_hint,
  enabled: toNumber(r.enabled) === 1,
  createdAt: r.created_at,
});

export class SqlDestinationStore implements DestinationStore {
  readonly #db: Kysely<CatalogueSchema>;

  constructor(db: Kysely<CatalogueSchema>) {
    this.#db = db;
  }

  create(d: NewDestination): Promise<DestinationRecord> {
    const rec: DestinationRecord = { ...d, id: d.id ?? newDestinationId(), createdAt: new Date().toISOString() };
    return translated(async () => {
      await this.#db
        .insertInto('restream_destinations')
        .values({ id: rec.id, stream_id: rec.streamId, name: rec.name, url: rec.url, key_sealed: rec.keySealed, key_hint: rec.keyHint, enabled: rec.enabled ? 1 : 0, created_at: rec.createdAt })
        .execute();
      return rec;
    });
  }

  byId(id: string): Promise<DestinationRecord | undefined> {
    return translated(async () => {
      const row = await this.#db.selectFrom('restream_destinations').selectAll().where('id', '=', id).executeTakeFirst();
      return row && fromRow(row);
    });
  }

  listByStream(streamId: string): Promise<DestinationRecord[]> {
    return translated(async () => {
      const rows = await this.#db.selectFrom('restream_destinations').selectAll().where('stream_id', '=', streamId).orderBy('created_at').orderBy('id').execute();
      return rows.map(fromRow);
    });
  }

  countByStream(streamId: string): Promise<number> {
    return translated(async () => {
      const r = await this.#db.selectFrom('restream_destinations').select((eb) => eb.fn.countAll().as('n')).where('stream_id', '=', streamId).executeTakeFirstOrThrow();
      return toNumber(r.n as number | string);
    });
  }

  setEnabled(id: string, enabled: boolean): Promise<boolean> {
    return translated(async () => {
      const r = await this.#db.updateTable('restream_destinations').set({ enabled: enabled ? 1 : 0 }).where('id', '=', id).executeTakeFirst();
      return toNumber(r.numUpdatedRows) > 0;
    });
  }

  delete(id: string): Promise<boolean> {
    return translated(async () => {
      const r = await this.#db.deleteFrom('restream_destinations').where('id', '=', id).executeTakeFirst();
      return toNumber(r.numDeletedRows) > 0;
    });
  }
}
