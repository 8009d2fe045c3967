/**
 * Encoders into OnAir, end to end, on a server of this file's own (the shared e2e servers run without RTMP):
 * - ffmpeg publishing RTMP the way OBS does by default (x264 with B-frames, AAC) is watched in Chromium over
 *   WebRTC (frames decoded, audio arriving), and the owner's studio shows the encoder's health;
 * - a WHIP encoder sending VP8 without PictureID (GStreamer rtpvp8pay's default, emulated by werift + ffmpeg)
 *   is ended by the server, and the owner's studio says why.
 */
import { expect, test } from '@playwright/test';
import { startEncoder, type Encoder } from '../helpers/encoderSource.js';
import { freePort } from '../helpers/nginxRtmp.js';
import { whipPublish, type WhipPublisher } from '../helpers/whipPublisher.js';
import { closeBrowsers } from './helpers/browser.js';
import { createStream, expectAudioReceived, expectVideoPlaying, login, MEDIA_TIMEOUT, openStudio, openViewer, playerMode } from './helpers/onair.js';
import { OwnServer } from './helpers/ownServer.js';

let server: OwnServer | undefined;
let encoder: Encoder | undefined;
let whip: WhipPublisher | undefined;

test.afterEach(async ({}, info) => {
  encoder?.stop();
  await whip?.stop().catch(() => undefined);
  await closeBrowsers();
  await server?.dispose(info);
  encoder = undefined;
  whip = undefined;
  server = undefined;
});

test('an OBS-like RTMP publish plays in Chromium over WebRTC, and the studio shows its health', async () => {
  const rtmpPort = await freePort();
  server = await OwnServer.start({ ONAIR_RTMP_PORT: String(rtmpPort) });
  const base = server.baseURL;
  const stream = await createStream(await login(base), { title: 'RTMP e2e' }, base);
  const studio = await openStudio(stream.id, base);

  encoder = startEncoder(`rtmp://127.0.0.1:${rtmpPort}/live/${stream.streamKey}`, 'flv');
  const viewer = await openViewer('viewer', `/watch/${stream.id}`, base);
  await expectVideoPlaying(viewer);
  await expectAudioReceived(viewer);
  expect(await playerMode(viewer)).toBe('webrtc');

  const health = studio.getByTestId('health');
  await expect(health).toBeVisible({ timeout: MEDIA_TIMEOUT });
  await expect(studio.getByTestId('health-state')).toHaveText('RTMP · live');
  await expect(health).toContainText('360p');
  await expect(health).not.toContainText('Video0 kbit/s');

  // The encoder vanishes: the broadcast ends after the grace, and the card says so.
  encoder.stop();
  await expect(studio.getByTestId('health-state')).toHaveText('RTMP · ended', { timeout: MEDIA_TIMEOUT });
});

test('a WHIP publish of VP8 without PictureID is ended, and the studio says why', async () => {
  server = await OwnServer.start({ ONAIR_RTMP_PORT: 'off' });
  const base = server.baseURL;
  const stream = await createStream(await login(base), { title: 'WHIP VP8 e2e' }, base);
  const studio = await openStudio(stream.id, base);

  whip = await whipPublish(base, stream.id, stream.streamKey, { vp8PictureId: false });
  expect(whip.status).toBe(201);
  await expect(studio.getByTestId('health-state')).toHaveText('WHIP · ended', { timeout: MEDIA_TIMEOUT });
  await expect(studio.getByTestId('health-warnings')).toContainText('PictureID');
  await expect(studio.getByTestId('health-warnings')).toContainText('picture-id-mode=15-bit');
});
