/**
 * An OnAir cluster for one test: Redis, PostgreSQL and nginx (Debian's packages, test/helpers/redis.ts,
 * postgres.ts, nginxHttp.ts) and N OnAir nodes as real processes (`node dist/server/main.js`, built
 * beforehand), all on free 127.0.0.1 ports with temp dirs. Every node has its own PORT, ONAIR_RTC_PORT,
 * ONAIR_DATA_DIR, ONAIR_NODE_URL and pipe port range, and the cluster's shared settings (Redis, the
 * database, ONAIR_CLUSTER_SECRET, and the JWT and restream secrets: a token one node issues must verify on
 * every other). nginx runs deploy/nginx/onair.conf in front of them (`url`).
 *
 *   const cluster = await startCluster({ nodes: 3 });
 *   … cluster.url (through nginx), cluster.nodes[i].url (one node directly), nodes[i].kill('SIGKILL') …
 *   await cluster.stop();      // in afterAll / a finally: also after a failed test
 *
 * Lifetime: `startCluster` starts the servers, then the first node alone (it migrates the empty database
 * and creates the admin), then the others at once; if anything fails to start, everything started is
 * stopped before the error is thrown. `stop()` kills the nodes (SIGTERM, SIGKILL after 5 s), then nginx,
 * Redis and PostgreSQL, and removes the temp dirs, unless `keep` (a failed test: the logs stay for a look,
 * their folder printed). Idempotent. A node's `kill()` / `restart()` in between act like a crash and a
 * service manager's restart (same port, data dir and node id).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deriveNodeId } from '../../server/cluster/ClusterSettings.js';
import { startNginxHttp, type NginxHttp } from './nginxHttp.js';
import { startPostgres, type PostgresServer } from './postgres.js';
import { startRedis, type RedisServer } from './redis.js';
import { freePort } from './serverProcess.js';
import { until } from './until.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MAIN = path.join(ROOT, 'dist/server/main.js');
const READY_TIMEOUT_MS = 60_000;
/** Pipe ports per node (one port per pipe end: a few streams and edges in a test). */
const PIPE_PORTS_PER_NODE = 50;

export const CLUSTER_ADMIN = { username: 'admin', password: 'admin-password-1' };

/** Settings of every node (a test adds its own): cheap HLS, one worker, RTMP/SRT off. */
const BASE_ENV: Record<string, string> = {
  HOST: '127.0.0.1',
  ONAIR_RTC_LISTEN_IP: '127.0.0.1',
  ONAIR_ANNOUNCED_IP: '127.0.0.1',
  ONAIR_WORKERS: '1',
  ONAIR_RTMP_PORT: 'off',
  ONAIR_SRT_PORT: 'off',
  ONAIR_ADMIN_PASSWORD: CLUSTER_ADMIN.password,
  ONAIR_HLS_PRESET: 'superfast',
  ONAIR_HLS_LADDER: '360',
  LOG_LEVEL: 'info',
};

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One OnAir node process. */
export class NodeProcess {
  readonly index: number;
  readonly port: number;
  /** http://127.0.0.1:<port>: this node directly (its ONAIR_NODE_URL). */
  readonly url: string;
  readonly nodeId: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #fromSource: boolean;
  #child: ChildProcess | undefined;
  #exited: Promise<Exit> | undefined;

  constructor(index: number, port: number, root: string, env: NodeJS.ProcessEnv, fromSource = false) {
    this.index = index;
    this.#fromSource = fromSource;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.nodeId = deriveNodeId(this.url);
    this.dataDir = path.join(root, 'data');
    this.logFile = path.join(root, 'node.log');
    this.#env = { ...env, PORT: String(port), ONAIR_NODE_URL: this.url, ONAIR_DATA_DIR: this.dataDir };
  }

  get running(): boolean {
    return !!this.#child && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get pid(): number {
    if (!this.#child?.pid || !this.running) throw new Error(`node ${this.index} is not running`);
    return this.#child.pid;
  }

  /** Starts the process and waits until /readyz answers 200. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`node ${this.index} is already running`);
    if (!this.#fromSource && !fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (node scripts/build.mjs)`);
    const log = fs.openSync(this.logFile, 'a');
    const args = this.#fromSource ? ['--import', 'tsx', path.join(ROOT, 'server/main.ts')] : [MAIN];
    const child = spawn(process.execPath, args, { cwd: ROOT, env: this.#env, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.#child = child;
    this.#exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    running.add(child);
    void this.#exited.then(() => running.delete(child));
    await until(
      `node ${this.index} (${this.url}) to be ready (log: ${this.logFile})`,
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`node ${this.index} exited while starting:\n${this.logTail()}`);
        return (await fetch(`${this.url}/readyz`).catch(() => undefined))?.ok;
      },
      READY_TIMEOUT_MS,
    );
  }

  /** Sends `signal` and waits for the process to end. */
  async kill(signal: NodeJS.Signals): Promise<Exit> {
    if (!this.running || !this.#exited) throw new Error(`node ${this.index} is not running`);
    this.#child!.kill(signal);
    return this.#exited;
  }

  /** Starts it again on the same port, data dir and node id (what a service manager does). */
  restart(): Promise<void> {
    return this.start();
  }

  /** SIGTERM (graceful), SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running) return;
    const exited = this.#exited!;
    this.#child!.kill('SIGTERM');
    const t = setTimeout(() => this.#child?.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(t);
  }

  /** The end of the node's log. */
  logTail(chars = 4_000): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').slice(-chars);
    } catch {
      return '';
    }
  }

