/** The stream catalogue: metadata, owner, status and the secret stream key of every stream. */
import type { StreamStatus, Visibility } from '../../shared/api.js';
import type { Db } from './Database.js';
import { newStreamId, newStreamKey } from './ids.js';

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

interface StreamRow {
  id: string;
  owner_id: string;
  owner_username: string;
  title: string;
  description: string;
  tags: string;
  visibility: Visibility;
  status: StreamStatus;
  stream_key: string;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  ended_at: string | null;
}

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

const SELECT = 'SELECT s.*, u.username AS owner_username FROM streams s JOIN users u ON u.id = s.owner_id';

export interface StreamFilter {
  status?: StreamStatus | undefined;
  tag?: string | undefined;
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

export class StreamStore {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  create(input: { ownerId: string; title: string; description: string; tags: string[]; visibility: Visibility }): StreamRecord {
    const id = newStreamId();
    const now = new Date().toISOString();
    this.#db.transaction(() => {
      this.#db
        .prepare(
          `INSERT INTO streams (id, owner_id, title, description, tags, visibility, stream_key, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(id, input.ownerId, input.title, input.description, JSON.stringify(input.tags), input.visibility, newStreamKey(), now, now);
      this.#setTags(id, input.tags);
    })();
    return this.byId(id)!;
  }

  byId(id: string): StreamRecord | undefined {
    const row = this.#db.prepare(`${SELECT} WHERE s.id = ?`).get(id) as StreamRow | undefined;
    return row && fromRow(row);
  }

  /** The stream this publisher key opens (RTMP/SRT ingest name only the key). */
  byKey(streamKey: string): StreamRecord | undefined {
    const row = this.#db.prepare(`${SELECT} WHERE s.stream_key = ?`).get(streamKey) as StreamRow | undefined;
    return row && fromRow(row);
  }

  /** Public streams matching the filter, newest activity first. */
  listPublic(filter: StreamFilter): { streams: StreamRecord[]; total: number } {
    const where: string[] = ["s.visibility = 'public'"];
    const params: unknown[] = [];
    if (filter.status) {
      where.push('s.status = ?');
      params.push(filter.status);
    }
    if (filter.tag) {
      where.push('EXISTS (SELECT 1 FROM stream_tags t WHERE t.stream_id = s.id AND t.tag = ?)');
      params.push(filter.tag);
    }
    if (filter.q) {
      // LIKE with the wildcards of the user's text escaped.
      const like = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.push("(s.title LIKE ? ESCAPE '\\' OR s.description LIKE ? ESCAPE '\\')");
      params.push(like, like);
    }
    const clause = `WHERE ${where.join(' AND ')}`;
    const total = (this.#db.prepare(`SELECT COUNT(*) AS n FROM streams s ${clause}`).get(...params) as { n: number }).n;
    const rows = this.#db
      .prepare(`${SELECT} ${clause} ORDER BY (s.status = 'live') DESC, s.updated_at DESC, s.id LIMIT ? OFFSET ?`)
      .all(...params, filter.limit, filter.offset) as StreamRow[];
    return { streams: rows.map(fromRow), total };
  }

  listByOwner(ownerId: string): StreamRecord[] {
    const rows = this.#db.prepare(`${SELECT} WHERE s.owner_id = ? ORDER BY s.created_at DESC`).all(ownerId) as StreamRow[];
    return rows.map(fromRow);
  }

  update(id: string, changes: StreamChanges): StreamRecord | undefined {
    const sets: string[] = [];
    const params: unknown[] = [];
    if (changes.title !== undefined) (sets.push('title = ?'), params.push(changes.title));
    if (changes.description !== undefined) (sets.push('description = ?'), params.push(changes.description));
    if (changes.visibility !== undefined) (sets.push('visibility = ?'), params.push(changes.visibility));
    if (changes.tags !== undefined) (sets.push('tags = ?'), params.push(JSON.stringify(changes.tags)));
    sets.push('updated_at = ?');
    params.push(new Date().toISOString());
    this.#db.transaction(() => {
      this.#db.prepare(`UPDATE streams SET ${sets.join(', ')} WHERE id = ?`).run(...params, id);
      if (changes.tags !== undefined) this.#setTags(id, changes.tags);
    })();
    return this.byId(id);
  }

  setStatus(id: string, status: StreamStatus): StreamRecord | undefined {
    const now = new Date().toISOString();
    if (status === 'live') {
      this.#db.prepare("UPDATE streams SET status = 'live', started_at = ?, ended_at = NULL, updated_at = ? WHERE id = ?").run(now, now, id);
    } else if (status === 'ended') {
      this.#db.prepare("UPDATE streams SET status = 'ended', ended_at = ?, updated_at = ? WHERE id = ?").run(now, now, id);
    } else {
      this.#db.prepare("UPDATE streams SET status = 'idle', updated_at = ? WHERE id = ?").run(now, id);
    }
    return this.byId(id);
  }

  /** Streams left "live" by a server that stopped without ending them (crash, SIGKILL). */
  endAllLive(): number {
    const now = new Date().toISOString();
    return this.#db.prepare("UPDATE streams SET status = 'ended', ended_at = ?, updated_at = ? WHERE status = 'live'").run(now, now).changes;
  }

  rotateKey(id: string): StreamRecord | undefined {
    this.#db.prepare('UPDATE streams SET stream_key = ?, updated_at = ? WHERE id = ?').run(newStreamKey(), new Date().toISOString(), id);
    return this.byId(id);
  }

  delete(id: string): boolean {
    return this.#db.prepare('DELETE FROM streams WHERE id = ?').run(id).changes > 0;
  }

  countByStatus(): Record<string, number> {
    const rows = this.#db.prepare('SELECT status, COUNT(*) AS n FROM streams GROUP BY status').all() as { status: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  #setTags(id: string, tags: string[]): void {
    this.#db.prepare('DELETE FROM stream_tags WHERE stream_id = ?').run(id);
    const insert = this.#db.prepare('INSERT INTO stream_tags (stream_id, tag) VALUES (?, ?)');
    for (const t of tags) insert.run(id, t);
  }
}
