/**
 * The parent's handle on a fleet of lightweight receivers (Receiver.ts) living in their own Node process
 * (receiverProcess.ts), so their CPU is theirs and not the server's, and the process can be pinned to a core.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StreamCounts } from './Receiver.js';

export interface AttachResult {
  /** Receivers in the fleet now. */
  receivers: number;
  failed: number;
  firstError?: string;
}

export interface FleetCounts {
  receivers: number;
  video: StreamCounts;
  audio: StreamCounts;
  otherBytes: number;
  /** Video packets received so far, per receiver (in attach order): who went silent. */
  videoPackets: number[];
}

export type FleetRequest =
  | { op: 'attach'; url: string; streamId: string; total: number }
  | { op: 'counts' }
  | { op: 'close' };
export type FleetReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'receiverProcess.ts');

export class ReceiverFleet {
  readonly #child: ChildProcess;
  #nextId = 0;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (m: FleetReply) => {
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (m.ok) p?.resolve(m.result);
      else p?.reject(new Error(m.error));
    });
    child.once('exit', (code) => {
      for (const p of this.#pending.values()) p.reject(new Error(`the receiver process exited (${code})`));
      this.#pending.clear();
    });
  }

  /** Forks the receiver process (with this process's --import tsx, so it runs the TypeScript directly). */
  static start(): ReceiverFleet {
    return new ReceiverFleet(fork(entry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** Adds receivers on `streamId` until the fleet has `total` (joins that fail are counted, not retried). */
  attach(url: string, streamId: string, total: number): Promise<AttachResult> {
    return this.#request({ op: 'attach', url, streamId, total }) as Promise<AttachResult>;
  }

  counts(): Promise<FleetCounts> {
    return this.#request({ op: 'counts' }) as Promise<FleetCounts>;
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    await this.#request({ op: 'close' }).catch(() => undefined);
    await exited;
  }

  #request(req: FleetRequest): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ id, ...req });
    });
  }
}
