/** Recordings: one per live session, linked to its stream's metadata; the HLS files are the recording. */
import type { Db } from './Database.js';
import type { Visibility } from '../../shared/api.js';

export type RecordingStatus = 'recording' | 'ready' | 'interrupted';

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

interface Row {
  id: string;
  stream_id: string;
  status: RecordingStatus;
  started_at: string;
  ended_at: string | null;
  duration_seconds: number;
  renditions: string;
  size_bytes: number;
  title: string;
  description: string;
  tags: string;
  visibility: Visibility;
  owner_id: string;
  owner_username: string;
}

const fromRow = (r: Row): RecordingRecord => ({
  id: r.id,
  streamId: r.stream_id,
  status: r.status,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  durationSeconds: r.duration_seconds,
  renditions: JSON.parse(r.renditions) as number[],
  sizeBytes: r.size_bytes,
  title: r.title,
  description: r.description,
  tags: JSON.parse(r.tags) as string[],
  visibility: r.visibility,
  ownerId: r.owner_id,
  ownerUsername: r.owner_username,
});

const SELECT = `SELECT r.*, s.title, s.description, s.tags, s.visibility, s.owner_id, u.username AS owner_username
  FROM recordings r JOIN streams s ON s.id = r.stream_id JOIN users u ON u.id = s.owner_id`;

export class RecordingStore {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  start(id: string, streamId: string): void {
    this.#db.prepare("INSERT INTO recordings (id, stream_id, status, started_at) VALUES (?, ?, 'recording', ?)").run(id, streamId, new Date().toISOString());
  }

  finish(id: string, r: { status: Exclude<RecordingStatus, 'recording'>; durationSeconds: number; renditions: number[]; sizeBytes: number }): void {
    this.#db
      .prepare('UPDATE recordings SET status = ?, ended_at = COALESCE(ended_at, ?), duration_seconds = ?, renditions = ?, size_bytes = ? WHERE id = ?')
      .run(r.status, new Date().toISOString(), r.durationSeconds, JSON.stringify(r.renditions), r.sizeBytes, id);
  }

  byId(id: string): RecordingRecord | undefined {
    const row = this.#db.prepare(`${SELECT} WHERE r.id = ?`).get(id) as Row | undefined;
    return row && fromRow(row);
  }

  /** Recordings of public streams (optionally of one stream / with a tag), newest first. */
  listPublic(f: { streamId?: string | undefined; tag?: string | undefined; limit: number; offset: number }): { recordings: RecordingRecord[]; total: number } {
    const where = ["s.visibility = 'public'", "r.status != 'recording'"];
    const params: unknown[] = [];
    if (f.streamId) (where.push('r.stream_id = ?'), params.push(f.streamId));
    if (f.tag) (where.push('EXISTS (SELECT 1 FROM stream_tags t WHERE t.stream_id = s.id AND t.tag = ?)'), params.push(f.tag));
    const clause = `WHERE ${where.join(' AND ')}`;
    const total = (this.#db.prepare(`SELECT COUNT(*) AS n FROM recordings r JOIN streams s ON s.id = r.stream_id ${clause}`).get(...params) as { n: number }).n;
    const rows = this.#db.prepare(`${SELECT} ${clause} ORDER BY r.started_at DESC, r.id LIMIT ? OFFSET ?`).all(...params, f.limit, f.offset) as Row[];
    return { recordings: rows.map(fromRow), total };
  }

  /** Recordings a server crash left open. */
  unfinished(): RecordingRecord[] {
    return (this.#db.prepare(`${SELECT} WHERE r.status = 'recording'`).all() as Row[]).map(fromRow);
  }

  delete(id: string): boolean {
    return this.#db.prepare('DELETE FROM recordings WHERE id = ?').run(id).changes > 0;
  }
}
