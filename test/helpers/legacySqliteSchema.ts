/**
 * A frozen copy of the schema OnAir's pre-Kysely store (server/store/Database.ts and migrations.ts, removed
 * when the server moved onto the async catalogue) wrote into onair.db, its version in `PRAGMA user_version`.
 * Users' existing files were made by exactly this; storeContract.legacySqlite.test.ts makes such files from it
 * and checks that the catalogue takes them over. Never edit: it is history.
 */
import BetterSqlite3 from 'better-sqlite3';

/** `makeLegacySqlite(file, v)` makes a file at version v (1..LEGACY_SCHEMA_VERSION), as that code left it. */
export function makeLegacySqlite(file: string, version: number = LEGACY_MIGRATIONS.length): BetterSqlite3.Database {
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  for (let v = 0; v < version; v++) {
    db.transaction(() => {
      db.exec(LEGACY_MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return db;
}

export const LEGACY_MIGRATIONS: readonly string[] = [
  // 1: users and the stream catalogue
  `
  CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'broadcaster')),
    created_at    TEXT NOT NULL
  );
  CREATE TABLE streams (
    id          TEXT PRIMARY KEY,
    owner_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    tags        TEXT NOT NULL DEFAULT '[]',
    visibility  TEXT NOT NULL CHECK (visibility IN ('public', 'unlisted', 'private')),
    status      TEXT NOT NULL DEFAULT 'idle' CHECK (status IN ('idle', 'live', 'ended')),
    stream_key  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    started_at  TEXT,
    ended_at    TEXT
  );
  CREATE INDEX streams_owner ON streams(owner_id);
  CREATE INDEX streams_status ON streams(status, updated_at);
  CREATE TABLE stream_tags (
    stream_id TEXT NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
    tag       TEXT NOT NULL,
    PRIMARY KEY (stream_id, tag)
  );
  CREATE INDEX stream_tags_tag ON stream_tags(tag);
  `,
  // 2: recordings (one per live session, with its HLS files)
  `
  CREATE TABLE recordings (
    id               TEXT PRIMARY KEY,
    stream_id        TEXT NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
    status           TEXT NOT NULL CHECK (status IN ('recording', 'ready', 'interrupted')),
    started_at       TEXT NOT NULL,
    ended_at         TEXT,
    duration_seconds REAL NOT NULL DEFAULT 0,
    renditions       TEXT NOT NULL DEFAULT '[]',
    size_bytes       INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX recordings_stream ON recordings(stream_id, started_at);
  CREATE INDEX recordings_started ON recordings(started_at);
  `,
  // 3: live chat (server/chat): messages with their stream and time, per-stream settings, sanctions
  `
  CREATE TABLE chat_messages (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    stream_id      TEXT NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
    at             TEXT NOT NULL,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
    user_id        TEXT,
    address        TEXT NOT NULL,
    session        TEXT NOT NULL,
    text           TEXT NOT NULL,
    deleted_at     TEXT
  );
  CREATE INDEX chat_messages_stream_at ON chat_messages(stream_id, at);
  CREATE TABLE chat_settings (
    stream_id          TEXT PRIMARY KEY REFERENCES streams(id) ON DELETE CASCADE,
    enabled            INTEGER NOT NULL DEFAULT 1,
    slow_mode_seconds  INTEGER NOT NULL DEFAULT 0,
    filter             TEXT NOT NULL DEFAULT '[]'
  );
  CREATE TABLE chat_sanctions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    stream_id   TEXT NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('timeout', 'ban')),
    user_id     TEXT,
    address     TEXT,
    session     TEXT,
    until       TEXT,
    created_at  TEXT NOT NULL
  );
  CREATE INDEX chat_sanctions_stream ON chat_sanctions(stream_id);
  `,
  // 4: restream destinations (server/restream): RTMP(S) targets of a stream, stream keys encrypted (AES-256-GCM)
  `
  CREATE TABLE restream_destinations (
    id          TEXT PRIMARY KEY,
    stream_id   TEXT NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    url         TEXT NOT NULL,
    key_sealed  TEXT NOT NULL,
    key_hint    TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL
  );
  CREATE INDEX restream_destinations_stream ON restream_destinations(stream_id, created_at);
  `,
  // 5: webhooks (server/webhooks): hooks per user (owner_id NULL: the server-wide ONAIR_WEBHOOK_URL, id
  // 'server') and their deliveries, kept until delivered or given up, so a restart resumes pending ones
  `
  CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    owner_id    TEXT REFERENCES users(id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    events      TEXT NOT NULL DEFAULT '[]',
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
  );
  CREATE INDEX webhooks_owner ON webhooks(owner_id);
  CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    next_attempt_at TEXT,
    last_attempt_at TEXT,
    response_status INTEGER,
    last_error      TEXT
  );
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
  CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id, created_at);
  `,
];

export const LEGACY_SCHEMA_VERSION = LEGACY_MIGRATIONS.length;
