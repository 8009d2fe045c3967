/**
 * The admin console's account operations (issue 14): list every account, change a role, lock (disable) and
 * unlock, set a new password. On the catalogue's database (SQLite or PostgreSQL, Kysely), beside UserStore,
 * which keeps what every caller needs (create, find, count).
 *
 * A disabled account is locked the Unix way (`passwd -l`): its password hash gets a `!` in front. No password
 * matches such a hash (verifyPassword reads only `scrypt$…`), so it cannot sign in; the API's
 * authentication refuses its tokens (isLocked, http/middleware/auth.ts); unlocking removes the `!` and the
 * old password works again. No schema change is needed, on either engine.
 */
import { sql, type Kysely } from 'kysely';
import type { Role } from '../../shared/api.js';
import { translated } from '../store/sql/errors.js';
import type { CatalogueSchema } from '../store/sql/schema.js';

const LOCK = '!';

/** Is this stored password hash locked (a disabled account)? */
export const isLocked = (passwordHash: string): boolean => passwordHash.startsWith(LOCK);

export interface AdminUserRow {
  id: string;
  username: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
}

export interface AdminUserStore {
  list(): Promise<AdminUserRow[]>;
  /** false: no such account. */
  setRole(id: string, role: Role): Promise<boolean>;
  setDisabled(id: string, disabled: boolean): Promise<boolean>;
  /** Keeps a disabled account disabled (the new hash is locked too). */
  setPasswordHash(id: string, passwordHash: string): Promise<boolean>;
  /** Admins that are not disabled. */
  activeAdmins(): Promise<string[]>;
}

export class SqlAdminUserStore implements AdminUserStore {
  readonly #db: Kysely<CatalogueSchema>;

  constructor(db: Kysely<CatalogueSchema>) {
    this.#db = db;
  }

  list(): Promise<AdminUserRow[]> {
    return translated(async () => {
      const rows = await this.#db.selectFrom('users').select(['id', 'username', 'role', 'password_hash', 'created_at']).orderBy('created_at').orderBy('id').execute();
      return rows.map((r) => ({ id: r.id, username: r.username, role: r.role, disabled: isLocked(r.password_hash), createdAt: r.created_at }));
    });
  }

  setRole(id: string, role: Role): Promise<boolean> {
    return translated(async () => {
      const r = await this.#db.updateTable('users').set({ role }).where('id', '=', id).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    });
  }

  setDisabled(id: string, disabled: boolean): Promise<boolean> {
    return translated(async () => {
      // One statement either way: no read-then-write race between two admins.
      const hash = disabled
        ? sql<string>`CASE WHEN substr(password_hash, 1, 1) = ${LOCK} THEN password_hash ELSE ${LOCK} || password_hash END`
        : sql<string>`CASE WHEN substr(password_hash, 1, 1) = ${LOCK} THEN substr(password_hash, 2) ELSE password_hash END`;
      const r = await this.#db.updateTable('users').set({ password_hash: hash }).where('id', '=', id).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    });
  }

  setPasswordHash(id: string, passwordHash: string): Promise<boolean> {
    return translated(async () => {
      const hash = sql<string>`CASE WHEN substr(password_hash, 1, 1) = ${LOCK} THEN ${LOCK} || ${passwordHash} ELSE ${passwordHash} END`;
      const r = await this.#db.updateTable('users').set({ password_hash: hash }).where('id', '=', id).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    });
  }

  activeAdmins(): Promise<string[]> {
    return translated(async () => {
      const rows = await this.#db.selectFrom('users').select(['id', 'password_hash']).where('role', '=', 'admin').execute();
      return rows.filter((r) => !isLocked(r.password_hash)).map((r) => r.id);
    });
  }
}
