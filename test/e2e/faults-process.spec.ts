/**
 * The OnAir process itself stops while a stream is live, each test on an OnAir server of its own
 * (helpers/ownServer.ts), restarted on the same port and data directory as a service manager would:
 * - SIGKILL: nothing is finished, yet after the restart the catalogue and the recordings are intact (SQLite
 *   in WAL mode), the stream that was live says it ended and its recording says it was interrupted, the HLS
 *   files are whole, ffmpeg orphans are gone; then the clients reconnect by themselves: the studio goes live
 *   again on the same stream, and its viewer plays it, without a reload.
 * - SIGTERM: a graceful drain: viewers are told the broadcast ended, the recording is finished (ENDLIST) and
 *   ready, and the process exits 0.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import type { StreamList } from '../../shared/api.js';
import { closeBrowsers } from './helpers/browser.js';
import {
  expectPlayableRecording,
  expectSameDocument,
  fetchText,
  finishedRecordings,
  liveBroadcast,
  liveHlsSession,
  reportRecovery,
  segmentsOf,
} from './helpers/faults.js';
import { currentSource, recoveryAfter } from './helpers/frameClock.js';
import { getJson, getStream, MEDIA_TIMEOUT, playerHistory, playerState, studioHistory, studioState } from './helpers/onair.js';
import { OwnServer, processAlive } from './helpers/ownServer.js';

let server: OwnServer | undefined;

test.afterEach(async ({}, info) => {
  await closeBrowsers();
  await server?.dispose(info);
  server = undefined;
});

/** Waits until the live session has written a few segments, so that there is a recording to check. */
async function recordingSomething(s: OwnServer, streamId: string, session: string): Promise<void> {
  await expect
    .poll(async () => segmentsOf(await fetchText(s, `/hls/${streamId}/${session}/r0.m3u8`)).length, { timeout: MEDIA_TIMEOUT })
    .toBeGreaterThanOrEqual(3);
}

test('SIGKILL and restart: catalogue and recordings intact, the live stream honestly ended, clients come back', async () => {
  server = await OwnServer.start();
  const { stream, studio, viewers } = await liveBroadcast(server, 'Server crash', 1);
  const viewer = viewers[0]!;
  const session = await liveHlsSession(server, stream.id);
  await recordingSomething(server, stream.id, session);
  const children = server.children();
  expect(children.map((c) => c.name).sort()).toEqual(['ffmpeg', 'mediasoup-worker']);
  const source = await currentSource(viewer);

  const killedAt = Date.now();
  expect(await server.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
  // Keep the studio away until the catalogue is checked (its reconnection would start a new broadcast).
  await studio.context().setOffline(true);
  await expect(viewer.getByTestId('player')).toHaveAttribute('data-state', 'reconnecting');
  await expect.poll(() => studioState(studio)).toBe('reconnecting');

  await server.restart();
  reportRecovery('server ready again after SIGKILL (restart included)', Date.now() - killedAt);
  // The old media processes are gone: mediasoup workers exit with their parent, the orphan ffmpeg is killed at start.
  for (const child of children) expect(processAlive(child.pid), `${child.name} ${child.pid} still runs`).toBe(false);

  // The catalogue: the stream is there, no longer live, with its end time; its recording is interrupted but whole.
  const crashed = await getStream(stream.id, server.baseURL);
  expect(crashed).toMatchObject({ id: stream.id, title: 'Server crash', status: 'ended' });
  expect(crashed.endedAt).not.toBeNull();
  expect((await getJson<StreamList>('/api/streams?status=ended', server.baseURL)).streams.map((s) => s.id)).toContain(stream.id);
  const [recording, ...others] = await finishedRecordings(server, stream.id);
  expect(others).toEqual([]);
  expect(recording).toMatchObject({ id: session, status: 'interrupted' });
  expect(recording!.durationSeconds).toBeGreaterThan(0);
  await expectPlayableRecording(server, recording!);

  // The viewer's socket came back by itself to a stream that has ended: it says so.
  await expect(viewer.getByTestId('player')).toHaveAttribute('data-state', 'ended', { timeout: MEDIA_TIMEOUT });

  // The studio's network returns: it goes live again on the same stream, and the viewer plays it.
  await studio.context().setOffline(false);
  const backAt = Date.now();
  reportRecovery('viewer video back after the studio reconnected', await recoveryAfter(viewer, source, backAt));
  await expect.poll(() => studioState(studio), { timeout: MEDIA_TIMEOUT }).toBe('live');
  expect(await studioHistory(studio)).toEqual(expect.arrayContaining(['live', 'reconnecting']));
  expect(await playerState(viewer)).toBe('live');
  expect(await playerHistory(viewer)).toEqual(expect.arrayContaining(['reconnecting', 'ended', 'live']));
  expect((await getStream(stream.id, server.baseURL)).status).toBe('live');
  // A new session (and recording): the interrupted one stays as it was.
  expect(await liveHlsSession(server, stream.id)).not.toBe(session);
  for (const page of [studio, viewer]) await expectSameDocument(page);
});

test('SIGTERM: viewers are told, the recording is finished with ENDLIST, the process exits 0', async () => {
  server = await OwnServer.start();
  const { stream, studio, viewers } = await liveBroadcast(server, 'Maintenance', 1);
  const viewer = viewers[0]!;
  const session = await liveHlsSession(server, stream.id);
  await recordingSomething(server, stream.id, session);
  const children = server.children();

  const termAt = Date.now();
  expect(await server.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  reportRecovery('graceful stop (SIGTERM to exit)', Date.now() - termAt);
  // The mediasoup workers exit a moment after their parent closed their channels.
  for (const child of children) await expect.poll(() => processAlive(child.pid), { message: `${child.name} ${child.pid} still runs` }).toBe(false);

  // Everyone was told before the connections closed.
  await expect(viewer.getByTestId('player')).toHaveAttribute('data-state', 'ended');
  await expect(viewer.getByText('This broadcast has ended.')).toBeVisible();
  await expect.poll(() => studioState(studio)).toBe('ended');
  for (const page of [studio, viewer]) await expectSameDocument(page);

  // The session is marked ended and its segments are on disk (the journal) before the process exited.
  const dir = path.join(server.dataDir, 'hls', stream.id, session);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8')) as { ended: boolean; epochs: string[] };
  expect(manifest.ended).toBe(true);
  expect(fs.readFileSync(path.join(dir, 'r0.jsonl'), 'utf8')).toMatch(/"msn":\d+/);

  // After a restart: the recording is ready (finished by the drain, not recovered as interrupted).
  await server.restart();
  expect((await getStream(stream.id, server.baseURL)).status).toBe('ended');
  const recordings = await finishedRecordings(server, stream.id);
  expect(recordings.map((r) => [r.id, r.status])).toEqual([[session, 'ready']]);
  await expectPlayableRecording(server, recordings[0]!);
  // The viewer reconnects by itself and stays honest: the broadcast has ended.
  await expect.poll(() => playerState(viewer)).toBe('ended');
});
