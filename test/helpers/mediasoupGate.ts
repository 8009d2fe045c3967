/**
 * Fault injection at the worker-facing await points of a real, in-process OnAir, without a production hook.
 * mediasoup's public observer API announces every worker, router, transport and consumer as it is created
 * (before its creator's `await` returns); the gate then wraps, on each instance, the methods that ask the
 * worker something (an own property shadows the prototype's method). Every call through a wrapped method is
 * an await point of whatever server code made it.
 *
 * - `record(filter)`: lists the matching calls a path makes, in order (run a path once to enumerate them).
 * - `holdAt(k, filter)`: the k-th matching call (0-based) is made, and its result (or error) is held back
 *   from its caller until `release()`: the caller sits at that await while the test injects a fault
 *   (disconnect, stop, delete…) — the moment where a resource exists and its owner may have gone.
 * - `delay(ms)`: every call's result waits `ms()` more: a busy worker, for soak tests.
 *
 * Lifetime: `installGate()` hooks mediasoup once per test process (vitest forks one per file); install it
 * before the test server starts, so that its workers are seen. One arming (record or hold) at a time.
 */
import * as mediasoup from 'mediasoup';

/** What a call is made on: the appData of its router and transport, and the transport's type. */
export type Tag = Record<string, unknown>;

export interface GateCall {
  /** Index among the matching calls of the current arming. */
  seq: number;
  /** "router.createWebRtcTransport", "transport.connect", "consumer.resume"… */
  kind: string;
  tag: Tag;
  args: unknown[];
}

export type CallFilter = (call: Omit<GateCall, 'seq'>) => boolean;

export interface Hold {
  /** Resolves with the held call once it is reached (its worker answer is in, not yet handed back). */
  reached: Promise<GateCall>;
  release(): void;
}

const METHODS = {
  worker: ['createRouter'],
  router: ['createWebRtcTransport', 'createPlainTransport', 'createPipeTransport', 'pipeToRouter'],
  transport: ['connect', 'produce', 'consume', 'setMaxIncomingBitrate'],
  consumer: ['resume', 'pause', 'requestKeyFrame', 'setPreferredLayers'],
  producer: ['pause', 'resume'],
} as const;

type Arming =
  | { mode: 'idle' }
  | { mode: 'record'; filter: CallFilter; calls: GateCall[] }
  | { mode: 'hold'; filter: CallFilter; at: number; count: number; onReach: (c: GateCall) => void; released: Promise<void> };

export class MediasoupGate {
  #arming: Arming = { mode: 'idle' };
  #delay: (() => number) | undefined;
  readonly #tags = new WeakMap<object, Tag>();
  /** Every live router by id (for dumps). */
  readonly routers = new Map<string, mediasoup.types.Router>();
  /** appData and type of every transport ever created, by id (dumps give ids only). */
  readonly transports = new Map<string, Tag>();

