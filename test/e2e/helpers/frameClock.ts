/**
 * When a viewer's video shows frames, for measuring recovery after a fault: a requestVideoFrameCallback loop
 * in the page logs the wall-clock time (Date.now(), the same clock as the test's) of every frame the <video>
 * presents, with the source it came from: the MediaStream's id in WebRTC mode (the player builds a new one
 * whenever it receives new tracks), the element's src in HLS mode.
 *
 * A fault stops the frames of the old source; the viewer has recovered when frames of a new source flow.
 */
import { expect, type Page } from '@playwright/test';
import { MEDIA_TIMEOUT } from './onair.js';

interface FrameMark {
  at: number;
  source: string;
}

declare global {
  interface Window {
    __frames?: FrameMark[];
  }
}

/** Frames of the new source that count as "playing again" (a single frame could be a stray). */
const FRAMES_TO_RECOVER = 10;

/** Starts logging the frames of the page's <video>. */
export async function startFrameClock(page: Page): Promise<void> {
  await page.evaluate(() => {
    if (window.__frames) return;
    const frames: FrameMark[] = (window.__frames = []);
    const video = document.querySelector('video');
    if (!video) throw new Error('no <video> on this page');
    const source = () => (video.srcObject instanceof MediaStream ? `stream:${video.srcObject.id}` : `src:${video.currentSrc}`);
    const onFrame = () => {
      frames.push({ at: Date.now(), source: source() });
      if (frames.length > 5000) frames.splice(0, 1000);
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  });
  await expect.poll(() => frameCount(page), { timeout: MEDIA_TIMEOUT, message: 'the video presents frames' }).toBeGreaterThan(0);
}

function frameCount(page: Page): Promise<number> {
  return page.evaluate(() => window.__frames?.length ?? 0);
}

/** The source of the newest frame presented. */
export async function currentSource(page: Page): Promise<string> {
  const source = await page.evaluate(() => window.__frames?.at(-1)?.source);
  if (!source) throw new Error('no frame logged yet: startFrameClock first');
  return source;
}

/**
 * Waits until the video presents frames of a source other than `oldSource` after `since` (ms since the
 * epoch); returns how long after `since` the first of them came.
 */
export async function recoveryAfter(page: Page, oldSource: string, since: number, timeout = 20_000): Promise<number> {
  const fresh = () =>
    page.evaluate(
      ({ oldSource, since }) => (window.__frames ?? []).filter((f) => f.at > since && f.source !== oldSource).map((f) => f.at),
      { oldSource, since },
    );
  await expect
    .poll(async () => (await fresh()).length, { timeout, message: `frames from a new source after the fault (the old one: ${oldSource})` })
    .toBeGreaterThanOrEqual(FRAMES_TO_RECOVER);
  return (await fresh())[0]! - since;
}
