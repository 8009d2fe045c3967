/**
 * A fault injected at every worker-facing await point of a path, one run per (fault, point):
 *
 * 1. The path runs once with the gate recording: its await points (matching `filter`) are enumerated, so a
 *    new await in the server is covered without touching the test.
 * 2. For each fault and each point k: a fresh set-up, the path runs with the k-th call held (the worker has
 *    answered, the server code has not seen the answer yet), the fault is injected and applied, the call is
 *    released, the path and the fault finish, then `check` says what is wrong, then the case's own teardown
 *    runs and nothing at all may be left (quiescence: no router, no ffmpeg, no open recording, no viewer).
 * 3. Whatever a run left is cleared by force before the next one (`reset`), so that one leak is reported
 *    once, where it happened, and not again by every later run.
 *
 * Every problem is collected with its fault and point; the test asserts the whole list is empty.
 */
import { describeCall, type CallFilter, type GateCall, type MediasoupGate } from './mediasoupGate.js';
import { ffmpegChildren, quiescenceProblems, settled } from './leftovers.js';
import type { TestServer } from './testServer.js';
import { catalogueSql } from './catalogueSql.js';

export interface FaultRun {
  /** Resolves once the server has taken the fault in (the held call is released then). */
  applied: Promise<unknown>;
  /** Resolves once the fault's own request is answered (may need the held call to go on). */
  done?: Promise<unknown>;
}

export interface SweepCase<C> {
  name: string;
  filter?: CallFilter;
  setup(): Promise<C>;
  /** The path under test. Refusals are results, not throws. */
  run(ctx: C): Promise<unknown>;
  faults: Record<string, (ctx: C) => FaultRun>;
  /** Problems right after the path and the fault finished (the case decides what must hold then). */
  check(ctx: C, fault: string, outcome: unknown): Promise<string[]>;
  /** Ends what the case started (broadcasts, sockets) the way a user would. */
  teardown(ctx: C): Promise<void>;
  /** How long the end of everything may take after teardown (ffmpeg's SIGINT → SIGKILL bound, grace…). */
  quietMs?: number;
  ffmpegExclude?: () => Iterable<number>;
}

export interface SweepResult {
  points: GateCall[];
  runs: number;
  failures: string[];
  /** Points the path had finished before reaching (calls it does not wait for): no fault was injected there. */
  notAwaited: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`${what} did not finish within ${ms} ms`)))]);

export async function sweep<C>(s: TestServer, gate: MediasoupGate, c: SweepCase<C>): Promise<SweepResult> {
  const failures: string[] = [];
  const ctx0 = await c.setup();
  const recording = gate.record(c.filter);
  await c.run(ctx0);
  await sleep(50);
  const points = recording.stop();
  await c.teardown(ctx0);
  const quiet = () => quiescenceProblems(s, gate, { ffmpegExclude: c.ffmpegExclude?.() ?? [] });
  const first = await settled(quiet, c.quietMs ?? 3000);
  if (first.length) failures.push(...first.map((p) => `${c.name} / no fault (recording run): ${p}`));
  await reset(s, gate, c.ffmpegExclude?.() ?? []);

  let runs = 0;
  const notAwaited: string[] = [];
  for (const [faultName, fault] of Object.entries(c.faults)) {
    for (const point of points) {
      runs++;
      const label = `${c.name} / ${faultName} at ${describeCall(point)}`;
      const ctx = await c.setup();
      const hold = gate.holdAt(point.seq, c.filter);
      const path = c.run(ctx).then(
        (v) => v,
        (err: unknown) => ({ threw: err instanceof Error ? err.message : String(err) }),
      );
      // A call the path does not wait for (fire-and-forget, e.g. a keyframe request after the answer) may
      // come after the path ended: it is not an await of the path, and there is nothing to inject there.
      const first = await Promise.race([hold.reached, path.then(() => undefined)]);
      const reached = first ?? (await Promise.race([hold.reached, sleep(200).then(() => undefined)]));
      const awaited = first !== undefined;
      let outcome: unknown;
      if (!awaited) {
        hold.release();
        if (reached) notAwaited.push(describeCall(point));
        else failures.push(`${label}: the path ended without making this call (it makes fewer calls than when recorded)`);
        await path;
      } else {
        if (first.kind !== point.kind) failures.push(`${label}: reached ${describeCall(first)} instead (the path is not deterministic)`);
        const f = fault(ctx);
        await Promise.race([f.applied, sleep(3000)]).catch((err: unknown) => failures.push(`${label}: the fault failed: ${String(err)}`));
        hold.release();
        try {
          outcome = await within(path, 20_000, 'the path');
        } catch (err) {
          failures.push(`${label}: ${(err as Error).message}`);
        }
      }
      try {
        if (awaited) failures.push(...(await c.check(ctx, faultName, outcome)).map((p) => `${label}: ${p}`));
        await within(c.teardown(ctx), 20_000, 'the teardown');
      } catch (err) {
        failures.push(`${label}: ${(err as Error).message}`);
      }
      const left = await settled(quiet, c.quietMs ?? 3000);
      failures.push(...left.map((p) => `${label}: after the teardown: ${p}`));
      if (left.length) await reset(s, gate, c.ffmpegExclude?.() ?? []);
    }
  }
  return { points, runs, failures, notAwaited: [...new Set(notAwaited)] };
}

/** Clears by force what a failed run left: every broadcast, router, ffmpeg child, socket and recording row. */
export async function reset(s: TestServer, gate: MediasoupGate, ffmpegExclude: Iterable<number>): Promise<void> {
  await within(s.broadcasts.endAll('reset between fault runs'), 10_000, 'ending every broadcast').catch(() => undefined);
  for (const router of [...gate.routers.values()]) router.close();
  for (const pid of ffmpegChildren(ffmpegExclude)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const socket of s.signaling.io.of('/').sockets.values()) socket.disconnect(true);
  // Recordings a run left open or empty were reported with that run.
  catalogueSql(s, (db) => db.prepare('DELETE FROM recordings').run());
  await sleep(100);
}

/** One line per point, for the test's log. */
export const describePoints = (r: SweepResult): string =>
  r.points.map(describeCall).join(', ') + (r.notAwaited.length ? `; not awaited by the path: ${r.notAwaited.join(', ')}` : '');
