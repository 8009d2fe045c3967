/**
 * A real PostgreSQL 15 (Debian's `postgresql` package) for one test file: `initdb` into a temp dir, the
 * server on a free loopback port, a password-protected role, stopped and removed by `close()`.
 *
 *   const pg = await startPostgres();           // beforeAll
 *   const url = await pg.createDatabase();      // a fresh, empty database per test
 *   await pg.close();                           // afterAll
 *
 * Lifetime: from `startPostgres()` to `close()`; `stop()` / `start()` in between take the server down and
 * bring it back on the same port and data (for outage tests). Guards, and why:
 * - PostgreSQL refuses to run as root. When the tests run as root (as set-up does) initdb and the server run
 *   as Debian's `postgres` system user (the package creates it), through spawn's uid/gid, and the temp dir is
 *   handed to that user. Not root: they run as the current user.
 * - Debian's own cluster (`postgresql@15-main`, port 5432) is neither needed nor touched: this is a private
 *   server in a private dir on a port nobody else uses, so tests never see someone else's data.
 * - fsync, full-page writes and synchronous commit are off: the data dir is thrown away after the file, and
 *   a crash of the machine mid-test loses nothing anyone keeps. Queries run exactly as they would in production.
 * - A missing package fails the test with the apt-get line (serverProcess.ts): nothing is skipped.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, requireBinary, runToEnd, spawnServer, systemUser, waitUntilReady, type ServerProcess, type SpawnOptions } from './serverProcess.js';

const BIN = '/usr/lib/postgresql/15/bin';
const ROLE = 'onair';

export interface PostgresServer {
  readonly port: number;
  /** The temp dir holding its data (and, for PostgreSQL, its socket); removed by `close()`. */
  readonly dir: string;
  /** The URL of the `postgres` database (the admin's), with role and password. */
  readonly url: string;
  /** Creates an empty database and returns its URL; a new name each call unless one is given. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server (fast shutdown: SIGINT), keeping its data; `start()` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its dir. Twice is harmless. */
  close(): Promise<void>;
}

let databases = 0;

export async function startPostgres(): Promise<PostgresServer> {
  requireBinary(path.join(BIN, 'initdb'), 'postgresql');
  requireBinary(path.join(BIN, 'postgres'), 'postgresql');
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? systemUser('postgres') : undefined;
  if (asRoot && !user) {
    throw new Error(
      'the tests run as root and PostgreSQL refuses to, but the "postgres" user (made by Debian\'s package) is missing:\n' +
        '  apt-get install -y --no-install-recommends postgresql',
    );
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-pg-'));
  const dataDir = path.join(dir, 'data');
  const password = crypto.randomBytes(18).toString('base64url');
  const pwFile = path.join(dir, 'pw');
  fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (user) {
    fs.chownSync(dir, user.uid, user.gid);
    fs.chownSync(pwFile, user.uid, user.gid);
  }
  const spawnOpts: SpawnOptions = { cwd: dir, user, env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' } };
  let proc: ServerProcess | undefined;
  let closed: Promise<void> | undefined;

  try {
    await runToEnd(
      path.join(BIN, 'initdb'),
      ['-D', dataDir, '-U', ROLE, `--pwfile=${pwFile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions'],
      spawnOpts,
    );
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  fs.rmSync(pwFile, { force: true });

  const port = await freePort();
  const urlOf = (database: string) => `postgres://${ROLE}:${password}@127.0.0.1:${port}/${database}`;
  const url = urlOf('postgres');

  async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  }

  async function start(): Promise<void> {
    const p = spawnServer(
      path.join(BIN, 'postgres'),
      ['-D', dataDir, '-k', dir, '-p', String(port), '-h', '127.0.0.1', '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'synchronous_commit=off'],
      spawnOpts,
    );
    proc = p;
    await waitUntilReady(`PostgreSQL on 127.0.0.1:${port}`, p, () => admin(async (c) => (await c.query('SELECT 1 AS one')).rows[0]?.one === 1));
  }

  async function stop(): Promise<void> {
    await proc?.stop(10_000);
  }

  try {
    await start();
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    port,
    dir,
    url,
    createDatabase: async (name = `onair_test_${process.pid}_${++databases}`) => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      await admin((c) => c.query(`CREATE DATABASE ${name}`));
      return urlOf(name);
    },
    stop,
    start,
    close: () =>
      (closed ??= (async () => {
        await stop();
        fs.rmSync(dir, { recursive: true, force: true });
      })()),
  };
}
