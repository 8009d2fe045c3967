/**
 * The catalogue's schema migrations, one set for both engines, run by Kysely's Migrator (migrate.ts).
 *
 * Each migration runs once, in name order, and is recorded in the `kysely_migration` table. Append new
 * migrations with the next number; never edit one that has shipped (a database that ran it would not run it
 * again). Where the engines differ the migration says so inline, and only there:
 * - usernames are unique ignoring case: SQLite `COLLATE NOCASE` on the column (as OnAir always had),
 *   PostgreSQL a unique index on `lower(username)` named `users_username_key` (see errors.ts);
 * - `REAL` is `double precision` on PostgreSQL (its `real` is 4 bytes), and sizes are `bigint` there
 *   (SQLite's `INTEGER` is already 64 bits);
 * - SQLite's `INTEGER PRIMARY KEY AUTOINCREMENT` is a `bigint` identity column on PostgreSQL.
 *
 * SQLite databases made before Kysely (server/store/migrations.ts, versions in `PRAGMA user_version`) hold
 * what 0001, 0002 and 0003 create (the same tables, columns, keys, indexes and checks): on such a database
 * those record themselves as done without running (`legacySqliteVersion`, read by migrate.ts before the
 * Migrator starts), and migrate.ts keeps `user_version` equal to the number of migrations applied, so that
 * an older OnAir reading the file still sees the version it knows (and refuses one it does not).
 *
 * The pre-Kysely code is gone; storeContract.legacySqlite.test.ts keeps a frozen copy of its schema to make
 * such files from, and checks that they are taken over.
 */
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

export type Engine = 'sqlite' | 'postgres';

export interface MigrationContext {
  engine: Engine;
  /**
   * SQLite only: the `user_version` of a database last migrated by the pre-Kysely code (0 for a new file,
   * or once the Kysely table exists). Migration N with N ≤ this is already in the file.
   */
  legacySqliteVersion: number;
}

type MigrationBody = (db: Kysely<unknown>, ctx: MigrationContext) => Promise<void>;

