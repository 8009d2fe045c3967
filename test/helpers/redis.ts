/**
 * A real Redis 7 (Debian's `redis-server` package) for one test file, on a free loopback port, with nothing
 * written to disk (`--save ''`, `--appendonly no`), stopped and its dir removed by `close()`.
 *
 *   const redis = await startRedis();   // beforeAll; redis.url is redis://127.0.0.1:<port>
 *   await redis.close();                // afterAll
 *
 * Lifetime: from `startRedis()` to `close()`; `stop()` / `start()` in between take it down and bring it back
 * on the same port, empty (for outage and recovery tests). Guards, and why:
 * - Debian's own `redis-server` service (port 6379) is neither needed nor touched: a private server on a
 *   private port, so tests never share keys with anything else on the machine.
 * - Readiness is Redis's own answer to PING over a raw socket (no client library needed to start it).
 * - A missing package fails the test with the apt-get line (serverProcess.ts): nothing is skipped.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, requireBinary, spawnServer, waitUntilReady, type ServerProcess } from './serverProcess.js';

const BIN = '/usr/bin/redis-server';

export interface RedisServer {
  readonly port: number;
  /** The temp dir holding its data (and, for PostgreSQL, its socket); removed by `close()`. */
  readonly dir: string;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** Stops the server (SIGINT), its data gone; `start()` brings up an empty one on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its dir. Twice is harmless. */
  close(): Promise<void>;
}

/** Sends one inline command over a fresh connection; resolves with the first reply line. */
export function redisCommand(port: number, command: string, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const timer = setTimeout(() => socket.destroy(new Error(`no reply to ${command} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (b) => {
      reply += b.toString();
      const end = reply.indexOf('\r\n');
      if (end >= 0) {
        clearTimeout(timer);
        socket.end();
        resolve(reply.slice(0, end));
      }
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export async function startRedis(): Promise<RedisServer> {
  requireBinary(BIN, 'redis-server');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-redis-'));
  const port = await freePort();
  let proc: ServerProcess | undefined;
  let closed: Promise<void> | undefined;

  async function start(): Promise<void> {
    const p = spawnServer(BIN, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'], {
      cwd: dir,
    });
    proc = p;
    await waitUntilReady(`Redis on 127.0.0.1:${port}`, p, async () => (await redisCommand(port, 'PING')) === '+PONG');
  }

  async function stop(): Promise<void> {
    await proc?.stop(5_000);
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
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    close: () =>
      (closed ??= (async () => {
        await stop();
        fs.rmSync(dir, { recursive: true, force: true });
      })()),
  };
}
