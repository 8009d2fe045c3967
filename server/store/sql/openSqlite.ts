/**
 * The SQLite side of the catalogue: one better-sqlite3 connection to a file in the data dir (the default,
 * single-machine OnAir), wrapped in Kysely's SQLite dialect.
 *
 * Lifetime: opened by `openCatalogue()`, closed by its `close()` (Kysely's `destroy()` closes the file).
 * The pragmas are today's (server/store/Database.ts): WAL so readers never wait for the writer, NORMAL sync
 * (safe with WAL: a power cut loses at most the last commits, never the file), foreign keys on (SQLite's
 * default is off; the cascades of the schema rely on them), and a busy timeout so a second process reading
 * the file (a backup, sqlite3 on the console) makes a write wait instead of fail.
 *
 * Kysely's SQLite adapter says it has no transactional DDL, so its Migrator would run each migration
 * statement by statement, and a crash half-way would leave a schema no migration expects. SQLite does roll
 * back DDL, as the pre-Kysely code relied on (each migration in `db.transaction()`): the adapter here says
 * so, and the Migrator runs all pending migrations and their bookkeeping in one transaction.
 */
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteAdapter, SqliteDialect, type DialectAdapter } from 'kysely';
import type { CatalogueSchema } from './schema.js';

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class OnAirSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/** Opens (creating if needed) the SQLite file; `:memory:` gives a private in-memory database. */
export function openSqlite(file: string): Kysely<CatalogueSchema> {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const database = new BetterSqlite3(file);
  try {
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 5000');
  } catch (err) {
    database.close();
    throw err;
  }
  return new Kysely<CatalogueSchema>({ dialect: new OnAirSqliteDialect({ database }) });
}
