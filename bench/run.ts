/**
 * `npm run bench`: measures what users feel, on this machine, through OnAir's own pages and server.
 *
 *   npm run bench                           # every benchmark
 *   npm run bench -- --only=latency,ttff     # some of them
 *   npm run bench -- --joins=20 --seconds=20 --heights=720,360
 *
 * Benchmarks (each figure: median and spread over the samples):
 *   latency  WebRTC glass-to-glass: the studio's camera is a canvas drawing Date.now() as a block pattern at
 *            30 fps (bench/browser/patternCamera.js); a viewer in a second browser instance reads it back on
 *            every presented frame (bench/browser/latencyProbe.js). Per capture height.
 *   ttff     Time to first frame: viewer page load → first presented frame, over `joins` page loads; and the
 *            broadcaster's "Go live" → first frame at a viewer already waiting on the page.
 *   hls      The default ladder from a 720p studio: "Go live" → master playlist playable, HLS glass-to-glass in
 *            hls.js (the watch page in Standard mode, same pattern method), and ffmpeg's CPU (from /proc).
 * Results: bench/results.json (all runs, newest last) and bench/RESULTS.md (the newest, beside the targets).
 * Never run as a test: numbers depend on the machine and its load.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from '@playwright/test';
import { startOnAir, type OnAir } from '../server/app.js';
import { loadConfig } from '../server/config/config.js';
import { createLogger } from '../server/log/logger.js';
import { closeBrowsers, launchBrowser } from '../test/e2e/helpers/browser.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const only = new Set((args.only ?? 'latency,ttff,hls').split(','));
const joins = Number(args.joins ?? 20);
const seconds = Number(args.seconds ?? 20);
const heights = (args.heights ?? '720,360').split(',').map(Number);

const log = (msg: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);

interface Figure {
  name: string;
  unit: string;
  n: number;
  p50: number;
  p95: number;
  p99?: number;
  min: number;
  max: number;
  target?: string;
}

function figure(name: string, unit: string, values: number[], target?: string): Figure {
  const v = [...values].sort((a, b) => a - b);
  const q = (p: number) => v[Math.min(v.length - 1, Math.floor((p / 100) * v.length))] ?? NaN;
  const r = (x: number) => Math.round(x * 10) / 10;
  return { name, unit, n: v.length, p50: r(q(50)), p95: r(q(95)), p99: r(q(99)), min: r(v[0] ?? NaN), max: r(v.at(-1) ?? NaN), ...(target ? { target } : {}) };
}

async function startServer(env: Record<string, string> = {}): Promise<OnAir> {
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    ONAIR_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'onair-bench-')),
    ONAIR_RTC_PORT: '0',
    ONAIR_RTC_LISTEN_IP: '127.0.0.1',
    ONAIR_WORKERS: '1',
    ONAIR_ADMIN_PASSWORD: 'bench-password-1',
    // The HLS bridge would compete with the browsers for the CPU: the WebRTC figures are measured without it.
    ONAIR_HLS: 'off',
    LOG_LEVEL: 'warn',
    ...env,
  });
  return startOnAir(config, createLogger(config.logLevel));
}

async function api<T>(s: OnAir, method: string, p: string, token?: string, body?: unknown): Promise<T> {
  const res = await fetch(s.url + p, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : null,
  });
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** The studio, signed in, with the pattern camera at `height`, live on `streamId`. */
async function studio(s: OnAir, session: unknown, streamId: string, height: number): Promise<{ ctx: BrowserContext; page: Page; goLive(): Promise<number> }> {
  const ctx = await launchBrowser(s.url);
  await ctx.addInitScript(
    ([sess, h]) => {
      sessionStorage.setItem('onair.session', sess as string);
      (window as unknown as { __benchHeight: number }).__benchHeight = h as number;
    },
    [JSON.stringify(session), height],
  );
  await ctx.addInitScript({ path: path.join(here, 'browser', 'patternCamera.js') });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  await page.goto(`/studio?stream=${streamId}`);
  await page.getByTestId('stream-select').waitFor();
  return {
    ctx,
    page,
    async goLive() {
      const t0 = Date.now();
      await page.getByRole('button', { name: 'Go live' }).click();
      await page.waitForFunction(() => (window as unknown as { __studio?: { state: string } }).__studio?.state === 'live', null, { timeout: 60_000 });
      return t0;
    },
  };
}

