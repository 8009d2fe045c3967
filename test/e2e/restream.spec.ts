/**
 * Restream from the studio: the owner adds destinations in the studio's Restream panel (a real nginx-rtmp
 * started here, and a port where nothing listens), goes live with the fake camera, and sees each
 * destination's state: the nginx one live, the other failing with its reason and retrying. What nginx
 * recorded is H.264 + AAC (ffprobe). The main e2e server runs with ONAIR_RESTREAM_ALLOW_PRIVATE=1.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { freePort, startNginxRtmp, type NginxRtmp } from '../helpers/nginxRtmp.js';
import { closeBrowsers } from './helpers/browser.js';
import { createStream, goLive, login, MEDIA_TIMEOUT, openStudio } from './helpers/onair.js';

let nginx: NginxRtmp | undefined;

test.afterEach(async () => {
  await closeBrowsers();
  await nginx?.stop();
});

test('the studio adds destinations, shows each one live or failing with its reason, and nginx receives H.264 + AAC', async () => {
  nginx = await startNginxRtmp(await freePort());
  const deadPort = await freePort();
  const token = await login();
  const stream = await createStream(token, { title: 'Restream e2e' });
  const studio = await openStudio(stream.id);

  const add = async (name: string, url: string, key: string) => {
    await studio.getByLabel('Name', { exact: true }).fill(name);
    await studio.getByLabel('Server URL').fill(url);
    await studio.getByLabel('Stream key').fill(key);
    await studio.getByRole('button', { name: 'Add destination' }).click();
    await expect(studio.getByTestId('destination').filter({ hasText: name })).toBeVisible();
  };
  await add('Local nginx', nginx.url, 'studio-e2e-key-0001');
  await add('Nowhere', `rtmp://127.0.0.1:${deadPort}/live`, 'studio-e2e-key-0002');
  const good = studio.getByTestId('destination').filter({ hasText: 'Local nginx' });
  const bad = studio.getByTestId('destination').filter({ hasText: 'Nowhere' });
  // The key never comes back: only its hint.
  await expect(good).toContainText('••••0001');
  await expect(studio.getByTestId('destinations')).not.toContainText('studio-e2e-key');
  await expect(good).toHaveAttribute('data-state', 'idle');

  await goLive(studio);
  await expect(good).toHaveAttribute('data-state', 'live', { timeout: MEDIA_TIMEOUT });
  await expect(bad).toHaveAttribute('data-state', /failed|retrying/, { timeout: MEDIA_TIMEOUT });
  await expect(bad.getByTestId('destination-reason')).toContainText(/refused|error/i);
  await expect(studio.getByTestId('destinations')).not.toContainText('studio-e2e-key');
  // The failing destination does not disturb the broadcast or the other destination.
  await expect(studio.getByTestId('studio-state')).toHaveAttribute('data-state', 'live');
  await expect(good).toHaveAttribute('data-state', 'live');
  const file = path.join(nginx.recordings, 'studio-e2e-key-0001.flv');
  // A few seconds of media for ffprobe to read.
  await expect.poll(() => (fs.existsSync(file) ? fs.statSync(file).size : 0), { timeout: MEDIA_TIMEOUT }).toBeGreaterThan(300_000);

  // The failure was also told once as an error toast, which stays until dismissed (it sits over the studio's
  // controls on a small window, as a user would see it).
  const toast = studio.getByRole('alert').filter({ hasText: 'Restream to Nowhere failed' });
  await expect(toast).toBeVisible();
  await toast.getByRole('button', { name: 'Dismiss' }).click();
  await expect(toast).toHaveCount(0);

  await studio.getByRole('button', { name: 'End broadcast' }).click();
  await expect(studio.getByTestId('studio-state')).toHaveAttribute('data-state', 'ended');
  await expect(good).toHaveAttribute('data-state', 'idle');

  const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  expect(probe.stderr).toBe('');
  expect(probe.stdout.trim().split('\n').sort()).toEqual(['aac', 'h264']);
});
