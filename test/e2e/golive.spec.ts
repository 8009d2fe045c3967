/**
 * "Go live" → first frame at a waiting viewer: what is made ahead of the producers. Read from the signaling
 * frames each page's WebSocket carries (socket.io text frames, names only): the studio's send transport comes
 * with its `broadcast:start` answer (no `transport:create`), and the waiting viewer asks for its receive
 * transport when the broadcast is announced, before the producers it then consumes; its video starts on the
 * lowest simulcast layer (always sent, smallest keyframe) and is raised to "automatic" after the first frame.
 * Studio and viewer in their own Chromium each.
 */
import { expect, test, type Page } from '@playwright/test';
import { closeBrowsers, newPage } from './helpers/browser.js';
import { BASE_URL, createStream, expectVideoPlaying, goLive, login, signInStudio } from './helpers/onair.js';

let token: string;

test.beforeAll(async () => {
  token = await login();
});

test.afterEach(async () => {
  await closeBrowsers();
});

type Frame = { dir: 'sent' | 'received'; text: string };

/** Every socket.io text frame of the page's WebSockets from now on, in order. */
function recordFrames(page: Page): Frame[] {
  const frames: Frame[] = [];
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => typeof f.payload === 'string' && frames.push({ dir: 'sent', text: f.payload }));
    ws.on('framereceived', (f) => typeof f.payload === 'string' && frames.push({ dir: 'received', text: f.payload }));
  });
  return frames;
}

/** Index of the first frame sent as a request named `name` (socket.io `42<ack id>["name",…]`). */
const sentRequest = (frames: Frame[], name: string) => frames.findIndex((f) => f.dir === 'sent' && new RegExp(`^42\\d+\\["${name}"`).test(f.text));

/** Index of the first `broadcast:producers` received whose list of producers is (not) empty. */
function producersEvent(frames: Frame[], withProducers: boolean): number {
  return frames.findIndex((f) => {
    if (f.dir !== 'received' || !f.text.startsWith('42["broadcast:producers"')) return false;
    const [, e] = JSON.parse(f.text.slice(2)) as [string, { producers: unknown[] }];
    return e.producers.length > 0 === withProducers;
  });
}

test('the studio gets its send transport with the start; a waiting viewer makes its receive transport before the producers come, and gets a layer above the lowest', async () => {
  const stream = await createStream(token, { title: 'Go live ahead' });
  const viewer = await newPage('viewer', BASE_URL);
  const viewerFrames = recordFrames(viewer);
  await viewer.goto(`/watch/${stream.id}`);
  await expect(viewer.getByTestId('player')).toHaveAttribute('data-state', 'waiting');
  const studio = await newPage('studio', BASE_URL);
  const studioFrames = recordFrames(studio);
  await signInStudio(studio, stream.id);

  await goLive(studio);
  await expectVideoPlaying(viewer);

  expect(sentRequest(studioFrames, 'broadcast:start')).toBeGreaterThanOrEqual(0);
  expect(studioFrames[sentRequest(studioFrames, 'broadcast:start')]!.text).toContain('"sendTransport":true');
  expect(sentRequest(studioFrames, 'transport:create')).toBe(-1);
  expect(sentRequest(studioFrames, 'produce')).toBeGreaterThan(sentRequest(studioFrames, 'broadcast:start'));

  const announced = producersEvent(viewerFrames, false);
  const created = sentRequest(viewerFrames, 'transport:create');
  const producers = producersEvent(viewerFrames, true);
  expect(announced).toBeGreaterThanOrEqual(0);
  expect(created).toBeGreaterThan(announced);
  expect(producers).toBeGreaterThan(announced);
  expect(sentRequest(viewerFrames, 'consume')).toBeGreaterThan(producers);

  // A layer is forwarded, then one above the lowest (loopback has the bandwidth for it). Which one comes first
  // is not asserted: since the studio's encoder starts at the bitrate of all its layers (Broadcaster.ts), the
  // top layer is sent from the start, and the first one reported here was the top one (2 of 2 runs).
  const layers = () =>
    viewerFrames
      .filter((f) => f.dir === 'received' && f.text.startsWith('42["consumer:layerschange"'))
      .map((f) => (JSON.parse(f.text.slice(2)) as [string, { spatialLayer: number | null }])[1].spatialLayer);
  await expect.poll(() => layers().length, { timeout: 20_000 }).toBeGreaterThan(0);
  await expect.poll(() => Math.max(...layers().map((l) => l ?? -1)), { timeout: 20_000 }).toBeGreaterThan(0);
});
