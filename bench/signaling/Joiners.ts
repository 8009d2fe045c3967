/**
 * The parent's handle on the signaling load generator (joinerProcess.ts), a Node process of its own so that
 * its CPU is not counted as the server's, and so that it can be pinned to a core of its own.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { benchDir } from '../common.js';

export type JoinerRequest =
  | { op: 'join'; url: string; streamId: string; rate: number; count: number; timeoutMs: number }
  | { op: 'leave' }
  | { op: 'close' };
export type JoinerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export interface JoinReport {
  /** Start of connect → viewer:join answered, of each join that succeeded. */
  latenciesMs: number[];
  /** Failed joins, by what went wrong. */
  errors: Record<string, number>;
  /** When the last join started and the last one ended, ms after the first started. */
  lastStartMs: number;
  lastDoneMs: number;
  /** How far behind its schedule the generator started a join at worst (it was busy): its own limit. */
  maxLateMs: number;
  /** CPU the generator used meanwhile. */
  cpuSeconds: number;
}

const entry = path.join(benchDir, 'signaling', 'joinerProcess.ts');

export class Joiners {
  readonly #child: ChildProcess;
  #nextId = 0;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (m: JoinerReply) => {
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (m.ok) p?.resolve(m.result);
      else p?.reject(new Error(m.error));
    });
    child.once('exit', (code) => {
      for (const p of this.#pending.values()) p.reject(new Error(`the joiner process exited (${code})`));
      this.#pending.clear();
    });
  }

  /** Forks the generator (with this process's --import tsx, so it runs the TypeScript directly). */
  static start(): Joiners {
    return new Joiners(fork(entry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** `count` viewers join `streamId` at `rate` per second and stay; resolves when each has joined or failed. */
  join(url: string, streamId: string, rate: number, count: number, timeoutMs: number): Promise<JoinReport> {
    return this.#request({ op: 'join', url, streamId, rate, count, timeoutMs }) as Promise<JoinReport>;
  }

  /** Every viewer disconnects; resolves with how many there were. */
  leave(): Promise<number> {
    return this.#request({ op: 'leave' }) as Promise<number>;
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    await this.#request({ op: 'close' }).catch(() => undefined);
    await exited;
  }

  #request(req: JoinerRequest): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ id, ...req });
    });
  }
}
