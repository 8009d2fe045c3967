/**
 * What the fault tests share: a live broadcast on an own server with viewers, a mark that a page reload
 * would erase, the recovery times they report, and the checks of a session's HLS files.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import type { OwnedStream, Recording, RecordingList } from '../../../shared/api.js';
import { startFrameClock } from './frameClock.js';
import { createStream, expectVideoPlaying, getJson, goLive, login, openStudio, openViewer } from './onair.js';
import type { OwnServer } from './ownServer.js';

export interface LiveBroadcast {
  stream: OwnedStream;
  token: string;
  studio: Page;
  viewers: Page[];
}

/**
 * A studio live on `server` (fake camera at 360p: the machine is small) and `viewerCount` viewers on
 * /watch/:id playing it, each with its frames logged and its document marked.
 */
export async function liveBroadcast(server: OwnServer, title: string, viewerCount: number): Promise<LiveBroadcast> {
  const base = server.baseURL;
  const token = await login(base);
  const stream = await createStream(token, { title }, base);
  const studio = await openStudio(stream.id, base);
  await studio.locator('#camera-height').selectOption('360');
  await goLive(studio);
  const viewers: Page[] = [];
  for (let i = 1; i <= viewerCount; i++) viewers.push(await openViewer(`viewer ${i}`, `/watch/${stream.id}`, base));
  for (const viewer of viewers) {
    await expectVideoPlaying(viewer);
    await startFrameClock(viewer);
  }
  for (const page of [studio, ...viewers]) await markDocument(page);
  return { stream, token, studio, viewers };
}

/** Sets a mark on the page's window: it survives anything but a reload or a navigation. */
export async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => Object.assign(window, { __faultMark: true }));
}

export async function expectSameDocument(page: Page): Promise<void> {
  expect(await page.evaluate(() => (window as { __faultMark?: boolean }).__faultMark), 'the page was not reloaded').toBe(true);
}

/** Reports a measured recovery time: in the test's annotations (the JSON report) and on the console. */
export function reportRecovery(what: string, ms: number): void {
  test.info().annotations.push({ type: 'recovery-ms', description: `${what}: ${Math.round(ms)}` });
  console.log(`[recovery] ${test.info().title} — ${what}: ${Math.round(ms)} ms`);
}

/** A stream's recordings, once it has finished ones (a recording is listed once finished). */
export async function finishedRecordings(server: OwnServer, streamId: string): Promise<Recording[]> {
  const list = () => getJson<RecordingList>(`/api/recordings?streamId=${streamId}`, server.baseURL);
  await expect.poll(async () => (await list()).total, { timeout: 30_000, message: 'a finished recording' }).toBeGreaterThan(0);
  return (await list()).recordings;
}

/** The session id of the live HLS: the master playlist points into the session's folder. */
export async function liveHlsSession(server: OwnServer, streamId: string): Promise<string> {
  let session = '';
  await expect
    .poll(
      async () => {
        const res = await fetch(`${server.baseURL}/hls/${streamId}/master.m3u8`);
        session = res.ok ? (/^([A-Za-z0-9_-]{12})\/r0\.m3u8$/m.exec(await res.text())?.[1] ?? '') : '';
        return session;
      },
      { timeout: 30_000, message: 'the live HLS master playlist' },
    )
    .not.toBe('');
  return session;
}

/** Segment URIs of a media playlist, in order, with the #EXT-X-DISCONTINUITY lines kept as markers. */
export function playlistEntries(playlist: string): string[] {
  return playlist
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l === '#EXT-X-DISCONTINUITY' || (l !== '' && !l.startsWith('#')));
}

/** Segment URIs of a media playlist, in order ("e<k>/r<n>_<seq>.ts" for OnAir's). */
export const segmentsOf = (playlist: string): string[] => playlistEntries(playlist).filter((e) => !e.startsWith('#'));

/** GET a text resource of `server`, failing on any status but 200. */
export async function fetchText(server: OwnServer, urlPath: string): Promise<string> {
  const res = await fetch(server.baseURL + urlPath);
  if (!res.ok) throw new Error(`GET ${urlPath}: HTTP ${res.status}`);
  return res.text();
}

/**
 * A recording's HLS as served: the rendition playlist ends with #EXT-X-ENDLIST, every segment it lists is
 * served, and ffprobe finds H.264 video and AAC audio in the first and the last. Returns the playlist.
 */
export async function expectPlayableRecording(server: OwnServer, recording: Recording): Promise<string> {
  const dir = `/hls/${recording.streamId}/${recording.id}`;
  const playlist = await fetchText(server, `${dir}/r0.m3u8`);
  expect(playlist).toContain('#EXT-X-ENDLIST');
  const segments = segmentsOf(playlist);
  expect(segments.length).toBeGreaterThan(0);
  for (const segment of segments) {
    const res = await fetch(`${server.baseURL}${dir}/${segment}`, { method: 'HEAD' });
    expect(res.status, `segment ${segment}`).toBe(200);
  }
  const folder = path.join(server.dataDir, 'hls', recording.streamId, recording.id);
  for (const segment of [segments[0]!, segments.at(-1)!]) {
    // fMP4: a segment reads with the init segment (EXT-X-MAP) before it.
    const before = playlist.slice(0, playlist.indexOf(`\n${segment}`));
    const init = [...before.matchAll(/#EXT-X-MAP:URI="([^"?]+)/g)].at(-1)?.[1];
    expect(fs.existsSync(path.join(folder, segment)), segment).toBe(true);
    const input = init ? `concat:${path.join(folder, init)}|${path.join(folder, segment)}` : path.join(folder, segment);
    expect(probeCodecs(input), segment).toEqual(['aac', 'h264']);
  }
  return playlist;
}

/** The codecs ffprobe finds in a file, sorted (it fails on a file it cannot parse). */
export function probeCodecs(file: string): string[] {
  if (!file.startsWith('concat:')) expect(fs.existsSync(file), file).toBe(true);
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  // An MPEG-TS file lists its streams once per program too.
  return [...new Set(out.split('\n').map((l) => l.trim()).filter(Boolean))].sort();
}
