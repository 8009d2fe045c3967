/**
 * What the test set-up needs to run a real database server (PostgreSQL, Redis) as a child process: a free
 * loopback port, a check that the Debian package is installed (failing with the exact apt-get line, never
 * skipping), and a process handle that stops the server with SIGINT and then SIGKILL after a bound.
 *
 * Lifetime: a ServerProcess lives from `spawnServer()` to `stop()`. Guards, and why:
 * - The last 64 kB of the server's output are kept, so a server that will not start fails the test with its
 *   own words (a port taken, a bad setting) instead of "timed out".
 * - Every running child is SIGKILLed when the test process exits without closing it (a failed hook, a
 *   forgotten `close()`): a server left behind keeps its port and its temp dir for good. (A worker killed
 *   with SIGKILL runs no handler: nothing can stop its servers but a person.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Fails (never skips) when a Debian package's binary is missing, naming the line that installs it. */
export function requireBinary(file: string, debianPackage: string): void {
  if (fs.existsSync(file)) return;
  throw new Error(
    `${file} is missing: the tests need Debian's ${debianPackage} package. Install it as root (or with sudo):\n` +
      `  apt-get install -y --no-install-recommends ${debianPackage}\n` +
      '(or run `bash scripts/system-packages.sh test`, which installs every package the tests need)',
  );
}

/** A system account's uid and gid, from /etc/passwd. */
export function systemUser(name: string): { uid: number; gid: number } | undefined {
  for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid && gid) return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

const OUTPUT_KEPT = 64 * 1024;

export interface ServerProcess {
  readonly pid: number;
  /** The server's last output (stdout and stderr interleaved). */
  output(): string;
  /** Exit code or signal once the process has ended, else undefined. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** SIGINT, then SIGKILL if it is still running after `graceMs`; resolves once it has ended. Twice is harmless. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  cwd: string;
  /** Run as this user (only when the test runs as root). */
  user?: { uid: number; gid: number } | undefined;
  env?: NodeJS.ProcessEnv;
}

/** Runs a command to completion (initdb and the like); rejects with its output when it fails. */
export function runToEnd(file: string, args: string[], opts: SpawnOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], ...opts.user });
    let out = '';
    const keep = (b: Buffer) => (out = (out + b.toString()).slice(-OUTPUT_KEPT));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${file} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${out}`));
    });
  });
}

export function spawnServer(file: string, args: string[], opts: SpawnOptions): ServerProcess {
  // `uid`/`gid` make libuv drop root's supplementary groups too (setgroups(0) before setuid).
  const child = spawn(file, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], ...opts.user });
  if (child.pid === undefined) throw new Error(`could not start ${file}`);
  running.add(child);
  let out = '';
  const keep = (b: Buffer) => (out = (out + b.toString()).slice(-OUTPUT_KEPT));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let ended: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const done = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      ended = { code, signal };
      running.delete(child);
      resolve();
    });
  });
  child.once('error', (err) => {
    keep(Buffer.from(`\n${String(err)}\n`));
  });
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid,
    output: () => out,
    exited: () => ended,
    stop: (graceMs = 10_000) =>
      (stopping ??= (async () => {
        if (ended) return;
        child.kill('SIGINT');
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
        if ((await Promise.race([done, late])) === 'late') child.kill('SIGKILL');
        clearTimeout(timer);
        await done;
      })()),
  };
}

/** Polls `ready` until it resolves true; fails early with the server's output if the process ends. */
export async function waitUntilReady(name: string, proc: ServerProcess, ready: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const gone = proc.exited();
    if (gone) throw new Error(`${name} ended before it was ready (${gone.signal ?? `exit ${gone.code}`}):\n${proc.output()}`);
    if (await ready().catch(() => false)) return;
    if (Date.now() > end) {
      await proc.stop(2_000);
      throw new Error(`${name} was not ready after ${timeoutMs} ms:\n${proc.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
