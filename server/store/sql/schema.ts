/**
 * The catalogue's tables as Kysely sees them: one description for both engines (SQLite and PostgreSQL), so
 * every query in this folder is checked against it by the compiler.
 *
 * Column types are the values the drivers hand back. Times are ISO-8601 UTC strings with milliseconds
 * (`2026-11-30T14:58:00.123Z`, from `Date.toISOString()`), stored as text on both engines: they sort and
 * compare correctly as text, and a record reads back byte-identical whichever engine holds it. Integers that
 * PostgreSQL keeps as `bigint` (sizes, counts) arrive from `pg` as strings, hence `number | string` where that
 * can happen; the stores turn them into numbers with `toNumber` (numbers.ts).
 */
import type { Generated } from 'kysely';
import type { Role, StreamStatus, Visibility } from '../../../shared/api.js';
import type { ChatRole, ChatSanctionKind } from '../../../shared/chat.js';

export type RecordingStatus = 'recording' | 'ready' | 'interrupted';

export interface UsersTable {
  id: string;
  /** Unique ignoring (ASCII) case: SQLite `COLLATE NOCASE`, PostgreSQL a unique index on `lower(username)`. */
  username: string;
  password_hash: string;
  role: Role;
  created_at: string;
}

export interface StreamsTable {
  id: string;
  owner_id: string;
  title: string;
  description: Generated<string>;
  /** The tags as a JSON array, in the owner's order; stream_tags holds the same tags for filtering. */
  tags: Generated<string>;
  visibility: Visibility;
  status: Generated<StreamStatus>;
  stream_key: string;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  ended_at: string | null;
  /** The node holding the live broadcast (null when not live); `local` on a single machine. */
  live_node: string | null;
}

export interface StreamTagsTable {
  stream_id: string;
  tag: string;
}

export interface RecordingsTable {
  id: string;
  stream_id: string;
  status: RecordingStatus;
  started_at: string;
  ended_at: string | null;
  duration_seconds: Generated<number>;
  /** Rendition heights as a JSON array. */
  renditions: Generated<string>;
  /** `bigint` on PostgreSQL (a recording passes 2 GiB), so it may arrive as a string. */
  size_bytes: Generated<number | string>;
  /** The node that wrote it (its files are on that node's disk); `local` on a single machine. */
  node: string | null;
}

export interface ChatMessagesTable {
  /** Order of messages (SQLite AUTOINCREMENT, PostgreSQL an identity column: `bigint`, may be a string). */
  seq: Generated<number | string>;
  id: string;
  stream_id: string;
  at: string;
  name: string;
  role: ChatRole;
  user_id: string | null;
  address: string;
  session: string;
  text: string;
  deleted_at: string | null;
}

export interface ChatSettingsTable {
  stream_id: string;
  /** 1 or 0 (an integer on both engines, as OnAir's first chat schema had it). */
  enabled: Generated<number>;
  slow_mode_seconds: Generated<number>;
  /** Filtered words as a JSON array. */
  filter: Generated<string>;
}

export interface ChatSanctionsTable {
  id: Generated<number | string>;
  stream_id: string;
  kind: ChatSanctionKind;
  user_id: string | null;
  address: string | null;
  session: string | null;
  /** Null: a ban (no end). */
  until: string | null;
  created_at: string;
}

/** A stream's restream destination (server/restream); the key sealed, never in clear. */
export interface RestreamDestinationsTable {
  id: string;
  stream_id: string;
  name: string;
  url: string;
  key_sealed: string;
  key_hint: string;
  /** 1 or 0. */
  enabled: Generated<number>;
  created_at: string;
}

/** Every table of the catalogue, by name. */
export interface CatalogueSchema {
  users: UsersTable;
  streams: StreamsTable;
  stream_tags: StreamTagsTable;
  recordings: RecordingsTable;
  chat_messages: ChatMessagesTable;
  chat_settings: ChatSettingsTable;
  chat_sanctions: ChatSanctionsTable;
  restream_destinations: RestreamDestinationsTable;
}
