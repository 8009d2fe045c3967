/**
 * RTMP ingest glass-to-glass: an OBS-like encoder (ffmpeg, libx264 high with B-frames, AAC 48 kHz, FLV over
 * RTMP) whose picture carries the wall clock, read back in Chromium by a WebRTC viewer and an hls.js viewer.
 *
 * Same method as the studio's figures in bench/run.ts: the picture is bench/browser/patternCamera.js's block
 * pattern (8x6 blocks: 40-bit Date.now() + checksum over a grey field), here drawn by this process into raw
 * yuv420p frames at 30 fps and piped into the encoder (its stdin, timestamps from the wall clock), and read
 * by bench/browser/latencyProbe.js on every presented frame of the viewer's <video>. So a sample covers the
 * encoder (x264's B-frame lookahead included, as OBS's defaults have it), RTMP, OnAir's ingest transcode,
 * the SFU or the HLS ladder, and the browser's decode and presentation; browser and encoder share one clock.
 *
 * Lifetimes: one server (HLS on), one stream, one encoder for the whole run; each viewer in its own browser
 * instance, measured one after the other (WebRTC, then HLS) and closed before the next. Everything is stopped
 * in `finally`, the encoder first (SIGKILL: a vanished publisher, as the ingest tests do).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { closeBrowsers, launchBrowser } from '../test/e2e/helpers/browser.js';
import { api, benchDir, figure, log, signIn, sleep, startServer, type Figure } from './common.js';

const W = 1280;
const H = 720;
const FPS = 30;
const COLS = 8;
const ROWS = 6;

/** One yuv420p frame: the luma plane carries `ts` as patternCamera.js draws it, chroma neutral. */
function patternFrame(frame: Buffer, ts: number, n: number): void {
  const bytes: number[] = [];
  let v = ts % 2 ** 40;
  for (let i = 0; i < 5; i++) {
    bytes.push(v % 256);
    v = Math.floor(v / 256);
  }
  bytes.push(bytes.reduce((a, b) => a + b, 0) % 256);
  const bits: number[] = [];
  for (const b of bytes) for (let i = 7; i >= 0; i--) bits.push((b >> i) & 1);
  const gh = Math.round(H * 0.75);
  frame.fill(128, 0, W * H);
  for (let r = 0; r < ROWS; r++) {
    const y0 = Math.round((r * gh) / ROWS);
    const y1 = Math.round(((r + 1) * gh) / ROWS);
    for (let c = 0; c < COLS; c++) {
      const x0 = Math.round((c * W) / COLS);
      const x1 = Math.round(((c + 1) * W) / COLS);
      const luma = bits[r * COLS + c] ? 235 : 16;
      for (let y = y0; y < y1; y++) frame.fill(luma, y * W + x0, y * W + x1);
    }
  }
  // A moving bar below the pattern, so every frame differs (as in patternCamera.js).
  const bx = (n * 7) % W;
  for (let y = gh; y < H; y++) frame.fill(200, y * W + bx, y * W + Math.min(W, bx + W / 20));
}

/** ffmpeg reading this process's pattern frames at 30 fps and publishing them as OBS would. */
function startPatternEncoder(url: string): { child: ChildProcess; stop(): void } {
  const child = spawn(
    'ffmpeg',
    [
      '-hide_banner', '-nostats', '-loglevel', 'error',
      '-use_wallclock_as_timestamps', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${W}x${H}`, '-r', String(FPS), '-i', 'pipe:0',
      '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      // OBS's defaults: x264 veryfast, high profile, B-frames 2, keyframe every 2 s, CBR 2500k, AAC 48 kHz.
      '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-bf', '2', '-g', String(FPS * 2), '-pix_fmt', 'yuv420p',
      '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '2500k', '-vsync', 'passthrough',
      '-c:a', 'aac', '-ar', '48000', '-ac', '2', '-b:a', '128k',
      '-f', 'flv', url,
    ],
    { stdio: ['pipe', 'ignore', 'inherit'] },
  );
  const frame = Buffer.alloc((W * H * 3) / 2, 128);
  let n = 0;
  let busy = false;
  child.stdin!.on('error', () => undefined); // the encoder killed at the end
  const timer = setInterval(() => {
    if (busy) return; // the pipe is full: skip a frame rather than queue stale timestamps
    patternFrame(frame, Date.now(), n++);
    busy = !child.stdin!.write(Buffer.from(frame));
    if (busy) child.stdin!.once('drain', () => (busy = false));
  }, 1000 / FPS);
  return {
    child,
    stop: () => {
      clearInterval(timer);
      child.kill('SIGKILL');
    },
  };
}

type Bench = { firstFrameMs: number | null; samples: { lat: number; h: number }[]; bad: number };
const benchOf = (page: Page) => page.evaluate(() => (window as unknown as { __bench: Bench }).__bench);

/** Opens `/watch/:id<query>` in its own browser, waits for readable frames, then samples for `seconds`. */
async function watch(url: string, watchPath: string, seconds: number): Promise<{ lat: number[]; bad: number; mode: string }> {
  const ctx = await launchBrowser(url);
  await ctx.addInitScript({ path: path.join(benchDir, 'browser', 'latencyProbe.js') });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  await page.goto(watchPath);
  await page.waitForFunction(() => ((window as unknown as { __bench: Bench }).__bench.samples.length ?? 0) > 30, null, { timeout: 90_000 });
  await sleep(3000);
  const before = (await benchOf(page)).samples.length;
  await sleep(seconds * 1000);
  const b = await benchOf(page);
  const mode = await page.evaluate(() => (window as unknown as { __onair?: { mode?: string } }).__onair?.mode ?? '?');
  await closeBrowsers();
  return { lat: b.samples.slice(before).map((x) => x.lat), bad: b.bad, mode };
}

/** RTMP (OBS defaults, 720p30) → WebRTC viewer and → hls.js viewer, glass-to-glass. */
export async function measureIngestGlassToGlass(seconds: number): Promise<Figure[]> {
  const s = await startServer({ ONAIR_HLS: 'on' });
  let encoder: ReturnType<typeof startPatternEncoder> | undefined;
  try {
    const { token } = await signIn(s);
    const st = await api<{ id: string; streamKey: string }>(s, 'POST', '/api/streams', token, { title: 'bench RTMP glass-to-glass' });
    encoder = startPatternEncoder(`rtmp://127.0.0.1:${s.ingest.rtmpPort}/live/${st.streamKey}`);
    const load0 = os.loadavg()[0]!;
    const webrtc = await watch(s.url, `/watch/${st.id}?mode=webrtc`, seconds);
    log(`  RTMP → WebRTC (${webrtc.mode}): ${webrtc.lat.length} frames read, ${webrtc.bad} unreadable`);
    const hls = await watch(s.url, `/watch/${st.id}?mode=hls`, seconds);
    log(`  RTMP → HLS (${hls.mode}): ${hls.lat.length} frames read, ${hls.bad} unreadable`);
    const load1 = os.loadavg()[0]!;
    const load = ` [load avg ${load0.toFixed(0)}–${load1.toFixed(0)} on ${os.cpus().length} cores]`;
    const what = 'RTMP 720p30 x264 high + B-frames (OBS defaults)';
    return [
      figure(`Ingest glass-to-glass: ${what} → WebRTC viewer in Chromium${load}`, 'ms', webrtc.lat),
      figure(`Ingest glass-to-glass: ${what} → HLS viewer (hls.js, LL-HLS default ladder)${load}`, 'ms', hls.lat),
    ];
  } finally {
    encoder?.stop();
    await closeBrowsers();
    await s.close();
  }
}
