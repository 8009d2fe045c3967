/**
 * `--only=cluster` (issue 12): what an edge node costs and adds, on a two-node cluster of real processes
 * (test/helpers/cluster.ts: Redis, PostgreSQL, nginx, nodes run from source, HLS off so no ffmpeg competes):
 *
 * - glass-to-glass through an edge vs direct: the studio (pattern camera, 720p, bench/browser/patternCamera.js)
 *   publishes to node 0, the origin; two viewers in their own browsers watch at the same time, one on node 0
 *   (direct) and one on node 1 (edge: origin → pipe → edge router → viewer), each reading the timestamp back
 *   on every frame (bench/browser/latencyProbe.js). Measured together, so load affects both alike.
 * - worker CPU per viewer on the edge vs on the origin: lightweight viewers (bench/fanout: real ICE +
 *   DTLS-SRTP receivers in one child process) attached to node 0, then to node 1; each node's mediasoup
 *   worker CPU from /proc over a fixed time, minus that worker's CPU with no viewers.
 * - the origin's cost per edge: node 0's worker CPU with one edge fed (a single viewer on node 1) minus with
 *   none; and with the edge's N viewers, to show it does not grow with them. The idle state is measured
 *   again at the end: the difference of the two is the noise floor the other figures sit on.
 *
 * Separating costs on a machine whose 2 cores every node shares: each figure is the CPU time of one process
 * (a node's mediasoup worker: /proc/<pid>/stat), so what other processes use does not enter it; what does
 * is contention (a process waiting for a core is not charged, but its caches and the softirq work of
 * loopback packets are shared). The load average is printed beside each figure.
 */
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from '@playwright/test';
import { closeBrowsers, launchBrowser } from '../test/e2e/helpers/browser.js';
import { childrenOf } from '../test/e2e/helpers/ownServer.js';
import { CLUSTER_ADMIN, startCluster, type NodeProcess, type TestCluster } from '../test/helpers/cluster.js';
import { benchDir, cpuSeconds, figure, log, sleep, studio, type Figure } from './common.js';
import { ReceiverFleet } from './fanout/ReceiverFleet.js';

export interface ClusterBenchOptions {
  /** Seconds per measurement. */
  seconds: number;
  /** Lightweight viewers per CPU step. */
  viewers: number;
}

const SETTLE_MS = 5_000;
const load = () => `load avg ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`;

async function call<T>(base: string, method: string, p: string, token?: string, body?: unknown): Promise<T> {
  const res = await fetch(base + p, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : null,
  });
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

function workerPid(n: NodeProcess): number {
  const w = childrenOf(n.pid).find((c) => c.name === 'mediasoup-worker');
  if (!w) throw new Error(`node ${n.index} has no mediasoup worker`);
  return w.pid;
}

/** % of one core each node's worker used over `seconds`. */
async function workerCpu(nodes: NodeProcess[], seconds: number): Promise<number[]> {
  const pids = nodes.map(workerPid);
  const a = pids.map(cpuSeconds);
  const t0 = Date.now();
  await sleep(seconds * 1000);
  const dt = (Date.now() - t0) / 1000;
  return pids.map((pid, i) => Math.round(((cpuSeconds(pid) - a[i]!) / dt) * 1000) / 10);
}

/** The studio on `base`, signed in, with the pattern camera at `height`, live on `streamId` (bench/common.ts). */
async function liveStudio(base: string, session: unknown, streamId: string, height: number): Promise<BrowserContext> {
  const st = await studio({ url: base }, session, streamId, height);
  await st.goLive();
  return st.ctx;
}

async function probeViewer(base: string, streamId: string): Promise<Page> {
  const ctx = await launchBrowser(base);
  await ctx.addInitScript({ path: path.join(benchDir, 'browser', 'latencyProbe.js') });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  await page.goto(`/watch/${streamId}`);
  return page;
}

type Samples = { samples: { lat: number; h: number }[] };
const samplesOf = async (page: Page) => (await page.evaluate(() => (window as unknown as { __bench: Samples }).__bench)).samples;

async function attach(url: string, streamId: string, n: number): Promise<ReceiverFleet> {
  const fleet = ReceiverFleet.start();
  const got = await fleet.attach(url, streamId, n);
  if (got.receivers < n) {
    await fleet.close();
    throw new Error(`only ${got.receivers} of ${n} viewers joined ${url}: ${got.firstError}`);
  }
  return fleet;
}

