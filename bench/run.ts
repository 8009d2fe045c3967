/**
 * `npm run bench`: measures what users feel, on this machine, through OnAir's own pages and server.
 *
 *   npm run bench                           # every benchmark
 *   npm run bench -- --only=latency,ttff     # some of them
 *   npm run bench -- --joins=20 --seconds=20 --heights=720,360
 *   npm run bench -- --only=fanout --viewers=50,100,200,400 --workers=1,2 --fanout-seconds=10
 *   npm run bench -- --only=latency --heights=720 --extra=10,50,100
 *
 * Benchmarks (each figure: median and spread over the samples):
 *   latency  WebRTC glass-to-glass: the studio's camera is a canvas drawing Date.now() as a block pattern at
 *            30 fps (bench/browser/patternCamera.js); a viewer in a second browser instance reads it back on
 *            every presented frame (bench/browser/latencyProbe.js). Per capture height; with `--extra=N,…`
 *            also at 720p with N lightweight viewers (below) attached to the stream.
 *   ttff     Time to first frame: viewer page load → first presented frame, over `joins` page loads; and the
 *            broadcaster's "Go live" → first frame at a viewer already waiting on the page.
 *   hls      The default ladder from a 720p studio: "Go live" → master playlist playable, HLS glass-to-glass in
 *            hls.js (the watch page in Standard mode, same pattern method), and ffmpeg's CPU (from /proc).
 *   signaling  Viewers joining per second (socket.io connect + viewer:join, from a load generator process, at
 *            rising rates until an error or p95 > 1 s; `--join-rates=100,200,…`), and the server's memory per
 *            idle viewer socket (RSS and heap after GC, 1,000 sockets). bench/signaling.ts.
 *   fanout   Fan-out capacity: lightweight viewers (bench/fanout/Receiver.ts: real ICE + DTLS-SRTP transports
 *            through OnAir's signaling, RTP counted from clear headers, one process) join a replayed 720p30
 *            3-layer simulcast + Opus stream in steps (`--viewers`) until loss > 1 % or the viewers' bitrate
 *            falls behind the top layer; per step: worker CPU and its core's load, egress, packets/s, loss.
 *            With 1 worker pinned to core 0 (the rest on core 1), then `--workers=…` more. bench/fanout/.
 *   ingest   (only with --only) RTMP and SRT ingest: the ingest ffmpeg's CPU (copy vs transcode, 720p and 1080p)
 *            and the latency it adds (FLV in → RTP out of the router), bench/ingest.ts; and RTMP glass-to-glass
 *            (OBS defaults) to a WebRTC and an hls.js viewer in Chromium, bench/ingestGlass.ts.
 *   restream (only with --only) One restream destination's ffmpeg CPU (H.264 copied vs VP8 transcoded, 720p
 *            and 360p) and the frame rate nginx-rtmp receives, `--seconds` each. bench/restream.ts.
 * Results: bench/results.json (all runs, newest last) and bench/RESULTS.md (the newest run of each set of
 * benchmarks in a block of its own, beside the targets; the rest of that file is written by people and kept).
 * Never run as a test: numbers depend on the machine and its load.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from '@playwright/test';
import type { OnAir } from '../server/app.js';
import { closeBrowsers, launchBrowser } from '../test/e2e/helpers/browser.js';
import { api, benchDir as here, cpuSeconds, figure, log, quantile, signIn, sleep, startServer, studio, type Figure } from './common.js';
import { measureFanout, type FanoutRun } from './fanout/fanout.js';
import { ReceiverFleet } from './fanout/ReceiverFleet.js';
import { fanoutFigures, fanoutTable } from './fanout/report.js';
import { measureSignaling } from './signaling.js';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const only = new Set((args.only ?? 'latency,ttff,hls,signaling,fanout').split(','));
const joins = Number(args.joins ?? 20);
const seconds = Number(args.seconds ?? 20);
const heights = (args.heights ?? '720,360').split(',').map(Number);
const viewerSteps = (args.viewers ?? '50,100,200,400,800,1200').split(',').map(Number);
const fanoutWorkers = (args.workers ?? '1,2').split(',').map(Number);
const extraViewers = (args.extra ?? '').split(',').filter(Boolean).map(Number);

async function viewerContext(s: OnAir): Promise<BrowserContext> {
  const ctx = await launchBrowser(s.url);
  await ctx.addInitScript({ path: path.join(here, 'browser', 'latencyProbe.js') });
  return ctx;
}

type Bench = { firstFrameMs: number | null; samples: { lat: number; h: number }[]; bad: number };
/** When the page's HTML and script arrived and the player's marks (ms after navigation). */
const timeline = (page: Page) =>
  page.evaluate(() => {
    const out: Record<string, number> = {};
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
    if (nav) Object.assign(out, { 'html-received': nav.responseEnd, 'dom-interactive': nav.domInteractive });
    for (const m of performance.getEntriesByType('mark')) if (m.name.startsWith('onair:')) out[m.name.slice(6)] = m.startTime;
    return out;
  });
