/**
 * Users: accounts that broadcast (role "broadcaster") or run the platform (role "admin"), on either engine.
 *
 * The switch: this `UserStore` interface replaces the synchronous class `UserStore` of
 * server/store/UserStore.ts, method for method (`create`, `byId`, `byUsername`, `count`), each now returning
 * a promise. Callers (app.ts, bootstrapAdmin.ts, http/middleware/auth.ts, http/routes/userRoutes.ts and
 * authRoutes.ts, whip/whipRoutes.ts) add `await` and take the store from `openCatalogue()` (catalogue.ts)
 * instead of `new UserStore(db)`. userRoutes.ts can then drop its look-up-then-insert (a race between two
 * requests) and map `StoreError` reason `username_taken` to 409 instead.
 *
 * Usernames are unique ignoring case and found ignoring case (`ANN` signs in as `ann`); the name keeps the
 * case it was created with.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Role } from '../../../shared/api.js';
import { newUserId } from '../ids.js';
import { translated } from './errors.js';
import { toNumber } from './numbers.js';
import type { CatalogueSchema, UsersTable } from './schema.js';

export interface UserRecord {
  id: string;
  username: string;
  passwordHash: string;
  role: Role;
  createdAt: string;
}

export interface NewUser {
  username: string;
  passwordHash: string;
  role: Role;
}

export interface UserStore {
  /** Rejects with StoreError `username_taken` when the name (ignoring case) exists. */
  create(input: NewUser): Promise<UserRecord>;
  byId(id: string): Promise<UserRecord | undefined>;
  /** Ignoring case. */
  byUsername(username: string): Promise<UserRecord | undefined>;
  count(): Promise<number>;
}

const fromRow = (r: Selectable<UsersTable>): UserRecord => ({
  id: r.id,
  username: r.username,
  passwordHash: r.password_hash,
  role: r.role,
  createdAt: r.created_at,
});

export class SqlUserStore implements UserStore {
  readonly #db: Kysely<CatalogueSchema>;

  constructor(db: Kysely<CatalogueSchema>) {
    this.#db = db;
  }

  create(input: NewUser): Promise<UserRecord> {
    const user: UserRecord = { id: newUserId(), createdAt: new Date().toISOString(), ...input };
    return translated(async () => {
      await this.#db
        .insertInto('users')
        .values({ id: user.id, username: user.username, password_hash: user.passwordHash, role: user.role, created_at: user.createdAt })
        .execute();
      return user;
    });
  }

  byId(id: string): Promise<UserRecord | undefined> {
    return translated(async () => {
      const row = await this.#db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return row && fromRow(row);
    });
  }

  byUsername(username: string): Promise<UserRecord | undefined> {
    return translated(async () => {
      // lower() on both sides: the same folding as the unique rule on each engine.
      const row = await this.#db
        .selectFrom('users')
        .selectAll()
        .where(sql<string>`lower(username)`, '=', sql<string>`lower(${username})`)
        .executeTakeFirst();
      return row && fromRow(row);
    });
  }

  count(): Promise<number> {
    return translated(async () => {
      const { n } = await this.#db.selectFrom('users').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
      return toNumber(n);
    });
  }
}
