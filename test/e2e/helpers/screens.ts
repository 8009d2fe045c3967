/**
 * Screenshots of a page's state at a phone viewport (375×812) and a desktop one, kept as test artifacts
 * (test-results/<test>/<name>-phone.png, -desktop.png, attached to the report); on the phone nothing may be
 * wider than the screen (a sideways scroll hides controls off-screen).
 */
import { expect, type Page, type TestInfo } from '@playwright/test';

export const PHONE = { width: 375, height: 812 };
export const DESKTOP = { width: 1280, height: 800 };

export async function snap(page: Page, info: TestInfo, name: string): Promise<void> {
  for (const [label, size] of [['phone', PHONE], ['desktop', DESKTOP]] as const) {
    await page.setViewportSize(size);
    // Layout follows the resize in the next frame.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    if (label === 'phone') {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `${name}: the page scrolls sideways on a phone`).toBeLessThanOrEqual(0);
    }
    const file = info.outputPath(`${name}-${label}.png`);
    await page.screenshot({ fullPage: true, path: file });
    await info.attach(`${name}-${label}.png`, { path: file, contentType: 'image/png' });
  }
}