async function viewerContext(s: OnAir): Promise<BrowserContext> {
  const ctx = await launchBrowser(s.url);
  await ctx.addInitScript({ path: path.join(here, 'browser', 'latencyProbe.js') });
  return ctx;
}

type Bench = { firstFrameMs: number | null; samples: { lat: number; h: number }[]; bad: number };
const benchOf = (page: Page) => page.evaluate(() => (window as unknown as { __bench: Bench }).__bench);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measureLatency(s: OnAir, token: string, session: unknown, height: number): Promise<Figure> {
  const stream = await api<{ id: string }>(s, 'POST', '/api/streams', token, { title: `bench latency ${height}p` });
  const st = await studio(s, session, stream.id, height);
  await st.goLive();
  const vctx = await viewerContext(s);
  const viewer = vctx.pages()[0] ?? (await vctx.newPage());
  await viewer.goto(`/watch/${stream.id}`);
  await viewer.waitForFunction(() => ((window as unknown as { __bench: Bench }).__bench.samples.length ?? 0) > 30, null, { timeout: 60_000 });
  // Let simulcast ramp up to the top layer, then measure.
  await sleep(5000);
  const before = (await benchOf(viewer)).samples.length;
  log(`  latency ${height}p: measuring ${seconds} s…`);
  await sleep(seconds * 1000);
  const b = await benchOf(viewer);
  const top = b.samples.slice(before).filter((x) => x.h === height);
  const all = b.samples.slice(before);
  log(`  ${all.length} frames read (${top.length} at ${height}p), ${b.bad} unreadable`);
  await closeBrowsers();
  return figure(`WebRTC glass-to-glass ${height}p30 simulcast (top layer)`, 'ms', top.length > 20 ? top.map((x) => x.lat) : all.map((x) => x.lat), height >= 720 ? 'p50 ≤ 50, p95 ≤ 80' : undefined);
}