const benchOf = (page: Page) => page.evaluate(() => (window as unknown as { __bench: Bench }).__bench);
/** Waits for the page's first presented frame (latencyProbe.js): ms after its navigation. */
async function firstFrame(page: Page, timeoutMs = 30_000): Promise<number> {
  await page.waitForFunction(() => (window as unknown as { __bench: Bench }).__bench.firstFrameMs !== null, null, { timeout: timeoutMs });
  return (await benchOf(page)).firstFrameMs!;
}

/** `extra`: lightweight viewers (bench/fanout) attached to the stream before the measuring viewer. */
async function measureLatency(s: OnAir, token: string, session: unknown, height: number, extra = 0): Promise<Figure> {
  const stream = await api<{ id: string }>(s, 'POST', '/api/streams', token, { title: `bench latency ${height}p` });
  const st = await studio(s, session, stream.id, height);
  await st.goLive();
  const fleet = extra > 0 ? ReceiverFleet.start() : undefined;
  if (fleet) {
    const attached = await fleet.attach(s.url, stream.id, extra);
    if (attached.receivers < extra) throw new Error(`only ${attached.receivers} of ${extra} extra viewers joined: ${attached.firstError}`);
    log(`  latency ${height}p: ${extra} extra viewers attached`);
  }
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
  await fleet?.close();
  await closeBrowsers();
  const values = top.length > 20 ? top.map((x) => x.lat) : all.map((x) => x.lat);
  if (extra > 0) return figure(`WebRTC glass-to-glass ${height}p30 simulcast (top layer) with ${extra} viewers attached`, 'ms', values, extra === 100 ? 'p95 ≤ 120' : undefined);
  return figure(`WebRTC glass-to-glass ${height}p30 simulcast (top layer)`, 'ms', values, height >= 720 ? 'p50 ≤ 50, p95 ≤ 80' : undefined);
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
  const firstAbs = (await waiting.evaluate(() => performance.timeOrigin)) + (await firstFrame(waiting, 60_000));
  const goLiveToFrame = firstAbs - clickedAt;
  await waiting.close();
  await sleep(3000);

  const loads: number[] = [];
  /** The player's User Timing marks and the script's load, ms after navigation (client/player/timeline.ts). */
  const steps: Record<string, number[]> = {};
  for (let i = 0; i < joins; i++) {
    const page = await vctx.newPage();
    await page.goto(`/watch/${stream.id}`);
    loads.push(await firstFrame(page));
    for (const [name, at] of Object.entries(await timeline(page))) (steps[name] ??= []).push(at);
    await page.close();
    if ((i + 1) % 5 === 0) log(`  ttff: ${i + 1}/${joins} joins`);
  }
  await closeBrowsers();
  const median = (v: number[]) => quantile(v, 0.5);
  log(`  ttff steps (median ms after navigation): ${Object.entries(steps).sort((x, y) => median(x[1]) - median(y[1])).map(([k, v]) => `${k} ${Math.round(median(v))}`).join(', ')}, first frame ${Math.round(median(loads))}`);
  return [
    figure('Time to first frame: viewer page load → first frame', 'ms', loads, 'p50 ≤ 300, p95 ≤ 400'),
    figure('"Go live" click → first frame at a waiting viewer', 'ms', [goLiveToFrame], '≤ 300'),
  ];
}

