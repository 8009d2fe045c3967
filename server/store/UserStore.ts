/** Users: accounts that broadcast (role "broadcaster") or run the platform (role "admin"). */
import type { Role } from '../../shared/api.js';
import type { Db } from './Database.js';
import { newUserId } from './ids.js';

export interface UserRecord {
  id: string;
  username: string;
  passwordHash: string;
  role: Role;
  createdAt: string;
}

interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  role: Role;
  created_at: string;
}

const fromRow = (r: UserRow): UserRecord => ({
  id: r.id,
  username: r.username,
  passwordHash: r.password_hash,
  role: r.role,
  createdAt: r.created_at,
});

export class UserStore {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  create(input: { username: string; passwordHash: string; role: Role }): UserRecord {
    const user: UserRecord = { id: newUserId(), createdAt: new Date().toISOString(), ...input };
    this.#db
      .prepare('INSERT INTO users (id, username, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(user.id, user.username, user.passwordHash, user.role, user.createdAt);
    return user;
  }

  byId(id: string): UserRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
    return row && fromRow(row);
  }

  byUsername(username: string): UserRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM users WHERE username = ?').get(username) as UserRow | undefined;
    return row && fromRow(row);
  }

  count(): number {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
  }
}