async function measureTtff(s: OnAir, token: string, session: unknown): Promise<Figure[]> {
  const stream = await api<{ id: string }>(s, 'POST', '/api/streams', token, { title: 'bench ttff' });
  const st = await studio(s, session, stream.id, 720);
  const vctx = await viewerContext(s);
  // A viewer waiting before the broadcast starts.
  const waiting = vctx.pages()[0] ?? (await vctx.newPage());
  await waiting.goto(`/watch/${stream.id}`);
  await waiting.waitForFunction(() => (window as unknown as { __onair?: { state: string } }).__onair?.state === 'waiting', null, { timeout: 30_000 });
  const clickedAt = await st.goLive();
  await waiting.waitForFunction(() => (window as unknown as { __bench: Bench }).__bench.firstFrameMs !== null, null, { timeout: 60_000 });
  const firstAbs = await waiting.evaluate(() => performance.timeOrigin + ((window as unknown as { __bench: Bench }).__bench.firstFrameMs ?? 0));
  const goLiveToFrame = firstAbs - clickedAt;
  await waiting.close();
  await sleep(3000);

  const loads: number[] = [];
  for (let i = 0; i < joins; i++) {
    const page = await vctx.newPage();
    await page.goto(`/watch/${stream.id}`);
    await page.waitForFunction(() => (window as unknown as { __bench: Bench }).__bench.firstFrameMs !== null, null, { timeout: 30_000 });
    loads.push((await benchOf(page)).firstFrameMs!);
    await page.close();
    if ((i + 1) % 5 === 0) log(`  ttff: ${i + 1}/${joins} joins`);
  }
  await closeBrowsers();
  return [
    figure('Time to first frame: viewer page load → first frame', 'ms', loads, 'p50 ≤ 400'),
    figure('"Go live" click → first frame at a waiting viewer', 'ms', [goLiveToFrame]),
  ];
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

/** Its own server, with the HLS bridge on (the WebRTC benchmarks run without it). */
async function measureHls(): Promise<Figure[]> {
  const s = await startServer({ ONAIR_HLS: 'on' });
  try {
    const login = await api<{ token: string }>(s, 'POST', '/api/auth/login', undefined, { username: 'admin', password: 'bench-password-1' });
    const stream = await api<{ id: string }>(s, 'POST', '/api/streams', login.token, { title: 'bench hls' });
    const st = await studio(s, login, stream.id, 720);
    const clickedAt = await st.goLive();
    let playableAt = 0;
    for (;;) {
      const master = await fetch(`${s.url}/hls/${stream.id}/master.m3u8`);
      if (master.ok) {
        const text = await master.text();
        const first = text.split('\n').find((l) => l && !l.startsWith('#'));
        const media = first ? await (await fetch(`${s.url}/hls/${stream.id}/${first}`)).text() : '';
        if (media.split('\n').filter((l) => l.endsWith('.ts')).length >= 1) {
          playableAt = Date.now();
          break;
        }
      }
      if (Date.now() - clickedAt > 60_000) throw new Error('HLS never became playable');
      await sleep(50);
    }
    const renditions = (await (await fetch(`${s.url}/hls/${stream.id}/master.m3u8`)).text()).split('\n').filter((l) => l.startsWith('#EXT-X-STREAM-INF')).length;
    const vctx = await viewerContext(s);
    const viewer = vctx.pages()[0] ?? (await vctx.newPage());
    await viewer.goto(`/watch/${stream.id}?mode=hls`);
    await viewer.waitForFunction(() => ((window as unknown as { __bench: Bench }).__bench.samples.length ?? 0) > 30, null, { timeout: 60_000 });
    const pid = s.hls.liveSession(stream.id)?.pid;
    const cpu0 = pid ? cpuSeconds(pid) : 0;
    const t0 = Date.now();
    const before = (await benchOf(viewer)).samples.length;
    log(`  hls: measuring ${seconds} s (${renditions} renditions)…`);
    await sleep(seconds * 1000);
    const cores = pid ? (cpuSeconds(pid) - cpu0) / ((Date.now() - t0) / 1000) : NaN;
    const b = await benchOf(viewer);
    await closeBrowsers();
    return [
      figure('HLS: "Go live" → master playlist with a playable segment', 'ms', [playableAt - clickedAt]),
      figure(`HLS glass-to-glass in hls.js, default ladder (${renditions} renditions from 720p)`, 'ms', b.samples.slice(before).map((x) => x.lat), 'p50 ≤ 1500'),
      { ...figure(`ffmpeg CPU for the default ladder (${renditions} renditions), cores`, 'cores', [cores]), target: '≤ 0.6' },
    ];
  } finally {
    await closeBrowsers();
    await s.close();
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function writeResults(figures: Figure[]): void {
  const run = { date: new Date().toISOString(), commit: gitCommit(), cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? '', node: process.version, figures };
  const jsonFile = path.join(here, 'results.json');
  let runs: unknown[] = [];
  try {
    runs = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as unknown[];
  } catch {
    /* first run */
  }
  runs.push(run);
  fs.writeFileSync(jsonFile, `${JSON.stringify(runs, null, 2)}\n`);
  const rows = figures.map((f) => `| ${f.name} (${f.unit}) | ${f.n} | ${f.p50} | ${f.p95} | ${f.p99 ?? ''} | ${f.min}–${f.max} | ${f.target ?? ''} |`);
  const md = [
    '# Benchmark results',
    '',
    `Newest run: ${run.date}, commit ${run.commit}, ${run.cores} cores (${run.cpu}), Node ${run.node}, loopback, headless Debian Chromium.`,
    'Produced by `npm run bench` (bench/run.ts); every run is kept in bench/results.json.',
    '',
    '| measure | samples | p50 | p95 | p99 | range | target |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(here, 'RESULTS.md'), md);
  log(`written bench/results.json and bench/RESULTS.md\n\n${md}`);
}

async function main(): Promise<void> {
  log(`OnAir benchmarks: ${[...only].join(', ')} (${os.cpus().length} cores)`);
  const s = await startServer();
  const figures: Figure[] = [];
  try {
    const login = await api<{ token: string }>(s, 'POST', '/api/auth/login', undefined, { username: 'admin', password: 'bench-password-1' });
    if (only.has('latency')) for (const h of heights) figures.push(await measureLatency(s, login.token, login, h));
    if (only.has('ttff')) figures.push(...(await measureTtff(s, login.token, login)));
  } finally {
    await closeBrowsers();
    await s.close();
  }
  if (only.has('hls')) figures.push(...(await measureHls()));
  writeResults(figures);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
