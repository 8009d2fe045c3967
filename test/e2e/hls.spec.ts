/**
 * HLS end to end: a studio broadcasts (fake camera, 720p), the server restreams it to an HLS ladder with
 * ffmpeg; players in Chromium play it with hls.js, when asked to (`?mode=hls`, the menu), when the browser has
 * no WebRTC, and by themselves when the stream takes no more WebRTC viewers (the `hlsOnly` server); the
 * recording then plays from its start at /video/:id, and no ffmpeg outlives the broadcast.
 */
import { execFileSync } from 'node:child_process';
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import type { Recording, RecordingList } from '../../shared/api.js';
import { dataDirOf, E2E_SERVERS, type E2EServer } from './helpers/address.js';
import { closeBrowsers, newPage } from './helpers/browser.js';
import { startEmbedderSite } from './helpers/embedderSite.js';
import {
  createStream,
  expectAudioReceived,
  expectTimeAdvancing,
  expectVideoPlaying,
  getJson,
  goLive,
  login,
  MEDIA_TIMEOUT,
  openStudio,
  openViewer,
  playerMode,
  playerState,
} from './helpers/onair.js';

const { main, hlsOnly } = E2E_SERVERS;

test.afterEach(async () => {
  await closeBrowsers();
});

/** The ffmpeg processes of a server: their command line names its data directory. */
function ffmpegOf(server: E2EServer): string[] {
  try {
    const out = execFileSync('pgrep', ['-a', '-f', dataDirOf(server)], { encoding: 'utf8' });
    return out.split('\n').filter((line) => /\bffmpeg\b/.test(line));
  } catch (err) {
    if ((err as { status?: number }).status === 1) return []; // pgrep: no process matched
    throw err;
  }
}

async function expectNoFfmpeg(server: E2EServer): Promise<void> {
  await expect.poll(() => ffmpegOf(server), { timeout: 30_000, message: 'an ffmpeg outlived its broadcast' }).toEqual([]);
}

/** The studio in its own browser, live, capturing the fake camera at `height`. */
async function broadcast(server: E2EServer, streamId: string, height: '360' | '720' | '1080'): Promise<Page> {
  const studio = await openStudio(streamId, server.baseURL);
  await studio.locator('#camera-height').selectOption(height);
  await goLive(studio);
  return studio;
}

async function endBroadcast(studio: Page): Promise<void> {
  await studio.getByRole('button', { name: 'End broadcast' }).click();
  await expect(studio.getByTestId('studio-state')).toHaveAttribute('data-state', 'ended');
}

/** A playlist, polled until the server has it (the live master 404s until the first segments exist). */
async function fetchPlaylist(request: APIRequestContext, url: string): Promise<string> {
  let text = '';
  await expect
    .poll(
      async () => {
        const res = await request.get(url);
        text = res.ok() ? await res.text() : '';
        return res.status();
      },
      { timeout: MEDIA_TIMEOUT, message: `GET ${url}` },
    )
    .toBe(200);
  return text;
}

/** Rendition heights of a master playlist, and the URI of each. */
function renditions(master: string): { height: number; uri: string }[] {
  const lines = master.split('\n').map((l) => l.trim());
  const out: { height: number; uri: string }[] = [];
  lines.forEach((line, i) => {
    const m = /^#EXT-X-STREAM-INF:.*RESOLUTION=\d+x(\d+)/.exec(line);
    if (m) out.push({ height: Number(m[1]), uri: lines[i + 1] ?? '' });
  });
  return out;
}

