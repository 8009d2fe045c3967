/**
 * RTMP and SRT publishers watched in Chromium both ways a viewer can watch: WebRTC (frames decoded) and HLS
 * through hls.js (the <video> position and decoded frames advance). ffmpeg publishes the way OBS does by
 * default (libx264 high with B-frames, AAC 48 kHz), over RTMP (FLV) and over SRT (MPEG-TS, caller mode).
 *
 * Each test has a server of its own (the shared e2e servers run without RTMP/SRT), HLS on with the own
 * server's one cheap rendition; the viewers are separate browser instances, closed after each test with the
 * encoder (SIGKILL: a vanished publisher) and the server.
 */
import { expect, test, type Page } from '@playwright/test';
import { startEncoder, type Encoder } from '../helpers/encoderSource.js';
import { freePort } from '../helpers/nginxRtmp.js';
import { closeBrowsers } from './helpers/browser.js';
import { createStream, expectTimeAdvancing, expectVideoPlaying, login, MEDIA_TIMEOUT, openViewer, playbackStats, playerMode } from './helpers/onair.js';
import { OwnServer } from './helpers/ownServer.js';

let server: OwnServer | undefined;
let encoder: Encoder | undefined;

test.afterEach(async ({}, info) => {
  encoder?.stop();
  await closeBrowsers();
  await server?.dispose(info);
  encoder = undefined;
  server = undefined;
});

/** A viewer playing HLS in hls.js: in 'hls' mode, the position moves on and frames keep being decoded. */
async function expectHlsPlaying(viewer: Page): Promise<void> {
  await expect.poll(() => playerMode(viewer), { timeout: MEDIA_TIMEOUT }).toBe('hls');
  await expectTimeAdvancing(viewer, 2);
  await expectVideoPlaying(viewer);
  expect(await playerMode(viewer)).toBe('hls');
  expect((await playbackStats(viewer)).videoHeight).toBe(360);
}

test('an OBS-like RTMP publish plays in Chromium over HLS (hls.js)', async () => {
  const rtmpPort = await freePort();
  server = await OwnServer.start({ ONAIR_RTMP_PORT: String(rtmpPort), ONAIR_HLS: 'on' });
  const base = server.baseURL;
  const stream = await createStream(await login(base), { title: 'RTMP to HLS e2e' }, base);

  encoder = startEncoder(`rtmp://127.0.0.1:${rtmpPort}/live/${stream.streamKey}`, 'flv');
  const viewer = await openViewer('hls viewer', `/watch/${stream.id}?mode=hls`, base);
  await expectHlsPlaying(viewer);
});

test('an OBS-like SRT publish plays in Chromium over WebRTC and over HLS (hls.js)', async () => {
  const srtPort = await freePort();
  server = await OwnServer.start({ ONAIR_RTMP_PORT: 'off', ONAIR_SRT_PORT: String(srtPort), ONAIR_HLS: 'on' });
  const base = server.baseURL;
  const stream = await createStream(await login(base), { title: 'SRT e2e' }, base);

  encoder = startEncoder(`srt://127.0.0.1:${srtPort}?streamid=${stream.streamKey}&latency=120000`, 'mpegts');
  const webrtc = await openViewer('webrtc viewer', `/watch/${stream.id}?mode=webrtc`, base);
  await expectVideoPlaying(webrtc);
  expect(await playerMode(webrtc)).toBe('webrtc');
  expect((await playbackStats(webrtc)).videoHeight).toBe(360);

  const hls = await openViewer('hls viewer', `/watch/${stream.id}?mode=hls`, base);
  await expectHlsPlaying(hls);
  // The WebRTC viewer is still playing beside the HLS one.
  await expectVideoPlaying(webrtc);
});