/** Its own server, with the HLS bridge on (the WebRTC benchmarks run without it). */
async function measureHls(): Promise<Figure[]> {
  const s = await startServer({ ONAIR_HLS: 'on' });
  try {
    const login = await signIn(s);
    const stream = await api<{ id: string }>(s, 'POST', '/api/streams', login.token, { title: 'bench hls' });
    const st = await studio(s, login, stream.id, 720);
    // The viewer's browser runs before the broadcast starts, as a viewer's browser (on its own machine) does:
    // only its page load happens during the measurement. Launched after "playable", Chromium's start-up took
    // the 2 cores from ffmpeg's first seconds, and an ffmpeg that falls behind then stays behind.
    const vctx = await viewerContext(s);
    const viewer = vctx.pages()[0] ?? (await vctx.newPage());
    await sleep(3000); // Chromium's own start-up work settles (it took the cores from the go-live that followed)
    const load0 = os.loadavg()[0]!;
    const clickedAt = await st.goLive();
    let playableAt = 0;
    for (;;) {
      const master = await fetch(`${s.url}/hls/${stream.id}/master.m3u8`);
      if (master.ok) {
        const text = await master.text();
        const first = text.split('\n').find((l) => l && !l.startsWith('#'));
        const media = first ? await (await fetch(`${s.url}/hls/${stream.id}/${first}`)).text() : '';
        // A part or a full segment listed (LL-HLS: the master is out once the first rendition has a part).
        if (media.split('\n').some((l) => l.startsWith('#EXT-X-PART:') || (/\.(m4s|ts)(\?|$)/.test(l) && !l.startsWith('#')))) {
          playableAt = Date.now();
          break;
        }
      }
      if (Date.now() - clickedAt > 60_000) throw new Error('HLS never became playable');
      await sleep(50);
    }
    const renditions = (await (await fetch(`${s.url}/hls/${stream.id}/master.m3u8`)).text()).split('\n').filter((l) => l.startsWith('#EXT-X-STREAM-INF')).length;
    await viewer.goto(`/watch/${stream.id}?mode=hls`);
    await viewer.waitForFunction(() => ((window as unknown as { __bench: Bench }).__bench.samples.length ?? 0) > 30, null, { timeout: 60_000 });
    const pid = s.hls.liveSession(stream.id)?.pid;
    const cpu0 = pid ? cpuSeconds(pid) : 0;
    const t0 = Date.now();
    const before = (await benchOf(viewer)).samples.length;
    log(`  hls: measuring ${seconds} s (${renditions} renditions)…`);
    // hls.js's own view once a second: distance from the playhead to the newest part it knows, its target.
    const hlsLatency: { seconds: number; target: number }[] = [];
    for (let waited = 0; waited < seconds; waited++) {
      await sleep(1000);
      const st = await viewer.evaluate(() => window.__onair?.stats());
      if (st?.liveLatency !== undefined) hlsLatency.push({ seconds: st.liveLatency, target: st.liveLatencyTarget ?? NaN });
    }
    const cores = pid ? (cpuSeconds(pid) - cpu0) / ((Date.now() - t0) / 1000) : NaN;
    const load1 = os.loadavg()[0]!;
    const b = await benchOf(viewer);
    // hls.js's own view: its latency estimate and target (LL-HLS: PART-HOLD-BACK), and the playback rate.
    const hlsView = await viewer.evaluate(() => {
      const v = document.querySelector('video');
      return { rate: v?.playbackRate ?? NaN, buffered: v && v.buffered.length ? v.buffered.end(v.buffered.length - 1) - v.currentTime : NaN };
    });
    const med = (v: number[]) => quantile(v, 0.5).toFixed(2);
    log(
      `  hls: load average ${load0.toFixed(1)} → ${load1.toFixed(1)}; playbackRate ${hlsView.rate}, buffer ahead ${hlsView.buffered.toFixed(2)} s; ` +
        `hls.js latency p50 ${med(hlsLatency.map((x) => x.seconds))} s (target ${med(hlsLatency.map((x) => x.target))} s)`,
    );
    // Viewers who arrive while the stream runs (the common case): Standard-mode page loads in the same browser.
    await viewer.close();
    const midStream: number[] = [];
    for (let i = 0; i < 5; i++) {
      const page = await vctx.newPage();
      await page.goto(`/watch/${stream.id}?mode=hls`);
      midStream.push(await firstFrame(page));
      await page.close();
    }
    await closeBrowsers();
    const load = ` [load avg ${load0.toFixed(0)}–${load1.toFixed(0)} on ${os.cpus().length} cores]`;
    return [
      { ...figure(`HLS (LL-HLS): "Go live" → master and media playlist with a playable part${load}`, 'ms', [playableAt - clickedAt]), target: '≤ 1000' },
      figure(`HLS glass-to-glass in hls.js lowLatencyMode, default ladder (${renditions} renditions from 720p)${load}`, 'ms', b.samples.slice(before).map((x) => x.lat), 'p50 ≤ 1000, p95 ≤ 1300'),
      // The viewer opened the watch page in Standard mode once the stream was playable: its first frame.
      ...(b.firstFrameMs !== null ? [figure(`HLS (Standard mode): viewer page load → first frame, as soon as the stream is playable${load}`, 'ms', [b.firstFrameMs], '≤ 1500')] : []),
      figure(`HLS (Standard mode): viewer page load → first frame, the stream live for 20 s${load}`, 'ms', midStream, '≤ 1500'),
      { ...figure(`ffmpeg CPU for the default ladder (${renditions} renditions, fMP4 to pipes), cores${load}`, 'cores', [cores]), target: '≤ 0.6' },
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

function writeResults(figures: Figure[], fanout: FanoutRun[]): void {
  const run = { date: new Date().toISOString(), commit: gitCommit(), cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? '', node: process.version, figures, ...(fanout.length ? { fanout } : {}) };
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
  const key = [...only].sort().join(',');
  const md = [
    `<!-- bench:${key} (written by bench/run.ts: the newest run of these benchmarks) -->`,
    `Newest run of \`${key}\`: ${run.date}, commit ${run.commit}, ${run.cores} cores (${run.cpu}), Node ${run.node}, loopback, headless Debian Chromium.`,
    '',
    '| measure | samples | p50 | p95 | p99 | range | target |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...fanoutTable(fanout),
    `<!-- /bench:${key} -->`,
  ].join('\n');
  // RESULTS.md also holds written notes and tables of earlier runs: only this set of benchmarks' block is
  // replaced (appended the first time), so that a run of one benchmark never erases the others.
  const mdFile = path.join(here, 'RESULTS.md');
  let doc = '# Benchmark results\n\nProduced by `npm run bench` (bench/run.ts); every run is kept in bench/results.json.\n';
  try {
    doc = fs.readFileSync(mdFile, 'utf8');
  } catch {
    /* first run */
  }
  const begin = doc.indexOf(`<!-- bench:${key} `);
  const endMark = `<!-- /bench:${key} -->`;
  const end = doc.indexOf(endMark);
  doc = begin >= 0 && end > begin ? doc.slice(0, begin) + md + doc.slice(end + endMark.length) : `${doc.trimEnd()}\n\n${md}\n`;
  fs.writeFileSync(mdFile, doc);
  log(`written bench/results.json and bench/RESULTS.md\n\n${md}`);
}

async function main(): Promise<void> {
  log(`OnAir benchmarks: ${[...only].join(', ')} (${os.cpus().length} cores)`);
  // The extra viewers all connect from 127.0.0.1.
  const s = await startServer({ ONAIR_MAX_SOCKETS_PER_ADDRESS: '1000000' });
  const figures: Figure[] = [];
  try {
    const login = await signIn(s);
    if (only.has('latency')) {
      for (const h of heights) figures.push(await measureLatency(s, login.token, login, h));
      for (const n of extraViewers) figures.push(await measureLatency(s, login.token, login, 720, n));
    }
    if (only.has('ttff')) figures.push(...(await measureTtff(s, login.token, login)));
  } finally {
    await closeBrowsers();
    await s.close();
  }
  if (only.has('hls')) figures.push(...(await measureHls()));
  if (only.has('signaling')) figures.push(...(await measureSignaling(args['join-rates'] ? { rates: args['join-rates'].split(',').map(Number) } : {})));
  if (only.has('ingest')) figures.push(...(await (await import('./ingest.js')).measureIngest()));
  if (only.has('restream')) figures.push(...(await (await import('./restream.js')).restreamFigures(seconds)));
  if (only.has('cluster')) figures.push(...(await (await import('./cluster.js')).measureCluster({ seconds: Number(args['cluster-seconds'] ?? 20), viewers: Number(args['cluster-viewers'] ?? 100) })));
  const fanout = only.has('fanout') ? await measureFanout({ steps: viewerSteps, workers: fanoutWorkers, seconds: Number(args['fanout-seconds'] ?? 10) }) : [];
  figures.push(...fanoutFigures(fanout));
  writeResults(figures, fanout);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
