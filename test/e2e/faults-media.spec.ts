/**
 * Faults of the media processes while a stream is live, each on an OnAir server of its own (helpers/
 * ownServer.ts) with a studio and viewers in their own Chromium:
 * - a mediasoup worker is killed: the pool replaces it, the studio republishes, viewers resubscribe, all
 *   without a reload and on the same stream; HLS and the recording go on after a discontinuity;
 * - ffmpeg is killed: HLS resumes in a new epoch of the same recording; WebRTC viewers never notice.
 * Recovery times are measured (annotations `recovery-ms`, and the console) but only bounded generously:
 * speed is the benchmarks' business.
 */
import { expect, test } from '@playwright/test';
import { closeBrowsers } from './helpers/browser.js';
import {
  expectPlayableRecording,
  expectSameDocument,
  fetchText,
  finishedRecordings,
  liveBroadcast,
  liveHlsSession,
  markDocument,
  playlistEntries,
  reportRecovery,
  segmentsOf,
} from './helpers/faults.js';
import { currentSource, recoveryAfter, startFrameClock } from './helpers/frameClock.js';
import {
  expectAudioReceived,
  expectTimeAdvancing,
  expectVideoPlaying,
  getStream,
  MEDIA_TIMEOUT,
  openViewer,
  playbackStats,
  playerHistory,
  playerMode,
  playerState,
  studioHistory,
  studioState,
} from './helpers/onair.js';
import { OwnServer } from './helpers/ownServer.js';

let server: OwnServer | undefined;

test.afterEach(async ({}, info) => {
  await closeBrowsers();
  await server?.dispose(info);
  server = undefined;
});

/**
 * The ffmpeg runs of a rendition playlist, in order: each run's init segment (`EXT-X-MAP`, "r0_i<n>.mp4", a new
 * one per ffmpeg run) and the numbers of the full segments listed under it ("r0_s<msn>.m4s").
 */
function runsOf(playlist: string): { init: string; segments: number[] }[] {
  const runs: { init: string; segments: number[] }[] = [];
  for (const line of playlist.split('\n').map((l) => l.trim())) {
    const map = /^#EXT-X-MAP:URI="([^"?]+)/.exec(line);
    if (map) runs.push({ init: map[1]!, segments: [] });
    const segment = /^r0_s(\d+)\.m4s/.exec(line);
    if (segment) runs.at(-1)?.segments.push(Number(segment[1]));
  }
  return runs;
}

/** The ffmpeg run (its init segment's name) of the newest full segment in the live rendition playlist. */
async function newestEpoch(s: OwnServer, streamId: string, session: string): Promise<string | undefined> {
  return runsOf(await fetchText(s, `/hls/${streamId}/${session}/r0.m3u8`))
    .filter((r) => r.segments.length > 0)
    .at(-1)?.init;
}

/** Waits until the live playlist lists segments of an ffmpeg run after `epoch`; returns when (Date.now()). */
async function hlsResumedAfter(s: OwnServer, streamId: string, session: string, epoch: string): Promise<number> {
  await expect
    .poll(() => newestEpoch(s, streamId, session), { timeout: 20_000, intervals: [100], message: `HLS segments after epoch ${epoch}` })
    .not.toBe(epoch);
  return Date.now();
}

/** Waits until the live playlist has a few segments; returns the ffmpeg run they belong to. */
async function hlsRunning(s: OwnServer, streamId: string, session: string): Promise<string> {
  await expect
    .poll(async () => segmentsOf(await fetchText(s, `/hls/${streamId}/${session}/r0.m3u8`)).length, { timeout: MEDIA_TIMEOUT })
    .toBeGreaterThanOrEqual(3);
  return (await newestEpoch(s, streamId, session))!;
}

test('a killed mediasoup worker is replaced; studio and viewers recover by themselves on the same stream', async () => {
  server = await OwnServer.start();
  const { stream, studio, viewers } = await liveBroadcast(server, 'Worker crash', 2);
  const session = await liveHlsSession(server, stream.id);
  const epoch = await hlsRunning(server, stream.id, session);
  const [worker, ...others] = server.pidsOf('mediasoup-worker');
  expect(others, 'ONAIR_WORKERS=1: one worker').toEqual([]);
  const sources = await Promise.all(viewers.map(currentSource));

  const killedAt = Date.now();
  process.kill(worker!, 'SIGKILL');

  const [hlsBackAt, ...recoveries] = await Promise.all([
    hlsResumedAfter(server, stream.id, session, epoch),
    ...viewers.map((viewer, i) => recoveryAfter(viewer, sources[i]!, killedAt)),
  ]);
  recoveries.forEach((ms, i) => reportRecovery(`viewer ${i + 1} video back after the worker was killed`, ms));
  reportRecovery('HLS segments back after the worker was killed', hlsBackAt - killedAt);

  // The pool replaced the worker, and the server is ready again.
  const replacement = server.pidsOf('mediasoup-worker');
  expect(replacement).toHaveLength(1);
  expect(replacement[0]).not.toBe(worker);
  expect((await fetch(`${server.baseURL}/readyz`)).status).toBe(200);

  // The studio republished into the same stream; the viewers resubscribed; nobody reloaded.
  expect(await studioHistory(studio)).toContain('reconnecting');
  expect(await studioState(studio)).toBe('live');
  expect(await studio.getByTestId('stream-select').inputValue()).toBe(stream.id);
  for (const viewer of viewers) {
    await expect.poll(() => playerState(viewer)).toBe('live');
    await expectVideoPlaying(viewer);
    await expectAudioReceived(viewer);
    expect(viewer.url()).toBe(`${server.baseURL}/watch/${stream.id}`);
    expect((await playerHistory(viewer)).slice(1)).not.toContain('ended');
  }
  for (const page of [studio, ...viewers]) await expectSameDocument(page);
  expect((await getStream(stream.id, server.baseURL)).status).toBe('live');

  // HLS went on in the same session: the same recording, after a discontinuity.
  expect(await liveHlsSession(server, stream.id)).toBe(session);
  await studio.getByRole('button', { name: 'End broadcast' }).click();
  await expect(studio.getByTestId('studio-state')).toHaveAttribute('data-state', 'ended');
  const recordings = await finishedRecordings(server, stream.id);
  expect(recordings.map((r) => [r.id, r.status])).toEqual([[session, 'ready']]);
  const playlist = await expectPlayableRecording(server, recordings[0]!);
  expect(playlist).toContain('#EXT-X-DISCONTINUITY');
});

