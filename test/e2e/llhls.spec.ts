/**
 * LL-HLS end to end: a studio broadcasts (fake camera, 720p); the watch page in Standard mode plays the live
 * HLS with hls.js in low-latency mode (client/hls/attachHls.ts). The test watches the page's requests: hls.js
 * must load parts (r<n>_p<id>.m4s) and make blocking playlist requests (_HLS_msn/_HLS_part), and every
 * rendition of the ladder, picked in the quality menu, must play (frames decoded, the picture at that height)
 * from its own parts.
 */
import { expect, test, type Page } from '@playwright/test';
import { E2E_SERVERS } from './helpers/address.js';
import { closeBrowsers } from './helpers/browser.js';
import { createStream, expectTimeAdvancing, expectVideoPlaying, goLive, login, MEDIA_TIMEOUT, openStudio, openViewer, playbackStats, playerMode } from './helpers/onair.js';

const { main } = E2E_SERVERS;

test.afterEach(async () => {
  await closeBrowsers();
});

/** The HLS URLs a page requested, in order. */
function recordRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/hls/')) urls.push(r.url());
  });
  return urls;
}

const partsOf = (urls: string[], rendition: number) => urls.filter((u) => new RegExp(`/r${rendition}_p\\d+\\.m4s(\\?|$)`).test(u));
const blockingOf = (urls: string[], rendition: number) => urls.filter((u) => new RegExp(`/r${rendition}\\.m3u8\\?.*_HLS_msn=\\d+`).test(u));

test('hls.js in low-latency mode plays every rendition of a live broadcast from its parts, with blocking playlist reloads', async () => {
  test.setTimeout(240_000);
  const token = await login(main.baseURL);
  const stream = await createStream(token, { title: 'LL-HLS ladder', tags: ['e2e-llhls'] }, main.baseURL);
  const studio = await openStudio(stream.id, main.baseURL);
  await studio.locator('#camera-height').selectOption('720');
  await goLive(studio);

  const viewer = await openViewer('ll-hls viewer', `/watch/${stream.id}?mode=hls`, main.baseURL);
  const urls = recordRequests(viewer);
  await test.step('the watch page plays the live HLS in hls.js', async () => {
    expect(await playerMode(viewer)).toBe('hls');
    await expectTimeAdvancing(viewer);
    await expectVideoPlaying(viewer);
    await expect(viewer.getByTestId('quality').locator('option')).toHaveText([/^Auto/, '720p', '480p', '360p'], { timeout: MEDIA_TIMEOUT });
  });

  // The menu lists the renditions top down, as the master playlist does (r0 = 720p).
  for (const [rendition, height] of [[2, 360], [1, 480], [0, 720]] as const) {
    await test.step(`${height}p (r${rendition}) plays from its parts, with blocking reloads`, async () => {
      const partsBefore = partsOf(urls, rendition).length;
      const blockingBefore = blockingOf(urls, rendition).length;
      await viewer.getByTestId('quality').selectOption(`${height}p`);
      await expect.poll(async () => (await playbackStats(viewer)).videoHeight, { timeout: MEDIA_TIMEOUT, message: `the picture at ${height} lines` }).toBe(height);
      await expectVideoPlaying(viewer);
      await expectTimeAdvancing(viewer);
      await expect.poll(() => partsOf(urls, rendition).length - partsBefore, { timeout: MEDIA_TIMEOUT, message: `parts of r${rendition}` }).toBeGreaterThan(5);
      await expect.poll(() => blockingOf(urls, rendition).length - blockingBefore, { timeout: MEDIA_TIMEOUT, message: `blocking reloads of r${rendition}` }).toBeGreaterThan(3);
    });
  }

  await studio.getByRole('button', { name: 'End broadcast' }).click();
  await expect(studio.getByTestId('studio-state')).toHaveAttribute('data-state', 'ended');
});
