/**
 * The PostgreSQL side of the catalogue (cluster mode: every node shares one database): a `pg` connection pool
 * wrapped in Kysely's PostgreSQL dialect.
 *
 * Lifetime: opened by `openCatalogue()`, closed by its `close()` (Kysely's `destroy()` ends the pool after the
 * queries in flight). Connections are made on first use, so opening does not wait for the server; the
 * migration that follows does.
 *
 * Guards, and why:
 * - `pool.on('error')`: the pool emits 'error' when an idle connection dies (PostgreSQL restarted, a
 *   failover, a proxy's idle timeout). Unhandled, that event would end the node's process; here it is
 *   reported and the pool replaces the connection on next use.
 * - `connectionTimeoutMillis`: while PostgreSQL is unreachable a query fails within that time (StoreError
 *   `unavailable`) instead of waiting without end for a connection; requests answer 503 and live media,
 *   which does not touch the catalogue, plays on.
 * - `statement_timeout`: a query stuck behind a lock is cancelled by the server rather than holding one of
 *   the pool's connections for ever.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { CatalogueSchema } from './schema.js';

export interface PostgresOptions {
  /** `postgres://user:password@host:port/database` (libpq's URL form, `?sslmode=…` included). */
  url: string;
  /** Connections per node (default 10). */
  maxConnections?: number | undefined;
  /** Called with errors of idle connections (see above). */
  onPoolError?: ((err: Error) => void) | undefined;
}

export const POSTGRES_CONNECT_TIMEOUT_MS = 5_000;
export const POSTGRES_STATEMENT_TIMEOUT_MS = 15_000;

export function openPostgres(opts: PostgresOptions): Kysely<CatalogueSchema> {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.maxConnections ?? 10,
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    statement_timeout: POSTGRES_STATEMENT_TIMEOUT_MS,
    application_name: 'onair',
  });
  pool.on('error', (err) => opts.onPoolError?.(err));
  return new Kysely<CatalogueSchema>({ dialect: new PostgresDialect({ pool }) });
}
