/**
 * The catalogue: users, streams, recordings and the live chat behind async store interfaces, on SQLite (the
 * default: one file in the data dir) or on PostgreSQL (cluster mode: `ONAIR_DATABASE_URL=postgres://…`, one
 * database shared by every node). One set of typed queries (the Sql*Store classes, Kysely) and one set of
 * migrations (migrations.ts) serve both engines.
 *
 * Lifetime: `openCatalogue()` opens the connection (file or pool), migrates to the latest schema, and hands
 * back the four stores; `close()` closes the connection once the queries in flight are done. Stores must
 * not be used after `close()` (Kysely rejects them).
 *
 * The switch (done by the lead once the lifecycle work settles): app.ts replaces `openDatabase()` and
 * `new UserStore(db)` / `new StreamStore(db)` / `new RecordingStore(db)` / `new ChatStore(db)` of
 * server/store/ with `await openCatalogue({ databaseUrl: config.databaseUrl, sqliteFile:
 * path.join(config.dataDir, 'onair.db') })` and passes `catalogue.users` / `.streams` / `.recordings` /
 * `.chat` where the classes went (the interfaces have the same method names, now returning promises: every
 * call gains an `await`); config/ gains `ONAIR_DATABASE_URL`; the stop sequence awaits `catalogue.close()`
 * where it closed the database. Then server/store/Database.ts, migrations.ts and the four classes go; ids.ts
 * and bootstrapAdmin.ts stay. An existing onair.db is taken over as it is (migrate.ts).
 */
import { z } from 'zod';
import type { Kysely } from 'kysely';
import { SqlChatStore, type ChatStore } from './ChatStore.js';
import { SqlDestinationStore, type DestinationStore } from './DestinationStore.js';
import { toStoreError } from './errors.js';
import { migrateCatalogue } from './migrate.js';
import type { Engine } from './migrations.js';
import { openPostgres } from './openPostgres.js';
import { openSqlite } from './openSqlite.js';
import { SqlRecordingStore, type RecordingStore } from './RecordingStore.js';
import type { CatalogueSchema } from './schema.js';
import { SqlStreamStore, type StreamStore } from './StreamStore.js';
import { SqlUserStore, type UserStore } from './UserStore.js';

export interface Catalogue {
  readonly engine: Engine;
  /** The schema version reached: the number of migrations applied. */
  readonly schemaVersion: number;
  readonly users: UserStore;
  readonly streams: StreamStore;
  readonly recordings: RecordingStore;
  readonly chat: ChatStore;
  /** Restream destinations (server/restream). */
  readonly destinations: DestinationStore;
  /** Closes the file or the pool after the queries in flight; twice is harmless. */
  close(): Promise<void>;
}

export interface CatalogueOptions {
  /** A `postgres://` or `postgresql://` URL: PostgreSQL. Absent or empty: SQLite in `sqliteFile`. */
  databaseUrl?: string | undefined;
  /** The SQLite file (or `:memory:`), used when there is no database URL. */
  sqliteFile: string;
  /** PostgreSQL only: connections per node. */
  maxConnections?: number | undefined;
  /** PostgreSQL only: errors of idle pooled connections (log them). */
  onPoolError?: ((err: Error) => void) | undefined;
}

/** A PostgreSQL URL, checked before any connection is tried (it comes from the environment). */
export const databaseUrlSchema = z
  .string()
  .url('not a URL')
  .refine((u) => ['postgres:', 'postgresql:'].includes(new URL(u).protocol), 'must start with postgres:// or postgresql://');

/** The URL with its password replaced, for logs and error messages. */
export function maskDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '<redacted>';
    return u.toString();
  } catch {
    return '<not a URL>';
  }
}

export async function openCatalogue(opts: CatalogueOptions): Promise<Catalogue> {
  let engine: Engine;
  let db: Kysely<CatalogueSchema>;
  if (opts.databaseUrl) {
    const parsed = databaseUrlSchema.safeParse(opts.databaseUrl);
    if (!parsed.success) {
      throw new Error(`database URL ${maskDatabaseUrl(opts.databaseUrl)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
    engine = 'postgres';
    db = openPostgres({ url: parsed.data, maxConnections: opts.maxConnections, onPoolError: opts.onPoolError });
  } else {
    engine = 'sqlite';
    db = openSqlite(opts.sqliteFile);
  }

  let schemaVersion: number;
  try {
    schemaVersion = await migrateCatalogue(db, engine);
  } catch (err) {
    await db.destroy();
    throw toStoreError(err);
  }

  let closing: Promise<void> | undefined;
  return {
    engine,
    schemaVersion,
    users: new SqlUserStore(db),
    streams: new SqlStreamStore(db),
    recordings: new SqlRecordingStore(db),
    chat: new SqlChatStore(db),
    destinations: new SqlDestinationStore(db),
    close: () => (closing ??= db.destroy()),
  };
}
