/**
 * The test set-up's real servers (test/helpers/postgres.ts, redis.ts): they start on a free loopback port,
 * answer, go down and come back on the same port, and leave nothing behind. Every cluster test stands on them.
 */
import fs from 'node:fs';
import net from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startPostgres } from '../helpers/postgres.js';
import { redisCommand, startRedis } from '../helpers/redis.js';
import { requireBinary } from '../helpers/serverProcess.js';

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });

describe('test engines', () => {
  it('fails, naming the apt-get line, when a Debian package is missing', () => {
    expect(() => requireBinary('/usr/bin/no-such-server', 'no-such-package')).toThrow('apt-get install -y --no-install-recommends no-such-package');
  });

  it('Redis: answers on its port, restarts empty on the same port, leaves no process or dir', async () => {
    const redis = await startRedis();
    expect(fs.existsSync(redis.dir)).toBe(true);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await redisCommand(redis.port, 'SET k v')).toBe('+OK');
    expect(await redisCommand(redis.port, 'GET k')).toBe('$1');
    await redis.stop();
    expect(await refused(redis.port)).toBe(true);
    await redis.start();
    expect(await redisCommand(redis.port, 'GET k')).toBe('$-1'); // nothing was saved
    await redis.close();
    await redis.close();
    expect(await refused(redis.port)).toBe(true);
    expect(fs.existsSync(redis.dir)).toBe(false);
  });

  it('PostgreSQL: takes the password in its URL only, keeps data across a restart, leaves no process or dir', async () => {
    const server = await startPostgres();
    const url = await server.createDatabase('engines_check');
    const query = async (u: string, text: string) => {
      const c = new pg.Client({ connectionString: u });
      await c.connect();
      try {
        return (await c.query(text)).rows;
      } finally {
        await c.end();
      }
    };
    await query(url, 'CREATE TABLE t (v text); INSERT INTO t VALUES (\'kept\')');
    const wrong = new URL(url);
    wrong.password = 'wrong';
    await expect(query(wrong.toString(), 'SELECT 1')).rejects.toThrow(/password authentication failed/);
    await server.stop();
    expect(await refused(server.port)).toBe(true);
    await server.start();
    expect(await query(url, 'SELECT v FROM t')).toEqual([{ v: 'kept' }]);
    // PostgreSQL refuses root: its files belong to another user even when the tests run as root.
    const [{ setting }] = (await query(url, "SELECT setting FROM pg_settings WHERE name = 'data_directory'")) as [{ setting: string }];
    expect(fs.statSync(setting).uid).not.toBe(0);
    await server.close();
    expect(await refused(server.port)).toBe(true);
    expect(fs.existsSync(server.dir)).toBe(false);
  });
});