  /** The node's log lines (pino JSON) parsed, the others skipped. */
  logEntries(): Record<string, unknown>[] {
    let text = '';
    try {
      text = fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }
}

/** Node processes alive, killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface TestCluster {
  redis: RedisServer;
  postgres: PostgresServer;
  nginx: NginxHttp;
  nodes: NodeProcess[];
  /** Through nginx. */
  url: string;
  /** The shared ONAIR_CLUSTER_SECRET. */
  secret: string;
  /** The temp dir of the nodes (their data dirs and logs). */
  dir: string;
  /** The node whose id is `nodeId`. */
  node(nodeId: string): NodeProcess;
  /** Stops everything; `keep`: leave the nodes' logs and data (a failed test), printing where. */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

export interface ClusterOptions {
  /** Number of OnAir nodes (default 3). */
  nodes?: number;
  /** More settings for every node. */
  env?: Record<string, string>;
  /** Run server/main.ts through tsx instead of the built dist/ (benchmarks, vitest). */
  fromSource?: boolean;
}

export async function startCluster(o: ClusterOptions = {}): Promise<TestCluster> {
  const count = o.nodes ?? 3;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-cluster-'));
  const secret = crypto.randomBytes(36).toString('base64url');
  let redis: RedisServer | undefined;
  let postgres: PostgresServer | undefined;
  let nginx: NginxHttp | undefined;
  const nodes: NodeProcess[] = [];
  let stopped: Promise<void> | undefined;

  const stop = (opts: { keep?: boolean } = {}) =>
    (stopped ??= (async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      await nginx?.stop();
      await redis?.close();
      await postgres?.close();
      if (opts.keep) console.log(`[cluster] nodes' logs and data kept for a look: ${dir}`);
      else fs.rmSync(dir, { recursive: true, force: true });
    })());

  try {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
    const databaseUrl = await postgres.createDatabase('onair_cluster');
    const shared: NodeJS.ProcessEnv = {
      ...process.env,
      ...BASE_ENV,
      ONAIR_REDIS_URL: redis.url,
      ONAIR_DATABASE_URL: databaseUrl,
      ONAIR_CLUSTER_SECRET: secret,
      ONAIR_JWT_SECRET: crypto.randomBytes(36).toString('base64url'),
      ONAIR_RESTREAM_SECRET: crypto.randomBytes(36).toString('base64url'),
      ...o.env,
    };
    // Pipe port ranges: disjoint, in a random place of 20000-29999 (clear of Linux's ephemeral ports).
    const pipeBase = 20_000 + crypto.randomInt(0, 100) * 100;
    const nginxPort = await freePort();
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const root = path.join(dir, `node${i}`);
      fs.mkdirSync(root, { recursive: true });
      const min = pipeBase + i * PIPE_PORTS_PER_NODE;
      nodes.push(
        new NodeProcess(i, port, root, {
          ...shared,
          ONAIR_RTC_PORT: String(await freePort()),
          ONAIR_PIPE_PORT_MIN: String(min),
          ONAIR_PIPE_PORT_MAX: String(min + PIPE_PORTS_PER_NODE - 1),
          ONAIR_PUBLIC_URL: `http://127.0.0.1:${nginxPort}`,
        }, o.fromSource),
      );
    }
    // The first node migrates the empty database and creates the admin; then the others.
    await nodes[0]!.start();
    await Promise.all(nodes.slice(1).map((n) => n.start()));
    nginx = await startNginxHttp(
      nodes.map((n) => `127.0.0.1:${n.port}`),
      { port: nginxPort },
    );
  } catch (err) {
    const logs = nodes.map((n) => `--- node ${n.index} ---\n${n.logTail(2_000)}`).join('\n');
    await stop({ keep: true });
    throw new Error(`the test cluster did not start: ${(err as Error).message}\n${logs}`);
  }
  const started = nginx;
  return {
    redis,
    postgres,
    nginx: started,
    nodes,
    url: started.url,
    secret,
    dir,
    node: (nodeId) => {
      const n = nodes.find((x) => x.nodeId === nodeId);
      if (!n) throw new Error(`no node ${nodeId} in this cluster (${nodes.map((x) => x.nodeId).join(', ')})`);
      return n;
    },
    stop,
  };
}
