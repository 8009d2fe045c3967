/**
 * The studio's own browser publish in the health card (the same rules as an encoder's: healthRules.ts
 * uploadWarnings): while live it shows "Browser · live" with what the browser sends (top layer, round trip,
 * loss); an upload that cannot carry the picture (every encoding capped at 100 kbit/s before it is negotiated,
 * as a saturated uplink leaves the encoder) is warned of once the bandwidth estimate's ramp-up is over; off
 * air, the card hides. On the shared e2e server; each studio is its own browser, closed after the test.
 */
import { expect, test, type Page } from '@playwright/test';
import { closeBrowsers } from './helpers/browser.js';
import { createStream, goLive, login, MEDIA_TIMEOUT, openStudio } from './helpers/onair.js';

test.afterEach(async () => {
  await closeBrowsers();
});

/** Before the page's scripts: every encoding the page adds is capped at `bps` (RTCRtpEncodingParameters.maxBitrate). */
async function capUpload(page: Page, bps: number): Promise<void> {
  await page.addInitScript((cap) => {
    const add = RTCPeerConnection.prototype.addTransceiver;
    RTCPeerConnection.prototype.addTransceiver = function (this: RTCPeerConnection, track: MediaStreamTrack | string, init?: RTCRtpTransceiverInit) {
      if (typeof track !== 'string' && track.kind === 'video' && init?.sendEncodings) init = { ...init, sendEncodings: init.sendEncodings.map((e) => ({ ...e, maxBitrate: cap })) };
      return add.call(this, track, init);
    } as typeof add;
  }, bps);
}

test('the studio shows its own upload health while live, and hides it off air', async () => {
  const stream = await createStream(await login(), { title: 'upload health e2e' });
  const studio = await openStudio(stream.id);
  await goLive(studio);
  await expect(studio.getByTestId('health-state')).toHaveText('Browser · live', { timeout: MEDIA_TIMEOUT });
  const figures = studio.locator('#health-figures');
  await expect(figures).toContainText('Round trip');
  await expect(figures).toContainText(/Resolution\d+p/);
  await expect(figures).toContainText(/Video \(top layer\)\d+ k/);

  await studio.getByRole('button', { name: 'End broadcast' }).click();
  await expect(studio.getByTestId('health')).toBeHidden({ timeout: MEDIA_TIMEOUT });
});

test('an upload far below what the picture needs is warned of in the studio', async () => {
  const stream = await createStream(await login(), { title: 'upload health capped e2e' });
  const studio = await openStudio(stream.id);
  await capUpload(studio, 100_000);
  await studio.reload();
  await expect(studio.getByTestId('stream-select')).toHaveValue(stream.id);
  await goLive(studio);
  await expect(studio.getByTestId('health-state')).toHaveText('Browser · live', { timeout: MEDIA_TIMEOUT });
  const warning = studio.getByTestId('health-warnings').locator('[data-code="bitrate_low"]');
  await expect(warning).toContainText('the upload is struggling', { timeout: MEDIA_TIMEOUT });
});
