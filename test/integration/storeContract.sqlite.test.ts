/** The catalogue contract (storeContract.ts) on SQLite: a fresh temp file per test, as OnAir opens it. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openCatalogue } from '../../server/store/sql/catalogue.js';
import { describeStoreContract } from './storeContract.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-contract-'));
let n = 0;
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describeStoreContract({
  engine: 'sqlite',
  newDatabase: async () => ({ sqliteFile: path.join(root, `db${++n}`, 'onair.db') }),
  exec: async (db, statement) => {
    const raw = new BetterSqlite3(db.sqliteFile);
    try {
      raw.exec(statement);
    } finally {
      raw.close();
    }
  },
});

describe('catalogue on SQLite, as one machine runs it', () => {
  it('keeps the file in WAL mode (readers never wait for the writer)', async () => {
    const sqliteFile = path.join(root, 'wal', 'onair.db');
    await (await openCatalogue({ sqliteFile })).close();
    const raw = new BetterSqlite3(sqliteFile, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      raw.close();
    }
  });
});
