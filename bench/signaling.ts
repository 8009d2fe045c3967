/**
 * Signaling benchmark: how fast viewers can join over socket.io, and what an idle viewer socket costs the
 * server in memory. OnAir runs in its own process (ServerProcess) and the load comes from another (Joiners),
 * so that neither's CPU is counted as the other's; both are left to the scheduler (not pinned: on a machine
 * shared with other work, a pinned process cannot move off a busy core). The progress lines give each
 * side's CPU, how long the server waited for a core, connections dropped by a full accept queue and the load
 * average, to tell a server limit from a busy machine. The stream is live from a broadcaster without media
 * (viewer:join answers the same either way).
 *
 *   join rate  steps of `rates` joins per second (connect over websocket + viewer:join, the watch page's
 *              first two round trips), `stepSeconds` long, the viewers staying until the step ends; the
 *              ramp stops at the first step with an error or a p95 over 1 s. Reported: join latency per step,
 *              the highest rate that passed, and the server's CPU per join at that rate.
 *   memory     server RSS and V8 heap, both after full GCs (bench-only preload, memoryProbe.ts), with no
 *              viewer and with `idleViewers` joined idle viewers (they only answer socket.io's pings):
 *              the difference per socket.
 */
import fs from 'node:fs';
import os from 'node:os';
import { connect, goLive } from '../test/helpers/signalingClient.js';
import { api, BENCH_ADMIN_PASSWORD, cpuSeconds, figure, log, quantile, signIn, sleep, type Figure } from './common.js';
import { Joiners, type JoinReport } from './signaling/Joiners.js';
import { ServerProcess } from './signaling/ServerProcess.js';

export interface SignalingOptions {
  /** Join rates tried in turn, per second. */
  rates?: number[];
  /** Length of each step, seconds. */
  stepSeconds?: number;
  /** Idle viewers for the memory figure. */
  idleViewers?: number;
}

/** A step fails with any error, or when joins take this long at p95. */
const MAX_P95_MS = 1000;
/** A join not answered by then counts as an error. */
const JOIN_TIMEOUT_MS = 10_000;

const errorCount = (r: JoinReport) => Object.values(r.errors).reduce((a, b) => a + b, 0);
const kib = (bytes: number) => Math.round(bytes / 1024);
const failure = (r: JoinReport) => (errorCount(r) > 0 ? `${errorCount(r)} errors` : `p95 over ${MAX_P95_MS} ms`);
/**
 * Seconds the process's main thread (where OnAir's JavaScript runs) has spent runnable but waiting for a
 * core (/proc/<pid>/schedstat, second field, ns): high when other programs hold the cores, whatever OnAir does.
 */
const cpuWaitSeconds = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
/**
 * Connections the kernel dropped because a listening socket's accept queue was full (TcpExt ListenOverflows,
 * machine-wide: other programs' count too). The server then accepts too slowly: the client resends its SYN
 * after 1 s, then 3 s, which shows as join latency of a second or more.
 */
function listenOverflows(): number {
  const [names, values] = fs.readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:')).map((l) => l.split(/\s+/));
  return Number(values?.[names?.indexOf('ListenOverflows') ?? -1] ?? NaN);
}