  constructor() {
    mediasoup.observer.on('newworker', (worker) => this.#onWorker(worker));
  }

  record(filter: CallFilter = () => true): { stop(): GateCall[] } {
    this.#assertIdle();
    const arming: Arming = { mode: 'record', filter, calls: [] };
    this.#arming = arming;
    return {
      stop: () => {
        if (this.#arming === arming) this.#arming = { mode: 'idle' };
        return arming.calls;
      },
    };
  }

  holdAt(at: number, filter: CallFilter = () => true): Hold {
    this.#assertIdle();
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let onReach!: (c: GateCall) => void;
    const reached = new Promise<GateCall>((r) => (onReach = r));
    const arming: Arming = { mode: 'hold', filter, at, count: 0, onReach, released };
    this.#arming = arming;
    return {
      reached,
      release: () => {
        if (this.#arming === arming) this.#arming = { mode: 'idle' };
        release();
      },
    };
  }

  /** Every worker answer waits `ms()` more (undefined: none). */
  delay(ms: (() => number) | undefined): void {
    this.#delay = ms;
  }

  #assertIdle(): void {
    if (this.#arming.mode !== 'idle') throw new Error(`the gate is already armed (${this.#arming.mode})`);
  }

  #onWorker(worker: mediasoup.types.Worker): void {
    this.#wrap(worker, 'worker', METHODS.worker, (_target, args) => ({ ...((args[0] as { appData?: Tag } | undefined)?.appData ?? {}) }));
    worker.observer.on('newrouter', (router) => {
      this.#tags.set(router, { ...router.appData });
      this.routers.set(router.id, router);
      router.observer.once('close', () => this.routers.delete(router.id));
      this.#wrap(router, 'router', METHODS.router, (target) => this.#tags.get(target) ?? {});
      router.observer.on('newtransport', (transport) => this.#onTransport(router, transport));
    });
  }

  #onTransport(router: mediasoup.types.Router, transport: mediasoup.types.Transport): void {
    const type = transport.constructor.name;
    const tag: Tag = { ...this.#tags.get(router), ...transport.appData, transportType: type, transportId: transport.id };
    this.#tags.set(transport, tag);
    this.transports.set(transport.id, tag);
    this.#wrap(transport, 'transport', METHODS.transport, (target) => this.#tags.get(target) ?? {});
    transport.observer.on('newconsumer', (consumer) => {
      this.#tags.set(consumer, { ...tag, consumerKind: consumer.kind });
      this.#wrap(consumer, 'consumer', METHODS.consumer, (target) => this.#tags.get(target) ?? {});
    });
    transport.observer.on('newproducer', (producer) => {
      this.#tags.set(producer, { ...tag, producerKind: producer.kind });
      this.#wrap(producer, 'producer', METHODS.producer, (target) => this.#tags.get(target) ?? {});
    });
  }

  #wrap(target: object, prefix: string, methods: readonly string[], tagOf: (target: object, args: unknown[]) => Tag): void {
    const t = target as Record<string, (...a: unknown[]) => Promise<unknown>>;
    for (const name of methods) {
      const original = t[name];
      if (typeof original !== 'function') continue;
      const gate = this;
      Object.defineProperty(target, name, {
        configurable: true,
        writable: true,
        value: async function gated(this: unknown, ...args: unknown[]) {
          const call = gate.#enter(`${prefix}.${name}`, tagOf(target, args), args);
          let result: unknown;
          let error: unknown;
          let failed = false;
          try {
            result = await original.apply(target, args);
          } catch (err) {
            failed = true;
            error = err;
          }
          // A transport made with comedia (a sender we wait for) or not: tells test sources from OnAir's own.
          if (prefix === 'router' && !failed && result && typeof result === 'object') {
            const created = gate.#tags.get(result);
            if (created) created.comedia = !!(args[0] as { comedia?: boolean } | undefined)?.comedia;
          }
          const ms = gate.#delay?.();
          if (ms) await new Promise((r) => setTimeout(r, ms));
          if (call) await call();
          if (failed) throw error;
          return result;
        },
      });
    }
  }

  /** When this call is the held one: what to await once the worker answered, before handing the answer back. */
  #enter(kind: string, tag: Tag, args: unknown[]): (() => Promise<void>) | undefined {
    const a = this.#arming;
    if (a.mode === 'idle' || !a.filter({ kind, tag, args })) return undefined;
    if (a.mode === 'record') {
      a.calls.push({ seq: a.calls.length, kind, tag, args });
      return undefined;
    }
    const seq = a.count++;
    if (seq !== a.at) return undefined;
    const call = { seq, kind, tag, args };
    // Reached once the worker has answered: the caller is then suspended at its await.
    return async () => {
      a.onReach(call);
      await a.released;
    };
  }
}

let installed: MediasoupGate | undefined;

/** The process's gate (created on first use: call before starting the test server). */
export function installGate(): MediasoupGate {
  return (installed ??= new MediasoupGate());
}

/** A short description of a call, for failure messages. */
export const describeCall = (c: Pick<GateCall, 'seq' | 'kind' | 'tag'>): string => {
  const t = c.tag;
  const what = [t.transportType, t.consumerKind ?? t.producerKind, t.direction, t.whep ? 'whep' : t.whip ? 'whip' : undefined].filter(Boolean).join(' ');
  return `#${c.seq} ${c.kind}${what ? ` (${what})` : ''}`;
};
