/**
 * The pages as a first-time user meets them (issue 14, "Pages people understand"): the watch page's "Tap to
 * unmute", the ended state (no live controls, no viewer count, "Watch the recording" once it is ready), the
 * studio's form and list after creating and ending a stream, the recording page's "Replay" badge. Every
 * state is photographed at a phone viewport (375×812) and a desktop one (helpers/screens.ts), kept as test
 * artifacts, and no page may scroll sideways on the phone.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test } from '@playwright/test';
import { closeBrowsers, newPage } from './helpers/browser.js';
import { BASE_URL, createStream, goLive, login, MEDIA_TIMEOUT, openStudio, openViewer, playerState } from './helpers/onair.js';
import { snap } from './helpers/screens.js';

let token: string;

test.beforeAll(async () => {
  token = await login();
});

test.afterEach(async () => {
  await closeBrowsers();
});

test('the watch page: tap to unmute, then an ended broadcast with its recording', async ({}, info) => {
  const stream = await createStream(token, { title: 'First-time viewer', description: 'What a first-time viewer sees' });
  const early = await openViewer('early viewer', `/watch/${stream.id}`);
  await expect(early.getByTestId('player')).toHaveAttribute('data-state', 'waiting');
  // Nothing plays yet: no promise of sound.
  await expect(early.getByTestId('tap-to-unmute')).toBeHidden();
  await snap(early, info, 'watch-waiting');

  const studio = await openStudio(stream.id);
  await goLive(studio);
  await expect.poll(() => playerState(early), { timeout: MEDIA_TIMEOUT }).toBe('live');

  // Muted autoplay: the prompt is there without hovering anything.
  const viewer = await openViewer('viewer', `/watch/${stream.id}`);
  await expect.poll(() => playerState(viewer), { timeout: MEDIA_TIMEOUT }).toBe('live');
  const prompt = viewer.getByTestId('tap-to-unmute');
  await expect(prompt).toBeVisible();
  expect(await viewer.evaluate(() => document.querySelector('video')!.muted)).toBe(true);
  await snap(viewer, info, 'watch-live-muted');
  await prompt.click();
  await expect(prompt).toBeHidden();
  await expect.poll(() => viewer.evaluate(() => document.querySelector('video')!.muted)).toBe(false);
  await expect(viewer.getByTestId('mute-toggle')).toHaveText('Mute');

  // Any first interaction elsewhere also retires the prompt (it stays muted: that was not a request for sound).
  await expect(early.getByTestId('tap-to-unmute')).toBeVisible();
  await early.getByRole('heading', { name: 'First-time viewer' }).click();
  await expect(early.getByTestId('tap-to-unmute')).toBeHidden();
  expect(await early.evaluate(() => document.querySelector('video')!.muted)).toBe(true);

  await expect(viewer.getByTestId('viewer-count')).toHaveText('2');
  await studio.getByRole('button', { name: 'End broadcast' }).click();
  await expect(studio.getByTestId('studio-state')).toHaveAttribute('data-state', 'ended');

  for (const page of [viewer, early]) {
    await expect(page.getByTestId('player')).toHaveAttribute('data-state', 'ended');
    await expect(page.getByText('This broadcast has ended.')).toBeVisible();
    // No live controls and no "2 watching" under an ended broadcast.
    await expect(page.getByTestId('mute-toggle')).toBeHidden();
    await expect(page.getByTestId('playback-mode')).toBeHidden();
    await expect(page.getByTestId('quality')).toBeHidden();
    await expect(page.getByTestId('play-toggle')).toBeHidden();
    await expect(page.getByRole('button', { name: 'Fullscreen' })).toBeHidden();
    await expect(page.getByTestId('viewer-count')).toBeHidden();
    await expect(page.getByTestId('tap-to-unmute')).toBeHidden();
  }
  await snap(viewer, info, 'watch-ended');

  // The recording is offered once it is finished, on the pages that saw the broadcast end…
  const link = viewer.getByRole('link', { name: 'Watch the recording' });
  await expect(link).toBeVisible({ timeout: MEDIA_TIMEOUT });
  await expect(early.getByRole('link', { name: 'Watch the recording' })).toBeVisible({ timeout: MEDIA_TIMEOUT });
  await snap(viewer, info, 'watch-ended-recording');
  // …and to a page opened after the end.
  const late = await openViewer('late viewer', `/watch/${stream.id}`);
  await expect(late.getByTestId('player')).toHaveAttribute('data-state', 'ended');
  await expect(late.getByRole('link', { name: 'Watch the recording' })).toHaveAttribute('href', (await link.getAttribute('href'))!);

  await link.click();
  await expect(viewer).toHaveURL(/\/video\/[^/]+$/);
  await expect(viewer.getByRole('heading', { name: 'First-time viewer' })).toBeVisible();
  // Said as the past it is: not "Recording".
  await expect(viewer.getByTestId('vod-badge')).toHaveText('Replay');
  await expect(viewer.locator('#vod-meta')).toContainText('Broadcast live by admin on');
  await expect.poll(() => viewer.evaluate(() => (document.querySelector('video') as HTMLVideoElement).duration || 0), { timeout: MEDIA_TIMEOUT }).toBeGreaterThan(0);
  await snap(viewer, info, 'video');
});

test('the studio: a created stream folds the form away and is selected; End shows at once in the list', async ({}, info) => {
  const existing = await createStream(token, { title: 'Studio start' });
  const studio = await openStudio(existing.id);
  await snap(studio, info, 'studio-signed-in');

  await studio.getByText('New stream').click();
  const form = studio.locator('#create-form');
  await expect(form).toBeVisible();
  await form.getByLabel('Title').fill('Made in the studio');
  await snap(studio, info, 'studio-new-stream-form');
  await form.getByRole('button', { name: 'Create' }).click();
  await expect(form).toBeHidden();
  await expect(studio.getByTestId('stream-select').locator('option:checked')).toHaveText('Made in the studio (public, idle)');
  await expect(studio.getByRole('link', { name: /Open the watch page/ })).toBeVisible();

  await goLive(studio);
  await expect(studio.getByTestId('stream-select').locator('option:checked')).toHaveText('Made in the studio (public, live)');
  await snap(studio, info, 'studio-live');
  await studio.getByRole('button', { name: 'End broadcast' }).click();
  await expect(studio.getByTestId('studio-state')).toHaveAttribute('data-state', 'ended');
  // Read once, not polled: the list says "ended" as soon as the studio does.
  expect(await studio.getByTestId('stream-select').locator('option:checked').textContent()).toBe('Made in the studio (public, ended)');
  await snap(studio, info, 'studio-ended');
});

test('every other page fits a phone: the directory, the sign-in, an embed', async ({}, info) => {
  const stream = await createStream(token, { title: 'Phone check', tags: ['phone'] });
  const page = await newPage('visitor', BASE_URL);
  await page.goto('/');
  await expect(page.getByRole('link', { name: 'Studio' })).toBeVisible();
  await snap(page, info, 'directory');
  await page.goto('/studio');
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  await snap(page, info, 'studio-sign-in');
  await page.goto(`/embed/${stream.id}`);
  await expect(page.getByTestId('player')).toHaveAttribute('data-state', 'waiting');
  await snap(page, info, 'embed-waiting');
});

test('oEmbed: a consumer finds the endpoint in the watch page, and the iframe it is given plays on its own site', async ({}, info) => {
  test.setTimeout(120_000);
  const stream = await createStream(token, { title: 'Shared "live" <show>', description: 'Links become players' });
  const studio = await openStudio(stream.id);
  await goLive(studio);

  const page = await openViewer('link preview', `/watch/${stream.id}`);
  await expect(page).toHaveTitle('Shared "live" <show> · OnAir');
  const href = await page.locator('link[rel="alternate"][type="application/json+oembed"]').getAttribute('href');
  expect(href).toBe(`${BASE_URL}/oembed?url=${encodeURIComponent(`${BASE_URL}/watch/${stream.id}`)}&format=json`);
  expect(await page.locator('meta[property="og:title"]').getAttribute('content')).toBe('Shared "live" <show>');
  expect(await page.locator('meta[property="og:description"]').getAttribute('content')).toBe('LIVE · Links become players');
  const oembed = (await (await fetch(href!)).json()) as { type: string; title: string; html: string; width: number; height: number };
  expect(oembed).toMatchObject({ type: 'video', title: 'Shared "live" <show>', width: 640, height: 360 });

  // Another site pastes the HTML as it came.
  const site = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><head><meta charset="utf-8"><title>A forum</title></head><body><p>Look at this:</p>${oembed.html}</body></html>`);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  try {
    const forum = await newPage('forum');
    await forum.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
    const player = forum.frameLocator('iframe').getByTestId('player');
    await expect(player).toHaveAttribute('data-state', 'live', { timeout: MEDIA_TIMEOUT });
    // The consumer's page (its iframe is 640 px wide, as oEmbed gives it): a desktop picture only.
    const file = info.outputPath('oembed-iframe-desktop.png');
    await forum.screenshot({ path: file });
    await info.attach('oembed-iframe-desktop.png', { path: file, contentType: 'image/png' });
  } finally {
    // The browser keeps its connection open: close it, or close() waits for it.
    site.closeAllConnections();
    await new Promise<void>((resolve) => site.close(() => resolve()));
  }
});
