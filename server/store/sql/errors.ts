/**
 * The catalogue's errors, with a machine-readable reason the HTTP layer maps to a status without reading
 * driver messages: `username_taken` → 409 `conflict`; `unavailable` → 503 `not_ready`; the others are bugs
 * or races a caller may map to 404/409 where it knows the situation (a stream deleted while a recording of it
 * started is `missing_reference`).
 *
 * SQLite (better-sqlite3) and PostgreSQL (pg) report the same violation differently: SQLite by an extended
 * result code (`SQLITE_CONSTRAINT_UNIQUE`) and a message naming `table.column`; PostgreSQL by SQLSTATE
 * (`23505`) and the constraint's name. `toStoreError` turns both into one StoreError, so no caller depends on
 * the engine. The unique index on PostgreSQL is named `users_username_key` on purpose: that is the name
 * PostgreSQL gives a plain `UNIQUE` on users.username, the one name both engines' messages agree on.
 */

export const STORE_ERROR_REASONS = [
  /** Another account has this username (ignoring case). */
  'username_taken',
  /** Another row has this id or stream key (ids are random: a repeated id is a caller's bug). */
  'duplicate',
  /** The row refers to one that does not exist (owner of a stream, stream of a recording). */
  'missing_reference',
  /** A value outside a column's allowed set reached the database (a bug: inputs are validated before). */
  'invalid_value',
  /** The database cannot be reached or refused the connection (PostgreSQL down, restarting, pool timeout). */
  'unavailable',
  /** The database was migrated by a newer OnAir: this one does not know its schema. */
  'schema_too_new',
] as const;

export type StoreErrorReason = (typeof STORE_ERROR_REASONS)[number];

export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly reason: StoreErrorReason;

  constructor(reason: StoreErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

interface DriverError {
  code?: unknown;
  constraint?: unknown;
  message?: unknown;
}

/** Node's socket errors that mean "the server is not there (any more)". */
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);
/** PostgreSQL: admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections. */
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300']);

/** The StoreError a driver error stands for, or the error itself when it is none of the known cases. */
export function toStoreError(err: unknown): unknown {
  if (err instanceof StoreError || typeof err !== 'object' || err === null) return err;
  const { code, constraint, message } = err as DriverError;
  const text = typeof message === 'string' ? message : '';
  if (typeof code !== 'string') {
    // pg's pool and client report lost connections without a code.
    if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(text)) {
      return new StoreError('unavailable', `the database is unreachable: ${text}`, { cause: err });
    }
    return err;
  }
  // SQLite (better-sqlite3's SqliteError.code)
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return text.includes('users.username')
      ? new StoreError('username_taken', 'the username is taken', { cause: err })
      : new StoreError('duplicate', `duplicate key: ${text}`, { cause: err });
  }
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return new StoreError('missing_reference', 'the referenced row does not exist', { cause: err });
  if (code === 'SQLITE_CONSTRAINT_CHECK' || code === 'SQLITE_CONSTRAINT_NOTNULL') {
    return new StoreError('invalid_value', `invalid value: ${text}`, { cause: err });
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_CANTOPEN') return new StoreError('unavailable', `the database is unavailable: ${text}`, { cause: err });
  // PostgreSQL (SQLSTATE in pg's DatabaseError.code)
  if (code === '23505') {
    return constraint === 'users_username_key'
      ? new StoreError('username_taken', 'the username is taken', { cause: err })
      : new StoreError('duplicate', `duplicate key: ${text}`, { cause: err });
  }
  if (code === '23503') return new StoreError('missing_reference', 'the referenced row does not exist', { cause: err });
  if (code === '23514' || code === '23502') return new StoreError('invalid_value', `invalid value: ${text}`, { cause: err });
  if (code.startsWith('08') || PG_UNAVAILABLE.has(code) || CONNECTION_ERRNOS.has(code)) {
    return new StoreError('unavailable', `the database is unreachable: ${text}`, { cause: err });
  }
  return err;
}

/** Runs one store operation, rethrowing driver errors as StoreErrors. */
export async function translated<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw toStoreError(err);
  }
}
