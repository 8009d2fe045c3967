/**
 * Debian's Chromium for end-to-end tests: one browser instance per participant (a broadcaster and each
 * viewer get their own, as on real machines), each with a fresh profile, fake camera and microphone, and no
 * throttling of background pages. `closeBrowsers()` closes every instance opened since the last call.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from '@playwright/test';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

const open: { context: BrowserContext; profile: string }[] = [];

export async function launchBrowser(baseURL?: string): Promise<BrowserContext> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    ...(baseURL ? { baseURL } : {}),
  });
  open.push({ context, profile });
  return context;
}

/** A page in a new browser instance, with its console errors and crashes in the test output. */
export async function newPage(label: string, baseURL?: string): Promise<Page> {
  const context = await launchBrowser(baseURL);
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (err) => console.log(`[${label}] page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') console.log(`[${label}] ${msg.type()}: ${msg.text()}`);
  });
  return page;
}

export async function closeBrowsers(): Promise<void> {
  const closing = open.splice(0);
  await Promise.all(closing.map(({ context }) => context.close().catch(() => undefined)));
  for (const { profile } of closing) fs.rmSync(profile, { recursive: true, force: true });
}
