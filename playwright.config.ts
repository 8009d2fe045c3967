/**
 * End-to-end tests: real OnAir servers (dist/, built beforehand) on fixed ports, each with a fresh data
 * directory, and Debian's Chromium with fake camera and microphone (test/e2e/helpers/browser.ts).
 * Two servers (test/e2e/helpers/address.ts): `main` with the default settings, and `hlsOnly`, whose streams
 * take no WebRTC viewers (ONAIR_MAX_WEBRTC_VIEWERS=0) so that players fall back to HLS.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineConfig } from '@playwright/test';
import { E2E_SERVERS, type E2EServer } from './test/e2e/helpers/address.js';

// Workers load this file too: they inherit the runner's directories through the environment.
for (const s of Object.values(E2E_SERVERS)) process.env[s.dataDirVariable] ??= fs.mkdtempSync(path.join(os.tmpdir(), 'onair-e2e-'));

function webServer(s: E2EServer, env: Record<string, string> = {}) {
  return {
    command: 'node dist/server/main.js',
    url: `${s.baseURL}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe' as const,
    stderr: 'pipe' as const,
    env: {
      HOST: '127.0.0.1',
      PORT: String(s.port),
      ONAIR_DATA_DIR: process.env[s.dataDirVariable]!,
      ONAIR_RTC_PORT: '0',
      // Two servers run at once: no fixed RTMP/SRT ports.
      ONAIR_RTMP_PORT: 'off',
      ONAIR_SRT_PORT: 'off',
      ONAIR_RTC_LISTEN_IP: '127.0.0.1',
      ONAIR_WORKERS: '1',
      ONAIR_ADMIN_PASSWORD: 'admin-password-1',
      LOG_LEVEL: 'warn',
      ONAIR_RECONNECT_GRACE_MS: '5000',
      // Every broadcast is also transcoded to the HLS ladder: the cheaper preset leaves the 2 cores of a
      // test machine to the browsers.
      ONAIR_HLS_PRESET: 'superfast',
      ...env,
    },
  };
}

export default defineConfig({
  testDir: 'test/e2e',
  workers: 1,
  retries: 0,
  timeout: 60_000,
  // The machine running these may be a loaded 2-core one: UI assertions get more than the default 5 s.
  expect: { timeout: 10_000 },
  reporter: [['list'], ['json', { outputFile: 'test-results/playwright.json' }]],
  use: { baseURL: E2E_SERVERS.main.baseURL },
  // The main server may restream to the nginx-rtmp a spec starts on loopback (restream.spec.ts).
  webServer: [webServer(E2E_SERVERS.main, { ONAIR_RESTREAM_ALLOW_PRIVATE: '1' }), webServer(E2E_SERVERS.hlsOnly, { ONAIR_MAX_WEBRTC_VIEWERS: '0' })],
});
