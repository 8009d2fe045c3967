/**
 * Raw SQL on a test server's SQLite catalogue (`onair.db` in its data dir), the way an operator's `sqlite3`
 * would: to set up or read what no store method does (a crash's leftovers, a row's raw columns). A second
 * connection on the WAL file, opened and closed per call: the server's committed writes are visible, and a
 * write here waits (busy timeout) rather than fails while the server writes.
 */
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';

export function catalogueSql<T>(server: { dataDir: string }, use: (db: BetterSqlite3.Database) => T): T {
  const db = new BetterSqlite3(path.join(server.dataDir, 'onair.db'));
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    return use(db);
  } finally {
    db.close();
  }
}
