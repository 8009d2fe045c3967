/**
 * One stream's viewers on two mediasoup workers (server/live/ViewerRouters.ts), with real browsers: viewers
 * placed on the second worker play through an edge router piped from the broadcast's router, and when that
 * worker is killed they get new transports by themselves (`transport:closed`) while the broadcast goes on.
 * Runs on a server of its own (helpers/ownServer.ts): it kills one of its workers.
 */
import { execFileSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { closeBrowsers } from './helpers/browser.js';
import { expectSameDocument, liveBroadcast, reportRecovery } from './helpers/faults.js';
import { currentSource, recoveryAfter } from './helpers/frameClock.js';
import { expectTimeAdvancing, studioHistory, studioState } from './helpers/onair.js';
import { OwnServer } from './helpers/ownServer.js';

/** Worker i listens for WebRTC on RTC_PORT + i: the port tells which process is which worker. */
const RTC_PORT = 47310;

let server: OwnServer | undefined;

test.afterEach(async ({}, info) => {
  await closeBrowsers();
  await server?.dispose(info);
  server = undefined;
});

/** The pid of the process listening on UDP `port` (from `ss`, which names the owner of each socket). */
function pidListeningOn(port: number): number {
  const line = execFileSync('ss', ['-H', '-lunp', `sport = :${port}`], { encoding: 'utf8' });
  const pid = /pid=(\d+)/.exec(line)?.[1];
  if (!pid) throw new Error(`nothing listens on UDP port ${port}: ${line}`);
  return Number(pid);
}

test('viewers on a second worker play through its edge router, and come back by themselves when it dies', async () => {
  server = await OwnServer.start({ ONAIR_WORKERS: '2', ONAIR_RTC_PORT: String(RTC_PORT), ONAIR_HLS: 'off' });
  const { studio, viewers } = await liveBroadcast(server, 'Two workers', 2);
  const sources = await Promise.all(viewers.map(currentSource));

  // The first broadcast of a fresh server goes to worker 0 (both idle: the first wins); worker 1 then has
  // the lighter load, so the first viewer at least is on its edge router.
  const edgeWorker = pidListeningOn(RTC_PORT + 1);
  expect(server.pidsOf('mediasoup-worker')).toContain(edgeWorker);
  const killedAt = Date.now();
  process.kill(edgeWorker, 'SIGKILL');

  // A viewer of the dead worker shows new tracks (a new MediaStream) after a new transport; the others play on.
  const moved = async () => (await Promise.all(viewers.map(currentSource))).map((s, i) => s !== sources[i]);
  await expect
    .poll(async () => (await moved()).filter(Boolean).length, { timeout: 20_000, message: 'a viewer of the killed worker' })
    .toBeGreaterThan(0);
  for (const [i, viewer] of viewers.entries()) {
    if ((await moved())[i]) {
      reportRecovery(`viewer ${i + 1}, on the killed worker`, await recoveryAfter(viewer, sources[i]!, killedAt));
      await expectSameDocument(viewer);
    }
    await expectTimeAdvancing(viewer);
  }

  // The broadcast never noticed: the studio stayed live throughout.
  expect(await studioState(studio)).toBe('live');
  expect((await studioHistory(studio)).filter((s) => s === 'reconnecting')).toEqual([]);
});
