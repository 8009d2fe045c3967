/**
 * OnAir in its own Node process (server/main.ts run from source with tsx, configured by environment), so that
 * the CPU and memory measured are the server's alone and not the load generator's. With the bench-only
 * memory probe preloaded (memoryProbe.ts): GC on request, then memory figures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { benchDir, sleep } from '../common.js';

const repoRoot = path.dirname(benchDir);

/** A port nobody listens on now (the server takes it a moment later: good enough on a bench machine). */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export class ServerProcess {
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #dataDir: string;

  private constructor(child: ChildProcess, url: string, dataDir: string) {
    this.#child = child;
    this.url = url;
    this.#dataDir = dataDir;
  }

  /** Starts OnAir on 127.0.0.1 with `env` over the bench defaults, and waits until /readyz says ready. */
  static async start(env: Record<string, string>): Promise<ServerProcess> {
    const port = await freePort();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-bench-signaling-'));
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', '--import', path.join(benchDir, 'signaling', 'memoryProbe.ts'), path.join(repoRoot, 'server', 'main.ts')],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), ONAIR_DATA_DIR: dataDir, ONAIR_RTC_PORT: '0', ONAIR_RTC_LISTEN_IP: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
      },
    );
    const server = new ServerProcess(child, `http://127.0.0.1:${port}`, dataDir);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the OnAir server process exited (${child.exitCode}) before it was ready`);
      const ready = await fetch(`${server.url}/readyz`).then((r) => r.ok, () => false);
      if (ready) return server;
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error('the OnAir server process was not ready within 60 s');
      }
      await sleep(200);
    }
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** Resident memory of the server process (the Node process, not its mediasoup worker), bytes. */
  rssBytes(): number {
    const line = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) * 1024;
  }

  /** process.memoryUsage() of the server after full garbage collections. */
  collectedMemory(): Promise<NodeJS.MemoryUsage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the server did not answer the memory probe')), 30_000);
      const onMessage = (msg: { memory?: NodeJS.MemoryUsage }) => {
        if (!msg.memory) return;
        clearTimeout(timer);
        this.#child.off('message', onMessage);
        resolve(msg.memory);
      };
      this.#child.on('message', onMessage);
      this.#child.send('memory');
    });
  }

  /** SIGTERM (OnAir's graceful stop), then its data directory is removed. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      const exited = new Promise((resolve) => this.#child.once('exit', resolve));
      this.#child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(this.#dataDir, { recursive: true, force: true });
  }
}