test('a killed ffmpeg is restarted: HLS resumes in the same recording, WebRTC viewers do not notice', async () => {
  server = await OwnServer.start();
  const { stream, studio, viewers } = await liveBroadcast(server, 'ffmpeg crash', 1);
  const webrtcViewer = viewers[0]!;
  const session = await liveHlsSession(server, stream.id);
  const hlsViewer = await openViewer('HLS viewer', `/watch/${stream.id}?mode=hls`, server.baseURL);
  await expect.poll(() => playerState(hlsViewer), { timeout: MEDIA_TIMEOUT }).toBe('live');
  expect(await playerMode(hlsViewer)).toBe('hls');
  await expectTimeAdvancing(hlsViewer);
  await startFrameClock(hlsViewer);
  await markDocument(hlsViewer);
  const epoch = await hlsRunning(server, stream.id, session);
  // One stream, one HLS ffmpeg (a thumbnail's short ffmpeg may run beside it for a moment).
  await expect.poll(() => server!.pidsOf('ffmpeg').length, { message: 'one stream: one ffmpeg' }).toBe(1);
  const [ffmpeg] = server.pidsOf('ffmpeg');
  const webrtcSource = await currentSource(webrtcViewer);
  const hlsPositionAtKill = (await playbackStats(hlsViewer)).currentTime;

  const killedAt = Date.now();
  process.kill(ffmpeg!, 'SIGKILL');
  const resumedAt = await hlsResumedAfter(server, stream.id, session, epoch);
  reportRecovery('HLS segments back after ffmpeg was killed', resumedAt - killedAt);
  await expect.poll(() => server!.pidsOf('ffmpeg').length).toBe(1);
  expect(server.pidsOf('ffmpeg')[0]).not.toBe(ffmpeg);

  // The HLS viewer plays on past the gap, without reloading (its buffer held less than 8 s).
  await expect.poll(async () => (await playbackStats(hlsViewer)).currentTime, { timeout: MEDIA_TIMEOUT }).toBeGreaterThan(hlsPositionAtKill + 8);
  const stall = await hlsViewer.evaluate((since) => {
    const at = (window.__frames ?? []).map((f) => f.at).filter((t) => t >= since);
    return Math.max(0, ...at.slice(1).map((t, i) => t - at[i]!));
  }, killedAt);
  reportRecovery('longest freeze of the HLS viewer after ffmpeg was killed', stall);
  expect(await playerState(hlsViewer)).toBe('live');

  // WebRTC does not go through ffmpeg: the same tracks play on.
  expect(await currentSource(webrtcViewer)).toBe(webrtcSource);
  await expectVideoPlaying(webrtcViewer);
  for (const page of [studio, webrtcViewer, hlsViewer]) await expectSameDocument(page);
  expect(await studioState(studio)).toBe('live');

  // One recording, complete apart from the gap: the ffmpeg runs before and after the kill, each with its own
  // init segment and every segment it finished (consecutive numbers, going on from the run before), a
  // discontinuity between them.
  await studio.getByRole('button', { name: 'End broadcast' }).click();
  await expect(studio.getByTestId('studio-state')).toHaveAttribute('data-state', 'ended');
  const recordings = await finishedRecordings(server, stream.id);
  expect(recordings.map((r) => [r.id, r.status])).toEqual([[session, 'ready']]);
  const playlist = await expectPlayableRecording(server, recordings[0]!);
  const runs = runsOf(playlist);
  expect(runs.map((r) => r.init)).toContain(epoch);
  expect(runs.length).toBeGreaterThanOrEqual(2);
  for (const { segments } of runs) expect(segments).toEqual(segments.map((_, i) => segments[0]! + i));
  const numbers = runs.flatMap((r) => r.segments);
  expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
  expect(playlistEntries(playlist).filter((e) => e === '#EXT-X-DISCONTINUITY')).toHaveLength(runs.length - 1);
});
