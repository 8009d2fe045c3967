/**
 * Benchmark 3, fan-out capacity: how many viewers one mediasoup worker on one core serves for one 720p30
 * 3-layer simulcast VP8 stream + Opus before loss exceeds 1 % or the viewers' bitrate falls behind the top
 * layer's. The source is a replayed 3-layer simulcast encode (replaySource.ts says why not Chromium); the
 * viewers are lightweight receivers (Receiver.ts) in one child process. Steps attach receivers up to each
 * count, let them settle, then measure for `seconds`: worker CPU (/proc), egress (bytes the receivers got),
 * loss (RTP sequence numbers), and whose sockets overflowed. With 2 workers OnAir places each new viewer on the least-loaded worker (edge routers fed with
 * pipeToRouter), so the same run shows how capacity scales with workers.
 *
 * Pinning, 1 worker: the worker on core 0, everything else (this process with OnAir's Node side, the replay
 * ffmpeg, the receivers) on core 1. 2 workers: worker 0 on core 0, worker 1 on core 1, the rest unpinned — on
 * a 2-core machine the receivers then share both cores with the workers. Workers run at real-time priority
 * and the rest at nice −10 (system.ts says why): the machine may be running other things.
 */
import type { types } from 'mediasoup';
import type { OnAir } from '../../server/app.js';
import { api, cpuSeconds, log, signIn, sleep, startServer } from '../common.js';
import { ReceiverFleet, type FleetCounts } from './ReceiverFleet.js';
import { startReplaySource, type ReplaySource } from './replaySource.js';
import { allCores, coreTimes, pin, realtime, renice, udpDrops, type CoreTimes } from './system.js';

export interface FanoutOptions {
  /** Viewer counts to step through, ascending. */
  steps: number[];
  /** Worker counts to run with, e.g. [1, 2]. */
  workers: number[];
  /** Measuring time per step. */
  seconds: number;
}

/** One measured step. */
export interface FanoutRow {
  workers: number;
  viewers: number;
  /** Video + audio consumer per viewer. */
  consumers: number;
  /** CPU of each worker, % of one core. */
  workerCpu: number[];
  /**
   * How busy each worker's core was, %, and how much of it softirq work: on loopback the kernel delivers each
   * packet into the receiver's socket on the sending core, partly outside the worker's own CPU time.
   */
  workerCoreBusy: number[];
  workerCoreSoftirq: number[];
  /** OnAir's Node process (signaling, this benchmark's driver) and the receiver process, % of one core. */
  serverCpu: number;
  receiverCpu: number;
  egressMbps: number;
  /** RTP packets per second the receivers got (≈ what the workers sent). */
  packetsPerSecond: number;
  /** Mean video bitrate per viewer, and the source's top layer (what each viewer should get). */
  videoKbpsPerViewer: number;
  topLayerKbps: number;
  /** Lost / expected RTP packets, video + audio, all viewers. */
  lossPct: number;
  /** Viewers that got no video at all during the measurement. */
  silent: number;
  /** Datagrams dropped at full socket buffers during the measurement: the workers' (their input, from the source), the receivers', the relay's. */
  udpDrops: { workers: number; receivers: number; relay: number };
}

export interface FanoutRun {
  workers: number;
  pinning: string;
  rows: FanoutRow[];
  /** The largest step under 1 % loss with the viewers at the top layer's bitrate; 0 if none. */
  capacity: number;
  /** Why the steps stopped (or "all steps passed"). */
  stoppedBecause: string;
}

const MAX_LOSS_PCT = 1;
/** Below this share of the top layer's bitrate, the viewers' bitrate "fell behind". */
const MIN_BITRATE_SHARE = 0.8;
const SETTLE_MS = 5000;
const BENCH_NICE = -10;

export async function measureFanout(opts: FanoutOptions): Promise<FanoutRun[]> {
  const runs: FanoutRun[] = [];
  for (const workers of opts.workers) runs.push(await runWithWorkers(workers, opts));
  return runs;
}

