/**
 * What the end-to-end tests do with OnAir: its address, the HTTP API (sign in, create streams), and the
 * pages (studio, watch) driven through their UI and their debug hooks (window.__studio, window.__onair).
 * Everything talks to the main server unless given another one's base URL (helpers/address.ts).
 */
import { expect, type Page } from '@playwright/test';
import type { CreateStreamBody, LoginResponse, OwnedStream } from '../../../shared/api.js';
import type { PlayerState } from '../../../client/player/Player.js';
import type { PlaybackMode } from '../../../client/player/delivery.js';
import type { PlaybackStats } from '../../../client/player/playbackStats.js';
import type { BroadcastState } from '../../../client/studio/Broadcaster.js';
import { BASE_URL } from './address.js';
import { newPage } from './browser.js';

export { BASE_URL };
export const ADMIN = { username: 'admin', password: 'admin-password-1' };

/** Media takes a few seconds on a loaded 2-core machine: poll generously. */
export const MEDIA_TIMEOUT = 30_000;

async function apiCall<T>(method: string, path: string, opts: { token?: string; body?: unknown; base?: string } = {}): Promise<T> {
  const res = await fetch((opts.base ?? BASE_URL) + path, {
    method,
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: opts.body === undefined ? null : JSON.stringify(opts.body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function login(base = BASE_URL): Promise<string> {
  return (await apiCall<LoginResponse>('POST', '/api/auth/login', { body: ADMIN, base })).token;
}

export function createStream(token: string, body: CreateStreamBody, base = BASE_URL): Promise<OwnedStream> {
  return apiCall<OwnedStream>('POST', '/api/streams', { token, body, base });
}

export function getStream(id: string, base = BASE_URL): Promise<OwnedStream> {
  return apiCall<OwnedStream>('GET', `/api/streams/${id}`, { base });
}

export function getJson<T>(path: string, base = BASE_URL): Promise<T> {
  return apiCall<T>('GET', path, { base });
}

/** The studio in its own browser, signed in through the sign-in form, with `streamId` selected. */
export async function openStudio(streamId: string, base = BASE_URL): Promise<Page> {
  const page = await newPage('studio', base);
  await signInStudio(page, streamId);
  return page;
}

/** Opens the studio in `page` (one the caller made: pinned to a node, or watched) and signs in as the admin. */
export async function signInStudio(page: Page, streamId: string): Promise<void> {
  await page.goto(`/studio?stream=${streamId}`);
  await page.getByLabel('Username').fill(ADMIN.username);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('stream-select')).toHaveValue(streamId);
}

/** Clicks "Go live" and waits until the studio says it is live. */
export async function goLive(studio: Page): Promise<void> {
  await studio.getByRole('button', { name: 'Go live' }).click();
  await expect(studio.getByTestId('studio-state')).toHaveAttribute('data-state', 'live', { timeout: MEDIA_TIMEOUT });
}

export function studioState(studio: Page): Promise<BroadcastState | undefined> {
  return studio.evaluate(() => window.__studio?.state);
}

export function studioHistory(studio: Page): Promise<BroadcastState[]> {
  return studio.evaluate(() => [...(window.__studio?.history ?? [])]);
}

/** A viewer in its own browser on /watch/:id (or another path, e.g. /embed/:id). */
export async function openViewer(label: string, path: string, base = BASE_URL): Promise<Page> {
  const page = await newPage(label, base);
  await page.goto(path);
  return page;
}

export function playerState(page: Page): Promise<PlayerState | undefined> {
  return page.evaluate(() => window.__onair?.state);
}

export function playerMode(page: Page): Promise<PlaybackMode | undefined> {
  return page.evaluate(() => window.__onair?.mode);
}

export function playerHistory(page: Page): Promise<PlayerState[]> {
  return page.evaluate(() => [...(window.__onair?.history ?? [])]);
}

export function playbackStats(page: Page): Promise<PlaybackStats> {
  return page.evaluate(() => {
    if (!window.__onair) throw new Error('no player on this page');
    return window.__onair.stats();
  });
}

/** The viewer shows decoded video: a frame size, and more frames decoded than a moment ago. */
export async function expectVideoPlaying(page: Page): Promise<void> {
  await expect.poll(async () => (await playbackStats(page)).videoWidth, { timeout: MEDIA_TIMEOUT }).toBeGreaterThan(0);
  const before = (await playbackStats(page)).framesDecoded;
  await expect.poll(async () => (await playbackStats(page)).framesDecoded, { timeout: MEDIA_TIMEOUT }).toBeGreaterThan(before + 10);
}

/** The player's <video> moves on: its position advances by more than `seconds` (HLS or WebRTC alike). */
export async function expectTimeAdvancing(page: Page, seconds = 2): Promise<void> {
  await expect.poll(async () => (await playbackStats(page)).currentTime, { timeout: MEDIA_TIMEOUT }).toBeGreaterThan(0);
  const before = (await playbackStats(page)).currentTime;
  await expect.poll(async () => (await playbackStats(page)).currentTime, { timeout: MEDIA_TIMEOUT }).toBeGreaterThan(before + seconds);
}

/** The viewer receives audio: packets keep arriving (or it reports a level). */
export async function expectAudioReceived(page: Page): Promise<void> {
  const before = (await playbackStats(page)).audioPacketsReceived;
  await expect
    .poll(
      async () => {
        const s = await playbackStats(page);
        return s.audioPacketsReceived > before || s.audioLevel > 0;
      },
      { timeout: MEDIA_TIMEOUT },
    )
    .toBe(true);
}
