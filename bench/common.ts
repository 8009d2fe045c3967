/** What the benchmark modules share: progress lines, figures, a bench server, its API, the studio page, /proc CPU. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from '@playwright/test';
import { startOnAir, type OnAir } from '../server/app.js';
import { loadConfig } from '../server/config/config.js';
import { createLogger } from '../server/log/logger.js';
import { launchBrowser } from '../test/e2e/helpers/browser.js';

export const benchDir = path.dirname(fileURLToPath(import.meta.url));

export const log = (msg: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Figure {
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

/** The `p` quantile (0..1) of ascending `sorted` values: the value below which a share `p` of them lie. */
const quantileOfSorted = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

/** The `p` quantile (0..1) of `values`, in any order. */
export const quantile = (values: readonly number[], p: number) => quantileOfSorted([...values].sort((a, b) => a - b), p);

export function figure(name: string, unit: string, values: number[], target?: string): Figure {
  const v = [...values].sort((a, b) => a - b);
  const q = (p: number) => quantileOfSorted(v, p / 100);
  const r = (x: number) => Math.round(x * 10) / 10;
  return { name, unit, n: v.length, p50: r(q(50)), p95: r(q(95)), p99: r(q(99)), min: r(v[0] ?? NaN), max: r(v.at(-1) ?? NaN), ...(target ? { target } : {}) };
}

export const BENCH_ADMIN_PASSWORD = 'bench-password-1';

export async function startServer(env: Record<string, string> = {}): Promise<OnAir> {
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    ONAIR_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'onair-bench-')),
    ONAIR_RTC_PORT: '0',
    ONAIR_RTMP_PORT: '0',
    ONAIR_SRT_PORT: 'off',
    ONAIR_RTC_LISTEN_IP: '127.0.0.1',
    ONAIR_WORKERS: '1',
    ONAIR_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD,
    // The HLS bridge would compete with the browsers for the CPU: the WebRTC figures are measured without it.
    ONAIR_HLS: 'off',
    LOG_LEVEL: 'warn',
    ...env,
  });
  return startOnAir(config, createLogger(config.logLevel));
}

export async function api<T>(s: Pick<OnAir, 'url'>, method: string, p: string, token?: string, body?: unknown): Promise<T> {
  const res = await fetch(s.url + p, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : null,
  });
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** The admin's login (token + the session object the studio keeps in sessionStorage). */
export const signIn = (s: Pick<OnAir, 'url'>) => api<{ token: string }>(s, 'POST', '/api/auth/login', undefined, { username: 'admin', password: BENCH_ADMIN_PASSWORD });

/** The studio, signed in, with the pattern camera at `height`, live on `streamId`. */
export async function studio(s: Pick<OnAir, 'url'>, session: unknown, streamId: string, height: number): Promise<{ ctx: BrowserContext; page: Page; goLive(): Promise<number> }> {
  const ctx = await launchBrowser(s.url);
  await ctx.addInitScript(
    ([sess, h]) => {
      sessionStorage.setItem('onair.session', sess as string);
      (window as unknown as { __benchHeight: number }).__benchHeight = h as number;
    },
    [JSON.stringify(session), height],
  );
  await ctx.addInitScript({ path: path.join(benchDir, 'browser', 'patternCamera.js') });
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

/** CPU seconds (user + system) a process has used, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}
