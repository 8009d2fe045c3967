/**
 * The catalogue: users, streams, recordings, the live chat, restream destinations and webhooks behind async store interfaces, on SQLite (the
 * default: one file in the data dir) or on PostgreSQL (cluster mode: `ONAIR_DATABASE_URL=postgres://…`, one
 * database shared by every node). One set of typed queries (the Sql*Store classes, Kysely) and one set of
 * migrations (migrations.ts) serve both engines.
 *
 * Lifetime: `openCatalogue()` opens the connection (file or pool), migrates to the latest schema, and hands
 * back the four stores; `close()` closes the connection once the queries in flight are done. Stores must
 * not be used after `close()` (Kysely rejects them).
 *
 * Nodes: every store acts for one node (`nodeId`: `local` on a single machine, ClusterSettings.nodeId in
 * cluster mode). Streams record the node holding their live broadcast and recordings the node that wrote
 * them, so that a restarting node ends and recovers only its own (StreamStore, RecordingStore).
 *
 * An onair.db made by an OnAir from before this catalogue is taken over as it is (migrate.ts).
 */
import { z } from 'zod';
import { sql, type Kysely } from 'kysely';
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
import { SqlWebhookStore, type WebhookStore } from './WebhookStore.js';
import { SqlAdminUserStore, type AdminUserStore } from '../../admin/AdminUserStore.js';

/** The node id of a single-machine OnAir (the one place it is spelled; migration 0006 backfills with it). */
export const LOCAL_NODE_ID = 'local';

export interface Catalogue {
  readonly engine: Engine;
  /** The schema version reached: the number of migrations applied. */
  readonly schemaVersion: number;
  /** The node the stores act for (see the header). */
  readonly nodeId: string;
  readonly users: UserStore;
  readonly streams: StreamStore;
  readonly recordings: RecordingStore;
  readonly chat: ChatStore;
  /** Restream destinations (server/restream). */
  readonly destinations: DestinationStore;
  /** Webhooks and their deliveries (server/webhooks). */
  readonly webhooks: WebhookStore;
  /** The admin console's account operations (server/admin): list, role, disable, password. */
  readonly admin: AdminUserStore;
  /** True when the database answers a trivial query (readiness); never rejects. */
  ping(): Promise<boolean>;
  /** Closes the file or the pool after the queries in flight; twice is harmless. */
  close(): Promise<void>;
}

export interface CatalogueOptions {
  /** A `postgres://` or `postgresql://` URL: PostgreSQL. Absent or empty: SQLite in `sqliteFile`. */
  databaseUrl?: string | undefined;
  /** The SQLite file (or `:memory:`), used when there is no database URL. */
  sqliteFile: string;
  /** The node the stores act for; default LOCAL_NODE_ID. */
  nodeId?: string | undefined;
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
    if (!u.password) return u.toString();
    // The URL class percent-encodes what it is given: a plain marker, replaced after.
    u.password = 'REDACTED';
    return u.toString().replace(':REDACTED@', ':<redacted>@');
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

  const nodeId = opts.nodeId ?? LOCAL_NODE_ID;
  let closing: Promise<void> | undefined;
  return {
    engine,
    schemaVersion,
    nodeId,
    users: new SqlUserStore(db),
    streams: new SqlStreamStore(db, nodeId),
    recordings: new SqlRecordingStore(db, nodeId),
    chat: new SqlChatStore(db),
    destinations: new SqlDestinationStore(db),
    webhooks: new SqlWebhookStore(db),
    admin: new SqlAdminUserStore(db),
    ping: async () => {
      if (closing) return false;
      try {
        await sql`SELECT 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    close: () => (closing ??= db.destroy()),
  };
}