export async function measureSignaling(opts: SignalingOptions = {}): Promise<Figure[]> {
  const rates = opts.rates ?? [100, 200, 400, 800, 1600, 3200, 6400];
  const stepSeconds = opts.stepSeconds ?? 2;
  const idleViewers = opts.idleViewers ?? 1000;
  // Every viewer comes from 127.0.0.1: the per-address socket limit must not be what is measured.
  const server = await ServerProcess.start({ ONAIR_WORKERS: '1', ONAIR_HLS: 'off', ONAIR_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD, ONAIR_MAX_SOCKETS_PER_ADDRESS: '1000000' });
  const joiners = Joiners.start();
  let publisher: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    log(`  signaling: server pid ${server.pid}, load generator pid ${joiners.pid}, ${os.cpus().length} cores`);
    const login = await signIn(server);
    const stream = await api<{ id: string }>(server, 'POST', '/api/streams', login.token, { title: 'bench signaling' });
    publisher = await connect(server.url, login.token);
    await goLive(publisher, stream.id);
    const viewerCount = async () => (await api<{ viewerCount: number }>(server, 'GET', `/api/streams/${stream.id}`)).viewerCount;
    const allLeave = async () => {
      await joiners.leave();
      const deadline = Date.now() + 30_000;
      while ((await viewerCount()) > 0) {
        if (Date.now() > deadline) throw new Error('the viewers did not leave within 30 s');
        await sleep(100);
      }
      // engine.io closes a connection a moment after its socket leaves the audience.
      await sleep(1000);
    };

    // Warm-up (JIT, pools), so that neither figure measures a cold process.
    await joiners.join(server.url, stream.id, 200, 200, JOIN_TIMEOUT_MS);
    await allLeave();

    const memory = await measureIdleMemory(server, joiners, stream.id, idleViewers, viewerCount);
    await allLeave();

    const steps: { rate: number; report: JoinReport; passed: boolean; serverCpuPerJoinMs: number }[] = [];
    for (const rate of rates) {
      const count = Math.max(200, Math.round(rate * stepSeconds));
      const load = os.loadavg()[0]!.toFixed(1);
      const cpu0 = cpuSeconds(server.pid);
      const wait0 = cpuWaitSeconds(server.pid);
      const overflows0 = listenOverflows();
      const report = await joiners.join(server.url, stream.id, rate, count, JOIN_TIMEOUT_MS);
      const serverCpu = cpuSeconds(server.pid) - cpu0;
      const serverWait = cpuWaitSeconds(server.pid) - wait0;
      const overflows = listenOverflows() - overflows0;
      const seconds = report.lastDoneMs / 1000;
      const errors = errorCount(report);
      const p95 = quantile(report.latenciesMs, 0.95);
      const passed = errors === 0 && p95 <= MAX_P95_MS;
      steps.push({ rate, report, passed, serverCpuPerJoinMs: (serverCpu / count) * 1000 });
      const achieved = count / (report.lastStartMs / 1000 || 1);
      log(
        `  signaling: ${rate} joins/s × ${count}: started at ${Math.round(achieved)}/s (worst ${Math.round(report.maxLateMs)} ms behind schedule), ` +
          `all answered after ${(report.lastDoneMs / 1000).toFixed(2)} s; latency p50 ${Math.round(quantile(report.latenciesMs, 0.5))} ms, ` +
          `p95 ${Math.round(p95)} ms; ${errors} errors${errors ? ` ${JSON.stringify(report.errors).slice(0, 300)}` : ''}; ` +
          `${overflows} connections dropped by a full accept queue; ` +
          `server CPU ${(serverCpu / seconds).toFixed(2)} cores (${((serverCpu / count) * 1000).toFixed(2)} ms per join), waiting for a core ${Math.round((serverWait / seconds) * 100)} % of the time; ` +
          `load generator CPU ${(report.cpuSeconds / seconds).toFixed(2)} cores; load average before ${load}`,
      );
      await allLeave();
      if (!passed) break;
    }

    const best = steps.filter((s) => s.passed).at(-1);
    const last = steps.at(-1);
    const stoppedBy = last && !last.passed ? `stopped at ${last.rate}/s` : `every step passed, up to ${last?.rate}/s`;
    return [
      ...steps.map((s) => figure(`Signaling join latency at ${s.rate} joins/s (connect + viewer:join)${s.passed ? '' : `: failed (${failure(s.report)})`}`, 'ms', s.report.latenciesMs)),
      figure(`Signaling: highest join rate with no error and p95 ≤ ${MAX_P95_MS} ms (${stoppedBy})`, 'joins/s', [best?.rate ?? 0]),
      // What a join costs the server, whatever else runs on the machine: 1,000,000 / this ≈ joins per second one free core takes.
      ...(best ? [figure(`Server CPU per join at ${best.rate} joins/s (connect + viewer:join)`, 'µs', [best.serverCpuPerJoinMs * 1000])] : []),
      figure(`Server RSS per idle viewer socket (${idleViewers} sockets, after GC)`, 'KiB', [memory.rssPerSocketKiB]),
      figure(`Server V8 heap per idle viewer socket (${idleViewers} sockets, after GC)`, 'KiB', [memory.heapPerSocketKiB]),
    ];
  } finally {
    // Ended on purpose: a dropped broadcaster would be waited for (and logged) during the shutdown.
    await publisher?.request('broadcast:stop', {}).catch(() => undefined);
    publisher?.disconnect();
    await joiners.close();
    await server.stop();
  }
}

async function measureIdleMemory(server: ServerProcess, joiners: Joiners, streamId: string, viewers: number, viewerCount: () => Promise<number>) {
  const before = await server.collectedMemory();
  const report = await joiners.join(server.url, streamId, 200, viewers, JOIN_TIMEOUT_MS);
  if (errorCount(report) > 0) throw new Error(`idle viewers could not join: ${JSON.stringify(report.errors)}`);
  if ((await viewerCount()) !== viewers) throw new Error(`expected ${viewers} viewers, the server counts ${await viewerCount()}`);
  // Let the join's transient allocations and a round of pings settle.
  await sleep(3000);
  const after = await server.collectedMemory();
  const rssPerSocketKiB = (after.rss - before.rss) / viewers / 1024;
  const heapPerSocketKiB = (after.heapUsed - before.heapUsed) / viewers / 1024;
  log(
    `  signaling: ${viewers} idle viewers: server RSS ${kib(before.rss)} → ${kib(after.rss)} KiB (${rssPerSocketKiB.toFixed(1)} KiB per socket), ` +
      `heap used ${kib(before.heapUsed)} → ${kib(after.heapUsed)} KiB (${heapPerSocketKiB.toFixed(1)} KiB per socket), ` +
      `external+array buffers ${kib(before.external)} → ${kib(after.external)} KiB`,
  );
  return { rssPerSocketKiB, heapPerSocketKiB };
}

