/**
 * Brings a catalogue database to the schema of this OnAir with Kysely's Migrator (the migrations are in
 * migrations.ts), on either engine; run once by `openCatalogue()` before any store is used.
 *
 * Guards, and why:
 * - A database migrated by a newer OnAir (a migration name this one does not know, or on SQLite a
 *   `user_version` above ours) is refused with StoreError `schema_too_new` before anything runs: running old
 *   code on a newer schema could lose data, and Kysely's own refusal ("corrupted migrations") says nothing
 *   a user can act on.
 * - SQLite files from before Kysely carry their version in `PRAGMA user_version` and no Kysely table: that
 *   version is handed to the migrations, which record themselves as done without running (migrations.ts).
 * - After migrating, SQLite's `user_version` is set to the number of migrations applied, so an older OnAir
 *   (which reads only `user_version`) still opens a file of the schema it knows and refuses a newer one.
 * - Several nodes starting at once against one PostgreSQL: Kysely's PostgreSQL adapter takes an advisory
 *   lock (`pg_advisory_lock`) and runs every pending migration in one transaction under it, so exactly one
 *   node migrates and the others, waiting on the lock, find the work done. SQLite has one writer (one process) by design; its adapter takes no
 *   lock, and the dialect in openSqlite.ts makes the migrations run in one transaction there too.
 */
import { Migrator, sql, type Kysely } from 'kysely';
import { StoreError } from './errors.js';
import { MIGRATION_NAMES, SCHEMA_VERSION, migrationProvider, type Engine } from './migrations.js';
import type { CatalogueSchema } from './schema.js';

/** Kysely's default bookkeeping table (its name is part of every migrated database: never change it). */
const MIGRATION_TABLE = 'kysely_migration';

async function migrationTableExists(db: Kysely<CatalogueSchema>): Promise<boolean> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  return tables.some((t) => t.name === MIGRATION_TABLE && !t.isView);
}

async function executedMigrations(db: Kysely<CatalogueSchema>): Promise<string[]> {
  const r = await sql<{ name: string }>`SELECT name FROM ${sql.table(MIGRATION_TABLE)}`.execute(db);
  return r.rows.map((row) => row.name);
}

async function sqliteUserVersion(db: Kysely<CatalogueSchema>): Promise<number> {
  const r = await sql<{ user_version: number }>`PRAGMA user_version`.execute(db);
  return r.rows[0]?.user_version ?? 0;
}

const tooNew = (what: string) =>
  new StoreError('schema_too_new', `the database schema (${what}) is newer than this OnAir (v${SCHEMA_VERSION}); upgrade OnAir`);

/** Migrates to the latest schema; returns the schema version reached (the number of migrations applied). */
export async function migrateCatalogue(db: Kysely<CatalogueSchema>, engine: Engine): Promise<number> {
  const hasTable = await migrationTableExists(db);
  let legacySqliteVersion = 0;
  if (engine === 'sqlite') {
    const userVersion = await sqliteUserVersion(db);
    if (userVersion > SCHEMA_VERSION) throw tooNew(`v${userVersion}`);
    if (!hasTable) legacySqliteVersion = userVersion;
  }
  if (hasTable) {
    const unknown = (await executedMigrations(db)).filter((name) => !MIGRATION_NAMES.includes(name));
    if (unknown.length > 0) throw tooNew(`migrations ${unknown.join(', ')}`);
  }

  const migrator = new Migrator({ db, provider: migrationProvider({ engine, legacySqliteVersion }) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (engine === 'sqlite') await sql.raw(`PRAGMA user_version = ${SCHEMA_VERSION}`).execute(db);
  return SCHEMA_VERSION;
}
