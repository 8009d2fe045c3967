/**
 * End-to-end tests: a real OnAir (dist/, built beforehand) on a fixed port with a fresh data directory, and
 * Debian's Chromium with fake camera and microphone (test/e2e/helpers/browser.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineConfig } from '@playwright/test';
import { BASE_URL, E2E_PORT } from './test/e2e/helpers/address.js';

// Workers load this file too: they inherit the runner's directory through the environment.
const dataDir = (process.env.ONAIR_E2E_DATA_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), 'onair-e2e-')));

export default defineConfig({
  testDir: 'test/e2e',
  workers: 1,
  retries: 0,
  timeout: 60_000,
  // The machine running these may be a loaded 2-core one: UI assertions get more than the default 5 s.
  expect: { timeout: 10_000 },
  reporter: [['list'], ['json', { outputFile: 'test-results/playwright.json' }]],
  use: { baseURL: BASE_URL },
  webServer: {
    command: 'node dist/server/main.js',
    url: `${BASE_URL}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      HOST: '127.0.0.1',
      PORT: String(E2E_PORT),
      ONAIR_DATA_DIR: dataDir,
      ONAIR_RTC_PORT: '0',
      ONAIR_RTC_LISTEN_IP: '127.0.0.1',
      ONAIR_WORKERS: '1',
      ONAIR_ADMIN_PASSWORD: 'admin-password-1',
      LOG_LEVEL: 'warn',
      ONAIR_RECONNECT_GRACE_MS: '5000',
    },
  },
});