/** Ordered: the name's number is the schema version reached after it (mirrored into SQLite's user_version). */
const BODIES: readonly (readonly [name: string, up: MigrationBody])[] = [
  [
    '0001_users_and_streams',
    async (db, { engine }) => {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => (engine === 'sqlite' ? c.notNull().unique().modifyEnd(sql`COLLATE NOCASE`) : c.notNull()))
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull().check(sql`role IN ('admin', 'broadcaster')`))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      if (engine === 'postgres') {
        await db.schema.createIndex('users_username_key').on('users').unique().expression(sql`lower(username)`).execute();
      }
      await db.schema
        .createTable('streams')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('visibility', 'text', (c) => c.notNull().check(sql`visibility IN ('public', 'unlisted', 'private')`))
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('idle').check(sql`status IN ('idle', 'live', 'ended')`))
        .addColumn('stream_key', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('ended_at', 'text')
        .execute();
      await db.schema.createIndex('streams_owner').on('streams').column('owner_id').execute();
      await db.schema.createIndex('streams_status').on('streams').columns(['status', 'updated_at']).execute();
      await db.schema
        .createTable('stream_tags')
        .addColumn('stream_id', 'text', (c) => c.notNull().references('streams.id').onDelete('cascade'))
        .addColumn('tag', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('stream_tags_pkey', ['stream_id', 'tag'])
        .execute();
      await db.schema.createIndex('stream_tags_tag').on('stream_tags').column('tag').execute();
    },
  ],
  [
    '0002_recordings',
    async (db, { engine }) => {
      await db.schema
        .createTable('recordings')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('stream_id', 'text', (c) => c.notNull().references('streams.id').onDelete('cascade'))
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status IN ('recording', 'ready', 'interrupted')`))
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('ended_at', 'text')
        .addColumn('duration_seconds', engine === 'sqlite' ? 'real' : 'double precision', (c) => c.notNull().defaultTo(0))
        .addColumn('renditions', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('size_bytes', engine === 'sqlite' ? 'integer' : 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('recordings_stream').on('recordings').columns(['stream_id', 'started_at']).execute();
      await db.schema.createIndex('recordings_started').on('recordings').column('started_at').execute();
    },
  ],
  [
    '0003_chat',
    async (db, { engine }) => {
      // The live chat (server/chat): messages with their stream and time, per-stream settings, sanctions.
      const serial = engine === 'sqlite' ? 'integer' : 'bigint';
      await db.schema
        .createTable('chat_messages')
        .addColumn('seq', serial, (c) => (engine === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity()))
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('stream_id', 'text', (c) => c.notNull().references('streams.id').onDelete('cascade'))
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull().check(sql`role IN ('owner', 'admin', 'viewer')`))
        .addColumn('user_id', 'text')
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('session', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text')
        .execute();
      await db.schema.createIndex('chat_messages_stream_at').on('chat_messages').columns(['stream_id', 'at']).execute();
      await db.schema
        .createTable('chat_settings')
        .addColumn('stream_id', 'text', (c) => c.primaryKey().references('streams.id').onDelete('cascade'))
        .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('slow_mode_seconds', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('filter', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      await db.schema
        .createTable('chat_sanctions')
        .addColumn('id', serial, (c) => (engine === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity()))
        .addColumn('stream_id', 'text', (c) => c.notNull().references('streams.id').onDelete('cascade'))
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('timeout', 'ban')`))
        .addColumn('user_id', 'text')
        .addColumn('address', 'text')
        .addColumn('session', 'text')
        .addColumn('until', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('chat_sanctions_stream').on('chat_sanctions').column('stream_id').execute();
    },
  ],
  [
    '0004_restream_destinations',
    async (db) => {
      // Restream destinations (server/restream): RTMP(S) targets of a stream; the stream key sealed with
      // AES-256-GCM (server/restream/keySealer.ts), never stored in clear.
      await db.schema
        .createTable('restream_destinations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('stream_id', 'text', (c) => c.notNull().references('streams.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('key_sealed', 'text', (c) => c.notNull())
        .addColumn('key_hint', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('restream_destinations_stream').on('restream_destinations').columns(['stream_id', 'created_at']).execute();
    },
  ],
  [
    '0005_webhooks',
    async (db) => {
      // Webhooks (server/webhooks): hooks per user (owner_id NULL: the server-wide ONAIR_WEBHOOK_URL, id
      // 'server') and their deliveries, kept until delivered or given up, so a restart resumes pending ones.
      await db.schema
        .createTable('webhooks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhooks_owner').on('webhooks').column('owner_id').execute();
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status IN ('pending', 'delivered', 'failed')`))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('next_attempt_at', 'text')
        .addColumn('last_attempt_at', 'text')
        .addColumn('response_status', 'integer')
        .addColumn('last_error', 'text')
        .execute();
      await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
      await db.schema.createIndex('webhook_deliveries_webhook').on('webhook_deliveries').columns(['webhook_id', 'created_at']).execute();
    },
  ],
  [
    '0006_node_ownership',
    async (db) => {
      // A node owns what it runs (docs/cluster.md): the node holding a stream's live broadcast, and the node
      // that wrote a recording (its files are on that node's disk). A restarting node ends only its own live
      // streams and recovers only its own recordings. Rows from before this migration were written by the one
      // machine there was: they are that machine's ('local', the node id of a single-machine OnAir).
      await db.schema.alterTable('streams').addColumn('live_node', 'text').execute();
      await db.schema.alterTable('recordings').addColumn('node', 'text').execute();
      await sql`UPDATE streams SET live_node = 'local' WHERE status = 'live'`.execute(db);
      await sql`UPDATE recordings SET node = 'local'`.execute(db);
      await db.schema.createIndex('streams_live_node').on('streams').columns(['live_node', 'status']).execute();
      await db.schema.createIndex('recordings_node_status').on('recordings').columns(['node', 'status']).execute();
    },
  ],
];

/** The number of migrations this OnAir knows: the newest schema version it can run on. */
export const SCHEMA_VERSION = BODIES.length;

/** Migration names in order. */
export const MIGRATION_NAMES: readonly string[] = BODIES.map(([name]) => name);

/** The migrations for one engine, for Kysely's Migrator. */
export function migrationProvider(ctx: MigrationContext): MigrationProvider {
  return {
    getMigrations: async () => {
      const out: Record<string, Migration> = {};
      BODIES.forEach(([name, body], i) => {
        const version = i + 1;
        out[name] = {
          up: async (db) => {
            // Already in a database made by the pre-Kysely SQLite code: record it, run nothing.
            if (ctx.engine === 'sqlite' && version <= ctx.legacySqliteVersion) return;
            await body(db as Kysely<unknown>, ctx);
          },
        };
      });
      return out;
    },
  };
}