export async function measureCluster(o: ClusterBenchOptions): Promise<Figure[]> {
  log(`cluster: starting Redis, PostgreSQL, nginx and 2 nodes (${load()})`);
  const cluster: TestCluster = await startCluster({
    nodes: 2,
    fromSource: true,
    env: { ONAIR_HLS: 'off', LOG_LEVEL: 'warn', ONAIR_MAX_WEBRTC_VIEWERS: '1000000', ONAIR_MAX_SOCKETS_PER_ADDRESS: '1000000' },
  });
  const [origin, edge] = [cluster.nodes[0]!, cluster.nodes[1]!];
  const figures: Figure[] = [];
  const fleets: ReceiverFleet[] = [];
  try {
    const session = await call<{ token: string }>(origin.url, 'POST', '/api/auth/login', undefined, CLUSTER_ADMIN);
    const stream = await call<{ id: string }>(origin.url, 'POST', '/api/streams', session.token, { title: 'bench cluster' });
    await liveStudio(origin.url, session, stream.id, 720);
    log(`cluster: studio live on node 0 (the origin)`);

    // Latency: one viewer on each node, at the same time.
    const direct = await probeViewer(origin.url, stream.id);
    const viaEdge = await probeViewer(edge.url, stream.id);
    await sleep(SETTLE_MS);
    const [d0, e0] = [(await samplesOf(direct)).length, (await samplesOf(viaEdge)).length];
    await sleep(o.seconds * 1000);
    const top = (s: { lat: number; h: number }[]) => s.filter((x) => x.h >= 720).map((x) => x.lat);
    const [d, e] = [top((await samplesOf(direct)).slice(d0)), top((await samplesOf(viaEdge)).slice(e0))];
    const loadLatency = load();
    figures.push(figure(`Cluster: WebRTC glass-to-glass 720p, viewer on the origin node [${loadLatency}]`, 'ms', d));
    figures.push(figure(`Cluster: WebRTC glass-to-glass 720p, viewer on an edge node [${loadLatency}]`, 'ms', e, 'p50 ≤ direct + 5'));
    log(`cluster: glass-to-glass p50 direct ${figures.at(-2)!.p50} ms, through the edge ${figures.at(-1)!.p50} ms (${loadLatency})`);
    await closeBrowsers();
    // The studio is gone with the browsers: start it again for the CPU steps (no viewer browsers now).
    await liveStudio(origin.url, session, stream.id, 720);
    await sleep(SETTLE_MS);

    // CPU: both workers idle of viewers (the origin receives the studio).
    const idle = await workerCpu([origin, edge], o.seconds);
    log(`cluster: workers with no viewers: origin ${idle[0]} %, edge ${idle[1]} % (${load()})`);

    // N viewers on the origin.
    fleets.push(await attach(origin.url, stream.id, o.viewers));
    await sleep(SETTLE_MS);
    const onOrigin = await workerCpu([origin, edge], o.seconds);
    const loadOrigin = load();
    await fleets.pop()!.close();
    await sleep(SETTLE_MS);

    // One viewer on the edge: the edge is fed (one pipe).
    fleets.push(await attach(edge.url, stream.id, 1));
    await sleep(SETTLE_MS);
    const oneEdge = await workerCpu([origin, edge], o.seconds);
    const loadOneEdge = load();
    await fleets.pop()!.close();
    await sleep(SETTLE_MS);

    // N viewers on the edge.
    fleets.push(await attach(edge.url, stream.id, o.viewers));
    await sleep(SETTLE_MS);
    const onEdge = await workerCpu([origin, edge], o.seconds);
    const loadEdge = load();
    await fleets.pop()!.close();
    await sleep(SETTLE_MS);

    // No viewers again: how far two measurements of the same state differ (the noise floor of the figures).
    const idleAgain = await workerCpu([origin, edge], o.seconds);

    // In ms of CPU per second (10 × % of a core): a viewer costs about 1 ms/s, below what % with one decimal shows.
    const per = (busy: number, base: number, n: number) => Math.round(((busy - base) / n) * 1000) / 100;
    const originPerViewer = per(onOrigin[0]!, idle[0]!, o.viewers);
    const edgePerViewer = per(onEdge[1]!, oneEdge[1]!, o.viewers - 1);
    const edgePerViewerAll = per(onEdge[1]!, idle[1]!, o.viewers);
    const originPerEdge = per(oneEdge[0]!, idle[0]!, 1);
    const originPerEdgeLoaded = per(onEdge[0]!, idle[0]!, 1);
    const one = (name: string, unit: string, v: number, target?: string) => figure(name, unit, [v], target);
    figures.push(one(`Cluster: origin worker CPU per viewer (${o.viewers} viewers on the origin) [${loadOrigin}]`, 'ms CPU/s', originPerViewer));
    figures.push(
      one(`Cluster: edge worker CPU per viewer (viewers 2…${o.viewers} on the edge, its pipe excluded) [${loadEdge}]`, 'ms CPU/s', edgePerViewer, 'within 10 % of the origin’s'),
    );
    figures.push(one(`Cluster: edge worker CPU per viewer, its pipe included (${o.viewers} viewers) [${loadEdge}]`, 'ms CPU/s', edgePerViewerAll));
    figures.push(one(`Cluster: origin worker CPU per edge fed (1 viewer on the edge) [${loadOneEdge}]`, 'ms CPU/s', originPerEdge, '≤ one viewer’s'));
    figures.push(one(`Cluster: origin worker CPU per edge fed (${o.viewers} viewers on the edge) [${loadEdge}]`, 'ms CPU/s', originPerEdgeLoaded));
    figures.push(one(`Cluster: worker CPU with no viewers: origin (receiving the studio) [${load()}]`, 'ms CPU/s', idle[0]! * 10));
    figures.push(
      one(`Cluster: noise floor, origin worker CPU with no viewers measured twice, difference [${load()}]`, 'ms CPU/s', Math.round(Math.abs(idleAgain[0]! - idle[0]!) * 1000) / 100),
    );
    log(
      `cluster: ms CPU/s per viewer: origin ${originPerViewer}, edge ${edgePerViewer} (${edgePerViewerAll} with its pipe); origin per edge ${originPerEdge} (${originPerEdgeLoaded} with ${o.viewers} viewers there); raw [origin, edge] %: idle ${idle}, ${o.viewers} on origin ${onOrigin}, 1 on edge ${oneEdge}, ${o.viewers} on edge ${onEdge}, idle again ${idleAgain}`,
    );
    return figures;
  } finally {
    for (const f of fleets) await f.close();
    await closeBrowsers();
    await cluster.stop();
  }
}
