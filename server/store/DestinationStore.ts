/**
 * Restream destinations (server/restream): a stream's RTMP(S) targets. The stream key is stored sealed
 * (AES-256-GCM, server/restream/KeySealer.ts): this store never sees it in clear, only the sealed text and a
 * masked hint for display. Rows go with their stream (ON DELETE CASCADE).
 *
 * The async twin for both engines is server/store/sql/DestinationStore.ts (same methods, returning promises);
 * until the callers switch to the catalogue, OnAir uses this class.
 */
import type { Db } from './Database.js';
import { newStreamId } from './ids.js';

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

export type NewDestination = Omit<DestinationRecord, 'id' | 'createdAt'> & {
  /** Given by the caller when the sealed key is bound to the id (KeySealer's associated data). */
  id?: string;
};

interface Row {
  id: string;
  stream_id: string;
  name: string;
  url: string;
  key_sealed: string;
  key_hint: string;
  enabled: number;
  created_at: string;
}

const fromRow = (r: Row): DestinationRecord => ({
  id: r.id,
  streamId: r.stream_id,
  name: r.name,
  url: r.url,
  keySealed: r.key_sealed,
  keyHint: r.key_hint,
  enabled: r.enabled === 1,
  createdAt: r.created_at,
});

/** A new destination id: the same shape as stream ids (12 base64url characters). */
export const newDestinationId = newStreamId;

export class DestinationStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Throws (SQLite's foreign key error) for an unknown stream. */
  create(d: NewDestination): DestinationRecord {
    const rec: DestinationRecord = { ...d, id: d.id ?? newDestinationId(), createdAt: new Date().toISOString() };
    this.#db
      .prepare('INSERT INTO restream_destinations (id, stream_id, name, url, key_sealed, key_hint, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(rec.id, rec.streamId, rec.name, rec.url, rec.keySealed, rec.keyHint, rec.enabled ? 1 : 0, rec.createdAt);
    return rec;
  }

  byId(id: string): DestinationRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM restream_destinations WHERE id = ?').get(id) as Row | undefined;
    return row && fromRow(row);
  }

  /** A stream's destinations, oldest first. */
  listByStream(streamId: string): DestinationRecord[] {
    return (this.#db.prepare('SELECT * FROM restream_destinations WHERE stream_id = ? ORDER BY created_at, id').all(streamId) as Row[]).map(fromRow);
  }

  countByStream(streamId: string): number {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM restream_destinations WHERE stream_id = ?').get(streamId) as { n: number }).n;
  }

  setEnabled(id: string, enabled: boolean): boolean {
    return this.#db.prepare('UPDATE restream_destinations SET enabled = ? WHERE id = ?').run(enabled ? 1 : 0, id).changes > 0;
  }

  delete(id: string): boolean {
    return this.#db.prepare('DELETE FROM restream_destinations WHERE id = ?').run(id).changes > 0;
  }
}
