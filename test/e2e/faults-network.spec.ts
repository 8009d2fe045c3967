/**
 * The broadcaster's network drops, each test on an OnAir server of its own (helpers/ownServer.ts). The
 * studio's browser goes offline (no HTTP, no WebSocket can connect) and its signaling connection is closed,
 * which closes its WebRTC transport: everything it sends stops, as on a dead network.
 * - The network comes back within the grace period: the same stream resumes, viewers show "Reconnecting…"
 *   and then play again, without a reload.
 * - It does not: when the grace period (ONAIR_RECONNECT_GRACE_MS) is over the stream ends cleanly.
 */
import { expect, test, type Page } from '@playwright/test';
import { closeBrowsers } from './helpers/browser.js';
import {
  expectPlayableRecording,
  expectSameDocument,
  finishedRecordings,
  liveBroadcast,
  liveHlsSession,
  reportRecovery,
} from './helpers/faults.js';
import { currentSource, recoveryAfter } from './helpers/frameClock.js';
import { expectAudioReceived, getStream, MEDIA_TIMEOUT, playerHistory, playerState, studioHistory, studioState } from './helpers/onair.js';
import { OwnServer } from './helpers/ownServer.js';

/** The longest outage the broadcast rides out (the "up to 10 s"); the grace period is longer. */
const OUTAGE_MS = 10_000;

let server: OwnServer | undefined;

test.afterEach(async ({}, info) => {
  await closeBrowsers();
  await server?.dispose(info);
  server = undefined;
});

/** The studio's network goes down: nothing can connect, and its open connection is cut. */
async function dropNetwork(studio: Page): Promise<void> {
  await studio.context().setOffline(true);
  await studio.evaluate(() => window.__studio?.dropConnection());
}

test('the broadcaster is offline for 10 s: the same stream resumes and viewers play again', async () => {
  server = await OwnServer.start({ ONAIR_RECONNECT_GRACE_MS: String(OUTAGE_MS + 5000) });
  const { stream, studio, viewers } = await liveBroadcast(server, 'Network drop', 2);
  const session = await liveHlsSession(server, stream.id);
  const sources = await Promise.all(viewers.map(currentSource));

  const droppedAt = Date.now();
  await dropNetwork(studio);
  for (const viewer of viewers) {
    await expect(viewer.getByTestId('player')).toHaveAttribute('data-state', 'reconnecting');
    await expect(viewer.getByText('Reconnecting…')).toBeVisible();
  }
  expect(await studioState(studio)).toBe('reconnecting');
  // The outage lasts its full length (a fault's duration, not a wait for a state).
  await studio.waitForTimeout(Math.max(0, droppedAt + OUTAGE_MS - Date.now()));
  expect((await getStream(stream.id, server.baseURL)).status).toBe('live');
  for (const viewer of viewers) expect(await playerState(viewer)).toBe('reconnecting');

  await studio.context().setOffline(false);
  const backAt = Date.now();
  const recoveries = await Promise.all(viewers.map((viewer, i) => recoveryAfter(viewer, sources[i]!, backAt)));
  recoveries.forEach((ms, i) => reportRecovery(`viewer ${i + 1} video back after the network returned`, ms));

  await expect.poll(() => studioState(studio), { timeout: MEDIA_TIMEOUT }).toBe('live');
  expect(await studioHistory(studio)).toEqual(expect.arrayContaining(['live', 'reconnecting']));
  for (const viewer of viewers) {
    await expect.poll(() => playerState(viewer)).toBe('live');
    await expectAudioReceived(viewer);
    expect((await playerHistory(viewer)).slice(1)).not.toContain('ended');
  }
  for (const page of [studio, ...viewers]) await expectSameDocument(page);
  // The same broadcast: still live, still the same recording.
  expect((await getStream(stream.id, server.baseURL)).status).toBe('live');
  expect(await liveHlsSession(server, stream.id)).toBe(session);
});

test('a broadcaster who does not come back within the grace period: the stream ends cleanly', async () => {
  server = await OwnServer.start({ ONAIR_RECONNECT_GRACE_MS: '4000' });
  const { stream, studio, viewers } = await liveBroadcast(server, 'Gone for good', 1);
  const viewer = viewers[0]!;
  const session = await liveHlsSession(server, stream.id);
  // One stream, one HLS ffmpeg (a thumbnail's short ffmpeg may run beside it for a moment).
  await expect.poll(() => server!.pidsOf('ffmpeg').length).toBe(1);

  const droppedAt = Date.now();
  await dropNetwork(studio);
  await expect(viewer.getByTestId('player')).toHaveAttribute('data-state', 'reconnecting');
  await expect(viewer.getByTestId('player')).toHaveAttribute('data-state', 'ended', { timeout: MEDIA_TIMEOUT });
  reportRecovery('viewer told the broadcast ended (grace period 4000 ms)', Date.now() - droppedAt);
  await expect(viewer.getByText('This broadcast has ended.')).toBeVisible();
  await expectSameDocument(viewer);

  const ended = await getStream(stream.id, server.baseURL);
  expect(ended.status).toBe('ended');
  expect(ended.endedAt).not.toBeNull();
  // Ended cleanly: ffmpeg stopped, the recording finished (not interrupted) and complete.
  await expect.poll(() => server!.pidsOf('ffmpeg')).toEqual([]);
  const recordings = await finishedRecordings(server, stream.id);
  expect(recordings.map((r) => [r.id, r.status])).toEqual([[session, 'ready']]);
  await expectPlayableRecording(server, recordings[0]!);
});