test('a 720p broadcast is restreamed as an HLS ladder that plays in hls.js, then as a recording from its start', async ({ request }) => {
  test.setTimeout(240_000);
  const token = await login(main.baseURL);
  const stream = await createStream(token, { title: 'HLS ladder', tags: ['e2e-hls'] }, main.baseURL);
  const studio = await broadcast(main, stream.id, '720');

  await test.step('the master playlist lists the renditions up to the capture height', async () => {
    const master = await fetchPlaylist(request, `${main.baseURL}/hls/${stream.id}/master.m3u8`);
    expect(renditions(master).map((r) => r.height)).toEqual([720, 480, 360]);
  });

  const viewer = await openViewer('hls viewer', `/watch/${stream.id}?mode=hls`, main.baseURL);
  await test.step('the watch page in Standard mode plays it with hls.js', async () => {
    expect(await playerMode(viewer)).toBe('hls');
    await expect(viewer.getByTestId('playback-mode')).toHaveValue('hls');
    await expectTimeAdvancing(viewer);
    await expectVideoPlaying(viewer);
    await expect.poll(() => playerState(viewer), { timeout: MEDIA_TIMEOUT }).toBe('live');
    await expect(viewer.getByTestId('player')).toHaveAttribute('data-mode', 'hls');
    // The quality menu offers the renditions.
    await expect(viewer.getByTestId('quality').locator('option')).toHaveText([/^Auto/, '720p', '480p', '360p']);
  });

  await test.step('the menu switches to Low latency (WebRTC) and back to Standard', async () => {
    await viewer.getByTestId('playback-mode').selectOption('webrtc');
    await expect.poll(() => playerMode(viewer)).toBe('webrtc');
    await expectVideoPlaying(viewer);
    await expectAudioReceived(viewer);
    await viewer.getByTestId('playback-mode').selectOption('hls');
    await expect.poll(() => playerMode(viewer)).toBe('hls');
    await expectTimeAdvancing(viewer);
    await expect.poll(() => playerState(viewer), { timeout: MEDIA_TIMEOUT }).toBe('live');
  });

  await test.step('a viewer whose network lets no WebRTC through plays HLS after a few seconds', async () => {
    const page = await viewer.context().newPage();
    // No ICE candidate of the server reaches the browser: the transport never connects (as with UDP blocked).
    await page.addInitScript(() => {
      const original = RTCPeerConnection.prototype.setRemoteDescription as (this: RTCPeerConnection, d?: RTCSessionDescriptionInit) => Promise<void>;
      RTCPeerConnection.prototype.setRemoteDescription = function (this: RTCPeerConnection, desc?: RTCSessionDescriptionInit) {
        const sdp = desc?.sdp?.replace(/^a=(candidate|end-of-candidates).*\r\n/gm, '');
        return original.call(this, desc && { type: desc.type, sdp });
      } as RTCPeerConnection['setRemoteDescription'];
    });
    await page.goto(`/watch/${stream.id}`);
    await expect.poll(() => playerMode(page), { timeout: MEDIA_TIMEOUT }).toBe('hls');
    await expectTimeAdvancing(page);
    await expect.poll(() => playerState(page), { timeout: MEDIA_TIMEOUT }).toBe('live');
    await page.close();
  });

  await test.step('a browser without WebRTC plays HLS by itself', async () => {
    const page = await viewer.context().newPage();
    await page.addInitScript(() => {
      Reflect.deleteProperty(window, 'RTCPeerConnection');
      Reflect.deleteProperty(window, 'webkitRTCPeerConnection');
    });
    await page.goto(`/watch/${stream.id}`);
    await expect.poll(() => playerMode(page)).toBe('hls');
    await expectTimeAdvancing(page);
    await page.close();
  });

  await test.step('the home page shows it live, with its thumbnail, under its tag only', async () => {
    const page = await viewer.context().newPage();
    await page.goto('/?tag=e2e-hls');
    const card = page.locator(`[data-testid="live-card"][data-stream-id="${stream.id}"]`);
    await expect(card).toBeVisible();
    await expect(card.getByRole('link', { name: /HLS ladder/ })).toHaveAttribute('href', `/watch/${stream.id}`);
    // The thumbnail: a placeholder until ffmpeg has written the first one (look again then).
    await expect
      .poll(
        async () => {
          const img = await card.locator('.thumb').evaluate((box) => {
            const i = box.querySelector('img');
            return i ? (i.complete ? (i.naturalWidth > 0 ? 'loaded' : 'broken') : 'loading') : 'placeholder';
          });
          if (img === 'placeholder') await page.reload();
          return img;
        },
        { timeout: 60_000 },
      )
      .toBe('loaded');
    await page.goto('/?tag=another-tag');
    await expect(page.getByText('Nobody is live right now.')).toBeVisible();
    await page.close();
  });

  await test.step('when the broadcast ends, HLS stops and the player says so', async () => {
    await endBroadcast(studio);
    await expect(viewer.getByTestId('player')).toHaveAttribute('data-state', 'ended');
    await expect(viewer.getByText('This broadcast has ended.')).toBeVisible();
    expect(await playerMode(viewer)).toBe('hls');
    // Nothing left attached to the <video>: no HLS source, no WebRTC stream.
    expect(await viewer.getByTestId('player').locator('video').evaluate((v: HTMLVideoElement) => v.src || v.srcObject)).toBeFalsy();
  });

  await test.step('no ffmpeg is left', async () => {
    await expectNoFfmpeg(main);
  });

  let recording!: Recording;
  await test.step('the recording is ready, its playlists complete', async () => {
    await expect
      .poll(
        async () => {
          const list = await getJson<RecordingList>(`/api/recordings?streamId=${stream.id}`, main.baseURL);
          recording = list.recordings[0]!;
          return recording?.status;
        },
        { timeout: MEDIA_TIMEOUT },
      )
      .toBe('ready');
    expect(recording.renditions).toEqual([720, 480, 360]);
    const master = await fetchPlaylist(request, recording.urls.hls);
    const first = renditions(master)[0]!;
    const playlist = await fetchPlaylist(request, new URL(first.uri, recording.urls.hls).href);
    expect(playlist.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
  });

  await test.step('the home page lists the recording, with its poster and duration', async () => {
    await viewer.goto('/?tag=e2e-hls');
    const card = viewer.locator(`[data-testid="recording-card"][data-recording-id="${recording.id}"]`);
    await expect(card).toBeVisible();
    await expect(card.locator('.thumb__duration')).toHaveText(/^\d+:\d\d$/);
    await expect.poll(() => card.locator('img').evaluateAll((imgs) => imgs.some((i) => (i as HTMLImageElement).naturalWidth > 0))).toBe(true);
    await card.getByRole('link', { name: /HLS ladder/ }).click();
    await expect(viewer).toHaveURL(`${main.baseURL}/video/${recording.id}`);
  });

  await test.step('/video/:id plays the recording from its start, and seeks', async () => {
    await expect(viewer.getByRole('heading', { name: 'HLS ladder' })).toBeVisible();
    const video = viewer.getByTestId('vod-video');
    const read = () => video.evaluate((v: HTMLVideoElement) => ({ t: v.currentTime, ready: v.readyState, duration: v.duration }));
    await expect.poll(async () => (await read()).ready, { timeout: MEDIA_TIMEOUT }).toBeGreaterThanOrEqual(2);
    expect((await read()).t).toBeLessThan(1);
    await video.evaluate((v: HTMLVideoElement) => {
      v.muted = true;
      return v.play();
    });
    await expect.poll(async () => (await read()).t, { timeout: MEDIA_TIMEOUT }).toBeGreaterThan(1.5);
    const { duration } = await read();
    expect(duration).toBeGreaterThan(10);
    const target = Math.floor(duration * 0.6);
    await video.evaluate((v: HTMLVideoElement, to: number) => (v.currentTime = to), target);
    await expect.poll(async () => (await read()).t, { timeout: MEDIA_TIMEOUT }).toBeGreaterThan(target + 1);
  });
});

test('on a stream that takes no more WebRTC viewers, the watch page and the embed play HLS by themselves', async () => {
  test.setTimeout(180_000);
  const token = await login(hlsOnly.baseURL);
  const stream = await createStream(token, { title: 'Full house' }, hlsOnly.baseURL);
  // 360p: one rendition is enough here, and it spares the CPU.
  const studio = await broadcast(hlsOnly, stream.id, '360');

  await test.step('the watch page falls back to HLS', async () => {
    const viewer = await openViewer('viewer', `/watch/${stream.id}`, hlsOnly.baseURL);
    await expect.poll(() => playerMode(viewer)).toBe('hls');
    await expect(viewer.getByTestId('playback-mode')).toHaveValue('hls');
    await expectTimeAdvancing(viewer);
    await expect.poll(() => playerState(viewer), { timeout: MEDIA_TIMEOUT }).toBe('live');

    // Asking for Low latency: refused with a clear message, and HLS plays on.
    await viewer.getByTestId('playback-mode').selectOption('webrtc');
    await expect(viewer.getByText('Low latency is full right now')).toBeVisible();
    await expect(viewer.getByTestId('playback-mode')).toHaveValue('hls');
    expect(await playerMode(viewer)).toBe('hls');
    await expectTimeAdvancing(viewer);
    expect(await playerState(viewer)).toBe('live');
    await viewer.close();
  });

  await test.step('the embed falls back to HLS and posts its events', async () => {
    const site = await startEmbedderSite(`${hlsOnly.baseURL}/embed/${stream.id}`);
    try {
      const page = await newPage('embedder');
      await page.goto(site.url);
      const messages = () => page.evaluate(() => window.__messages ?? []);
      await expect.poll(async () => (await messages()).map((m) => m.type), { timeout: MEDIA_TIMEOUT }).toContain('playing');
      expect(await messages()).toContainEqual(expect.objectContaining({ type: 'mode', mode: 'hls', streamId: stream.id }));
      const frame = page.frameLocator('#onair');
      await expect(frame.getByTestId('player')).toHaveAttribute('data-state', 'live');
      await expect(frame.getByTestId('player')).toHaveAttribute('data-mode', 'hls');

      await endBroadcast(studio);
      await expect.poll(async () => (await messages()).map((m) => m.type)).toContain('ended');
      await expect(frame.getByTestId('player')).toHaveAttribute('data-state', 'ended');
    } finally {
      await site.close();
    }
  });

  await expectNoFfmpeg(hlsOnly);
});