async function runWithWorkers(workers: number, opts: FanoutOptions): Promise<FanoutRun> {
  const pinning = `${workers === 1 ? 'worker → core 0; OnAir Node, replay ffmpeg, receivers → core 1' : 'worker i → core i; OnAir Node, replay ffmpeg, receivers unpinned (share all cores)'}; workers at real-time priority (SCHED_RR), the rest at nice ${BENCH_NICE}`;
  // Children inherit affinity and priority: set this process's first, then start the worker(s) (pinned
  // again below), the replay and the receivers.
  if (workers === 1) pin(process.pid, '1');
  renice(process.pid, BENCH_NICE);
  const s = await startServer({ ONAIR_WORKERS: String(workers), ONAIR_MAX_WEBRTC_VIEWERS: '1000000', ONAIR_MAX_SOCKETS_PER_ADDRESS: '1000000' });
  for (const [i, w] of s.pool.workers().entries()) {
    pin(w.pid, String(i % 2));
    realtime(w.pid);
  }
  const source = await goLive(s);
  const fleet = ReceiverFleet.start();
  try {
    log(`fanout, ${workers} worker(s): ${pinning}`);
    const rows: FanoutRow[] = [];
    let stoppedBecause = 'all steps passed';
    for (const viewers of opts.steps) {
      const t0 = Date.now();
      const attached = await fleet.attach(s.url, source.streamId, viewers);
      log(`  ${attached.receivers} viewers attached (+${Math.round((Date.now() - t0) / 100) / 10} s)${attached.failed ? `, ${attached.failed} failed: ${attached.firstError}` : ''}`);
      if (attached.receivers < viewers) {
        stoppedBecause = `only ${attached.receivers} of ${viewers} viewers could join: ${attached.firstError ?? 'unknown'}`;
        break;
      }
      await sleep(SETTLE_MS);
      const row = await measureStep(s, fleet, source, workers, opts.seconds);
      rows.push(row);
      log(`  ${describe(row)}`);
      const failure = stepFailure(row);
      if (failure) {
        stoppedBecause = `${viewers} viewers: ${failure}`;
        break;
      }
    }
    const passed = rows.filter((r) => !stepFailure(r));
    return { workers, pinning, rows, capacity: passed.at(-1)?.viewers ?? 0, stoppedBecause };
  } finally {
    await fleet.close();
    await source.stop();
    await s.close();
    pin(process.pid, allCores());
    renice(process.pid, 0);
  }
}

/** A new stream, live with the replayed 720p simulcast source; resolves once its top layer arrives. */
async function goLive(s: OnAir): Promise<ReplaySource> {
  const session = await signIn(s);
  const stream = await api<{ id: string }>(s, 'POST', '/api/streams', session.token, { title: 'bench fanout' });
  const source = await startReplaySource(s, session.token, stream.id);
  for (const t0 = Date.now(); Date.now() - t0 < 30_000; await sleep(500)) {
    if ((await topLayer(source.video))?.bitrate) return source;
  }
  await source.stop();
  throw new Error('the replayed source never sent its top simulcast layer');
}

async function topLayer(producer: types.Producer): Promise<types.ProducerStat | undefined> {
  const ssrc = producer.rtpParameters.encodings?.at(-1)?.ssrc;
  return (await producer.getStats()).find((st) => st.ssrc === ssrc);
}

interface Snapshot {
  at: number;
  counts: FleetCounts;
  workerCpu: number[];
  workerCores: CoreTimes[];
  serverCpu: number;
  receiverCpu: number;
  topLayerBytes: number;
  udp: FanoutRow['udpDrops'];
}

async function snapshot(s: OnAir, fleet: ReceiverFleet, source: ReplaySource): Promise<Snapshot> {
  return {
    at: Date.now(),
    counts: await fleet.counts(),
    workerCpu: s.pool.workers().map((w) => cpuSeconds(w.pid)),
    workerCores: s.pool.workers().map((_, i) => coreTimes(i % 2)),
    serverCpu: cpuSeconds(process.pid),
    receiverCpu: cpuSeconds(fleet.pid),
    topLayerBytes: (await topLayer(source.video))?.byteCount ?? 0,
    udp: (([relay, receivers, ...workers]) => ({ relay: relay!, receivers: receivers!, workers: workers.reduce((n, d) => n + d, 0) }))(
      udpDrops([process.pid, fleet.pid, ...s.pool.workers().map((w) => w.pid)]),
    ),
  };
}

