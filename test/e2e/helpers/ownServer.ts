/**
 * An OnAir server process of one test's own (`node dist/server/main.js`), for tests that kill it, its
 * mediasoup workers or its ffmpeg: the shared servers of playwright.config.ts must survive every test.
 *
 * It listens on a free port of 127.0.0.1 with a fresh data directory; `kill(signal)` signals it and waits
 * for it to exit; `restart()` starts it again on the same port and data directory (what a service manager
 * does). Its child processes (mediasoup workers, ffmpeg) are found in /proc by parent pid. Its output goes
 * to a log file, attached to the test's report by `attachLog()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestInfo } from '@playwright/test';
import { until } from '../../helpers/until.js';
import { ADMIN } from './onair.js';

const MAIN = path.resolve('dist/server/main.js');
const READY_TIMEOUT_MS = 30_000;

/** Settings every own server starts with (each test adds its own): cheap HLS, one worker, quiet logs. */
const BASE_ENV: Record<string, string> = {
  HOST: '127.0.0.1',
  ONAIR_RTC_PORT: '0',
  ONAIR_RTMP_PORT: '0',
  ONAIR_SRT_PORT: 'off',
  ONAIR_RTC_LISTEN_IP: '127.0.0.1',
  ONAIR_WORKERS: '1',
  ONAIR_ADMIN_PASSWORD: ADMIN.password,
  LOG_LEVEL: 'info',
  // The machine is 2 shared cores: one small rendition, the cheapest sensible preset.
  ONAIR_HLS_PRESET: 'superfast',
  ONAIR_HLS_LADDER: '360',
};

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildInfo {
  pid: number;
  /** The executable's name (`mediasoup-worker`, `ffmpeg`). */
  name: string;
}

export class OwnServer {
  readonly port: number;
  readonly baseURL: string;
  readonly dataDir: string;
  readonly #root: string;
  readonly #env: Record<string, string>;
  readonly #logFile: string;
  #child: ChildProcess | undefined;
  #exited: Promise<Exit> | undefined;

  private constructor(port: number, root: string, env: Record<string, string>) {
    this.port = port;
    this.baseURL = `http://127.0.0.1:${port}`;
    this.#root = root;
    this.dataDir = path.join(root, 'data');
    this.#logFile = path.join(root, 'server.log');
    this.#env = env;
  }

  /** Starts a server with `env` on top of the defaults, and waits until /readyz says it is ready. */
  static async start(env: Record<string, string> = {}): Promise<OwnServer> {
    const server = new OwnServer(await freePort(), fs.mkdtempSync(path.join(os.tmpdir(), 'onair-own-')), env);
    await server.#spawn();
    return server;
  }

  get pid(): number {
    if (!this.#child?.pid) throw new Error('the server is not running');
    return this.#child.pid;
  }

  get running(): boolean {
    return !!this.#child && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Sends `signal` and waits for the process to exit (its exit code and signal). */
  async kill(signal: NodeJS.Signals): Promise<Exit> {
    const exited = this.#exited;
    if (!this.running || !exited) throw new Error('the server is not running');
    this.#child!.kill(signal);
    return exited;
  }

  /** Starts the server again on the same port with the same data directory. */
  async restart(): Promise<void> {
    if (this.running) throw new Error('the server is still running: kill it first');
    await this.#spawn();
  }

  /** The server's child processes now. */
  children(): ChildInfo[] {
    return this.running ? childrenOf(this.pid) : [];
  }

  pidsOf(name: 'mediasoup-worker' | 'ffmpeg'): number[] {
    return this.children()
      .filter((c) => c.name === name)
      .map((c) => c.pid);
  }

  /** Adds the server's log to the test's report. */
  async attachLog(info: TestInfo): Promise<void> {
    if (fs.existsSync(this.#logFile)) await info.attach(`server-${this.port}.log`, { path: this.#logFile, contentType: 'text/plain' });
  }

  /**
   * Stops the server (SIGKILL if still running) and deletes its files, unless the test failed: then they
   * stay for a look (another Playwright run empties test-results/, attachments included).
   */
  async dispose(info: TestInfo): Promise<void> {
    if (this.running) await this.kill('SIGKILL').catch(() => undefined);
    if (info.status === info.expectedStatus) return fs.rmSync(this.#root, { recursive: true, force: true });
    await this.attachLog(info);
    console.log(`[own server] kept for a look: ${this.#root} (server.log, data/)`);
  }

  async #spawn(): Promise<void> {
    const log = fs.openSync(this.#logFile, 'a');
    const child = spawn(process.execPath, [MAIN], {
      env: { ...process.env, ...BASE_ENV, ...this.#env, PORT: String(this.port), ONAIR_DATA_DIR: this.dataDir },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    this.#child = child;
    this.#exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    await until(
      `OnAir on port ${this.port} to be ready (log: ${this.#logFile})`,
      async () => {
        if (child.exitCode !== null) throw new Error(`OnAir exited with code ${child.exitCode} while starting; log: ${this.#logFile}`);
        const res = await fetch(`${this.baseURL}/readyz`).catch(() => undefined);
        return res?.ok;
      },
      READY_TIMEOUT_MS,
    );
  }
}

/**
 * Children of `pid`: /proc/<child>/stat gives the parent pid, the command line the name (the kernel's
 * `comm` is cut at 15 characters: "mediasoup-worke").
 */
export function childrenOf(pid: number): ChildInfo[] {
  const found: ChildInfo[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat?.ppid !== pid || stat.state === 'Z') continue;
    try {
      const argv0 = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')[0] ?? '';
      found.push({ pid: Number(entry), name: path.basename(argv0) });
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}

/** Whether a process runs (a zombie waiting for its parent to reap it does not). */
export function processAlive(pid: number): boolean {
  const stat = readStat(pid);
  return !!stat && stat.state !== 'Z';
}

/** State and parent pid from /proc/<pid>/stat: "pid (comm) state ppid …" (comm may hold spaces and ')'). */
function readStat(pid: number): { state: string; ppid: number } | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // no such process
  }
  const [state = '', ppid = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state, ppid: Number(ppid) };
}

/** A TCP port of 127.0.0.1 that nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
