/**
 * Rewind (DVR) end to end, in Chromium: a studio broadcasts for a while (the e2e server runs with the default
 * ONAIR_DVR_MINUTES=30, so its live playlists list everything since the start). A viewer in Standard (HLS)
 * mode presses "Back 10 s" twice: hls.js plays ≥ 15 s behind the live edge, and "Live" brings it back. A
 * viewer in Low latency (WebRTC) mode presses "Back": the player switches to HLS and plays behind live;
 * "Live" switches it back to WebRTC. Screenshots of the rewound player are kept as artifacts.
 */
import { expect, test, type Page } from '@playwright/test';
import { E2E_SERVERS } from './helpers/address.js';
import { closeBrowsers } from './helpers/browser.js';
import { createStream, expectTimeAdvancing, expectVideoPlaying, goLive, login, MEDIA_TIMEOUT, openStudio, openViewer, playerMode } from './helpers/onair.js';

const { main } = E2E_SERVERS;

test.afterEach(async () => {
  await closeBrowsers();
});

/** How far the <video> plays behind the newest media it can seek to (seconds), and the seekable span. */
const position = (page: Page) =>
  page.evaluate(() => {
    const v = document.querySelector<HTMLVideoElement>('[data-testid="player"] video')!;
    const s = v.seekable;
    if (s.length === 0) return { behind: 0, span: 0 };
    const end = s.end(s.length - 1);
    return { behind: end - v.currentTime, span: end - s.start(0) };
  });

test('rewind: seek back in hls.js and return to live; from WebRTC, back switches to HLS and Live switches back', async ({}, testInfo) => {
  test.setTimeout(240_000);
  const token = await login(main.baseURL);
  const stream = await createStream(token, { title: 'Rewind', tags: ['e2e-dvr'] }, main.baseURL);
  const studio = await openStudio(stream.id, main.baseURL);
  await goLive(studio);

  await test.step('Standard (HLS): Back twice plays ≥ 15 s behind live, Live returns to the edge', async () => {
    const viewer = await openViewer('dvr hls viewer', `/watch/${stream.id}?mode=hls`, main.baseURL);
    expect(await playerMode(viewer)).toBe('hls');
    await expectTimeAdvancing(viewer);
    // Enough past to rewind into: the live playlist reaches back to the start of the broadcast.
    await expect.poll(async () => (await position(viewer)).span, { timeout: 60_000, message: 'a seekable past of 25 s' }).toBeGreaterThan(25);

    await viewer.getByTestId('player').hover();
    await viewer.getByTestId('dvr-back').click();
    await viewer.getByTestId('dvr-back').click();
    await expect.poll(async () => (await position(viewer)).behind, { timeout: MEDIA_TIMEOUT, message: 'behind live' }).toBeGreaterThan(15);
    await expect(viewer.getByTestId('dvr-live')).toBeVisible();
    await expect(viewer.getByTestId('dvr-behind')).toHaveText(/^−0:[12]\d$/);
    // It plays there (not stalled), and stays behind while it plays.
    await expectTimeAdvancing(viewer);
    expect((await position(viewer)).behind).toBeGreaterThan(12);
    await viewer.screenshot({ path: testInfo.outputPath('dvr-hls-rewound.png') });

    await viewer.getByTestId('dvr-live').click();
    await expect.poll(async () => (await position(viewer)).behind, { timeout: MEDIA_TIMEOUT, message: 'back at the live edge' }).toBeLessThan(6);
    await expect(viewer.getByTestId('dvr-live')).toBeHidden();
    await expectTimeAdvancing(viewer);
    expect(await playerMode(viewer)).toBe('hls');
  });

  await test.step('Low latency (WebRTC): Back switches to HLS behind live; Live switches back to WebRTC', async () => {
    const viewer = await openViewer('dvr webrtc viewer', `/watch/${stream.id}`, main.baseURL);
    await expect.poll(() => playerMode(viewer)).toBe('webrtc');
    await expectVideoPlaying(viewer);
    await viewer.getByTestId('player').hover();
    await viewer.getByTestId('dvr-back').click();
    await expect.poll(() => playerMode(viewer)).toBe('hls');
    await expect.poll(async () => (await position(viewer)).behind, { timeout: MEDIA_TIMEOUT, message: 'HLS behind live' }).toBeGreaterThan(8);
    await expectTimeAdvancing(viewer);
    await expect(viewer.getByTestId('dvr-live')).toBeVisible();
    await viewer.screenshot({ path: testInfo.outputPath('dvr-from-webrtc-rewound.png') });

    await viewer.getByTestId('dvr-live').click();
    await expect.poll(() => playerMode(viewer)).toBe('webrtc');
    await expectVideoPlaying(viewer);
    await expect(viewer.getByTestId('dvr-live')).toBeHidden();
  });

  await studio.getByRole('button', { name: 'End broadcast' }).click();
  await expect(studio.getByTestId('studio-state')).toHaveAttribute('data-state', 'ended');
});