async function measureStep(s: OnAir, fleet: ReceiverFleet, source: ReplaySource, workers: number, seconds: number): Promise<FanoutRow> {
  const a = await snapshot(s, fleet, source);
  await sleep(seconds * 1000);
  const b = await snapshot(s, fleet, source);
  const dt = (b.at - a.at) / 1000;
  const pct = (x: number) => Math.round((x / dt) * 1000) / 10;
  const round1 = (x: number) => Math.round(x * 10) / 10;
  const d = (k: 'video' | 'audio', f: 'received' | 'expected' | 'bytes') => b.counts[k][f] - a.counts[k][f];
  const expected = d('video', 'expected') + d('audio', 'expected');
  const received = d('video', 'received') + d('audio', 'received');
  const bytes = d('video', 'bytes') + d('audio', 'bytes') + (b.counts.otherBytes - a.counts.otherBytes);
  const viewers = b.counts.receivers;
  return {
    workers,
    viewers,
    consumers: viewers * 2,
    workerCpu: b.workerCpu.map((cpu, i) => pct(cpu - (a.workerCpu[i] ?? 0))),
    workerCoreBusy: b.workerCores.map((c, i) => share(c, a.workerCores[i]!, (t) => t.total - t.idle)),
    workerCoreSoftirq: b.workerCores.map((c, i) => share(c, a.workerCores[i]!, (t) => t.softirq)),
    serverCpu: pct(b.serverCpu - a.serverCpu),
    receiverCpu: pct(b.receiverCpu - a.receiverCpu),
    egressMbps: round1((bytes * 8) / dt / 1e6),
    packetsPerSecond: Math.round(received / dt),
    videoKbpsPerViewer: Math.round((d('video', 'bytes') * 8) / dt / 1000 / Math.max(1, viewers)),
    topLayerKbps: Math.round(((b.topLayerBytes - a.topLayerBytes) * 8) / dt / 1000),
    lossPct: expected > 0 ? Math.round(((expected - received) / expected) * 10000) / 100 : 100,
    silent: b.counts.videoPackets.filter((n, i) => n === (a.counts.videoPackets[i] ?? 0)).length,
    udpDrops: { workers: b.udp.workers - a.udp.workers, receivers: b.udp.receivers - a.udp.receivers, relay: b.udp.relay - a.udp.relay },
  };
}

/** A part of a core's time between two readings, %. */
const share = (b: CoreTimes, a: CoreTimes, part: (t: CoreTimes) => number) => percent(part(b) - part(a), b.total - a.total);

const percent = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10000) / 100 : 0);

/** Why a step fails the capacity criteria, or undefined when it passes. */
function stepFailure(r: FanoutRow): string | undefined {
  if (r.lossPct > MAX_LOSS_PCT) {
    const where =
      r.udpDrops.receivers > r.udpDrops.workers
        ? ' (mostly at the receivers\' sockets: the measuring side fell behind, not the SFU)'
        : r.udpDrops.workers > 0
          ? ' (the worker\'s own input overflowed: its core is saturated)'
          : '';
    return `loss ${r.lossPct} % > ${MAX_LOSS_PCT} %${where}`;
  }
  if (r.silent > 0) return `${r.silent} viewers received no video`;
  if (r.videoKbpsPerViewer < MIN_BITRATE_SHARE * r.topLayerKbps) {
    return `video ${r.videoKbpsPerViewer} kbps per viewer < ${MIN_BITRATE_SHARE * 100} % of the top layer's ${r.topLayerKbps} kbps`;
  }
  return undefined;
}

function describe(r: FanoutRow): string {
  return (
    `${r.viewers} viewers (${r.consumers} consumers): worker CPU ${r.workerCpu.join(' + ')} % (core busy ${r.workerCoreBusy.join(' + ')} %, softirq ${r.workerCoreSoftirq.join(' + ')} %), ${r.egressMbps} Mbps, ` +
    `${r.packetsPerSecond} pkt/s, loss ${r.lossPct} %, video ${r.videoKbpsPerViewer}/${r.topLayerKbps} kbps per viewer, ` +
    `silent ${r.silent}, receivers CPU ${r.receiverCpu} %, OnAir Node CPU ${r.serverCpu} %, socket drops: workers ${r.udpDrops.workers}, receivers ${r.udpDrops.receivers}, relay ${r.udpDrops.relay}`
  );
}
