/**
 * Live broadcasting end to end: a studio broadcasts with the fake camera and microphone, viewers in other
 * browser instances watch (/watch/:id) or embed (/embed/:id) it. Every participant has its own Chromium.
 */
import { expect, test, type Page } from '@playwright/test';
import { closeBrowsers, newPage } from './helpers/browser.js';
import { startEmbedderSite } from './helpers/embedderSite.js';
import {
  BASE_URL,
  createStream,
  expectAudioReceived,
  expectVideoPlaying,
  getStream,
  goLive,
  login,
  MEDIA_TIMEOUT,
  openStudio,
  openViewer,
  playerHistory,
  playerState,
  studioHistory,
  studioState,
} from './helpers/onair.js';

let token: string;

/** The studio's stream list entry of the selected stream, e.g. "Title (public, live)". */
function selectedStreamLabel(studio: Page): Promise<string> {
  return studio.getByTestId('stream-select').evaluate((select: HTMLSelectElement) => select.selectedOptions[0]?.textContent ?? '');
}

test.beforeAll(async () => {
  token = await login();
});

test.afterEach(async () => {
  await closeBrowsers();
});

test('two viewers see and hear a broadcast, are counted, and see it end', async () => {
  const stream = await createStream(token, { title: 'Two viewers', description: 'e2e', tags: ['e2e'] });
  const studio = await openStudio(stream.id);
  await goLive(studio);

  const viewers = [await openViewer('viewer 1', `/watch/${stream.id}`), await openViewer('viewer 2', `/watch/${stream.id}`)];
  for (const viewer of viewers) {
    await expect(viewer.getByRole('heading', { name: 'Two viewers' })).toBeVisible();
    await expectVideoPlaying(viewer);
    await expectAudioReceived(viewer);
    await expect.poll(() => playerState(viewer)).toBe('live');
  }
  for (const viewer of viewers) await expect(viewer.getByTestId('viewer-count')).toHaveText('2');
  await expect(studio.getByTestId('studio-viewers')).toHaveText('2');

  await studio.getByRole('button', { name: 'End broadcast' }).click();
  await expect(studio.getByTestId('studio-state')).toHaveAttribute('data-state', 'ended');
  // The stream list says so at once (read once, not polled): not when the server's list catches up.
  expect(await selectedStreamLabel(studio)).toMatch(/, ended\)$/);
  for (const viewer of viewers) {
    await expect(viewer.getByTestId('player')).toHaveAttribute('data-state', 'ended');
    await expect(viewer.getByText('This broadcast has ended.')).toBeVisible();
  }
  expect((await getStream(stream.id)).status).toBe('ended');
});

test('the studio goes live again right after End, and the viewer follows', async () => {
  const stream = await createStream(token, { title: 'Quick restart' });
  const studio = await openStudio(stream.id);
  await goLive(studio);
  const viewer = await openViewer('viewer', `/watch/${stream.id}`);
  await expectVideoPlaying(viewer);
  for (let i = 0; i < 3; i++) {
    // End, then Go live at once (through the debug hook: nothing waits in between), while the server is
    // still ending the previous broadcast. goLive rejects if the start fails.
    await studio.evaluate(async () => {
      await window.__studio!.end();
      await window.__studio!.goLive();
    });
    await expect(studio.getByTestId('studio-state')).toHaveAttribute('data-state', 'live', { timeout: MEDIA_TIMEOUT });
    expect(await selectedStreamLabel(studio)).toMatch(/, live\)$/);
  }
  await expect.poll(() => playerState(viewer), { timeout: MEDIA_TIMEOUT }).toBe('live');
  await expectVideoPlaying(viewer);
  expect((await getStream(stream.id)).status).toBe('live');
});

test('a viewer who arrives before the broadcast waits, then plays without reloading', async () => {
  const stream = await createStream(token, { title: 'Early viewer' });
  const viewer = await openViewer('viewer', `/watch/${stream.id}`);
  await expect(viewer.getByTestId('player')).toHaveAttribute('data-state', 'waiting');
  await expect(viewer.getByText('Waiting for the broadcast to start')).toBeVisible();
  // A mark that a reload would erase.
  await viewer.evaluate(() => Object.assign(window, { __sameDocument: true }));

  const studio = await openStudio(stream.id);
  await goLive(studio);

  await expectVideoPlaying(viewer);
  await expect.poll(() => playerState(viewer)).toBe('live');
  expect(await viewer.evaluate(() => (window as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
  const history = await playerHistory(viewer);
  expect(history.indexOf('waiting')).toBeGreaterThanOrEqual(0);
  expect(history.lastIndexOf('live')).toBeGreaterThan(history.indexOf('waiting'));
});

test('a player embedded in another site posts "playing" and obeys commands', async () => {
  const stream = await createStream(token, { title: 'Embedded' });
  const studio = await openStudio(stream.id);
  await goLive(studio);

  const site = await startEmbedderSite(`${BASE_URL}/embed/${stream.id}`);
  try {
    expect(new URL(site.url).origin).not.toBe(new URL(BASE_URL).origin);
    const page = await newPage('embedder');
    await page.goto(site.url);
    const types = () => page.evaluate(() => (window.__messages ?? []).map((m) => m.type));
    await expect.poll(types, { timeout: MEDIA_TIMEOUT }).toContain('playing');
    const messages = await page.evaluate(() => window.__messages ?? []);
    expect(messages[0]).toMatchObject({ type: 'ready', streamId: stream.id, origin: BASE_URL });
    expect(messages.some((m) => m.type === 'viewerCount' && m.count === 1)).toBe(true);

    const frame = page.frameLocator('#onair');
    await expect(frame.getByTestId('player')).toHaveAttribute('data-state', 'live');

    await page.evaluate(() => window.__command?.('pause'));
    await expect.poll(types).toContain('paused');
    await page.evaluate(() => window.__command?.('play'));
    await expect.poll(async () => (await types()).filter((t) => t === 'playing').length).toBeGreaterThan(1);
  } finally {
    await site.close();
  }
});

test('viewers ride out a studio reconnection without reloading', async () => {
  const stream = await createStream(token, { title: 'Flaky network' });
  const studio = await openStudio(stream.id);
  await goLive(studio);
  const viewer = await openViewer('viewer', `/watch/${stream.id}`);
  await expectVideoPlaying(viewer);
  await viewer.evaluate(() => Object.assign(window, { __sameDocument: true }));

  await studio.evaluate(() => window.__studio?.dropConnection());

  await expect.poll(() => playerHistory(viewer), { timeout: MEDIA_TIMEOUT }).toContain('reconnecting');
  await expect.poll(() => studioHistory(studio)).toContain('reconnecting');
  await expect.poll(() => studioState(studio), { timeout: MEDIA_TIMEOUT }).toBe('live');
  await expect.poll(() => playerState(viewer), { timeout: MEDIA_TIMEOUT }).toBe('live');
  await expectVideoPlaying(viewer);
  await expectAudioReceived(viewer);

  expect(viewer.url()).toBe(`${BASE_URL}/watch/${stream.id}`);
  expect(await viewer.evaluate(() => (window as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
  expect(await studio.getByTestId('stream-select').inputValue()).toBe(stream.id);
  expect((await getStream(stream.id)).status).toBe('live');
  // Still one broadcast: the studio resumed it rather than starting another.
  const history = await playerHistory(viewer);
  expect(history.slice(history.indexOf('reconnecting'))).not.toContain('ended');
});
