/**
 * The admin console (/admin, issue 14) end to end, each participant in its own Chromium: a studio broadcasts,
 * three viewers watch it three ways (OnAir's player over WebRTC, OnAir's player in Standard mode with hls.js,
 * a bare WHEP player); the watch page, the studio and the console count 3, the console splits them 1/1/1.
 * The admin rotates the stream's key, ends the broadcast from the console (the viewers see it end), deletes
 * its recording, and manages an account (create, disable, enable, new password, role). A broadcaster who
 * signs in to /admin is turned away, and the API refuses them.
 */
import { expect, test, type Page } from '@playwright/test';
import type { OwnedStream, RecordingList } from '../../shared/api.js';
import { closeBrowsers, newPage } from './helpers/browser.js';
import {
  ADMIN,
  BASE_URL,
  createStream,
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
import { snap } from './helpers/screens.js';

declare global {
  interface Window {
    __whepPc?: RTCPeerConnection;
  }
}

let token: string;

test.beforeAll(async () => {
  token = await login();
});

test.afterEach(async () => {
  await closeBrowsers();
});

async function openAdmin(username = ADMIN.username, password = ADMIN.password): Promise<Page> {
  const page = await newPage('admin', BASE_URL);
  page.on('dialog', (d) => void d.accept(d.type() === 'prompt' ? 'console-set-pass-1' : undefined));
  await page.goto('/admin');
  const form = page.locator('#signin-form');
  await form.getByLabel('Username').fill(username);
  await form.getByLabel('Password').fill(password);
  await form.getByRole('button', { name: 'Sign in' }).click();
  return page;
}

/** A bare WHEP player (recvonly RTCPeerConnection + fetch) on a blank page of the server's origin. */
async function openWhepViewer(streamId: string): Promise<Page> {
  const page = await newPage('whep viewer');
  await page.route(`${BASE_URL}/e2e-blank`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>WHEP</title><body></body>' }));
  await page.goto(`${BASE_URL}/e2e-blank`);
  const status = await page.evaluate(async (id) => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const res = await fetch(`/whep/${id}`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription!.sdp });
    if (res.status === 201) await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    window.__whepPc = pc;
    return res.status;
  }, streamId);
  expect(status).toBe(201);
  return page;
}

const cell = (admin: Page, streamId: string, testid: string) => admin.locator(`tr[data-stream-id="${streamId}"]`).getByTestId(testid);

test('viewers counted by delivery (one WebRTC, one hls.js, one WHEP); the admin rotates the key, ends the broadcast, deletes its recording', async ({}, info) => {
  test.setTimeout(240_000);
  const stream = await createStream(token, { title: 'Watched three ways' });
  const studio = await openStudio(stream.id);
  await goLive(studio);

  const webrtc = await openViewer('webrtc viewer', `/watch/${stream.id}`);
  await expectVideoPlaying(webrtc);
  expect(await playerMode(webrtc)).toBe('webrtc');
  const hls = await openViewer('hls viewer', `/watch/${stream.id}?mode=hls`);
  // The ladder's first segments take a while on a loaded machine: wait for playback itself.
  await expectTimeAdvancing(hls);
  await expect.poll(() => playerState(hls), { timeout: MEDIA_TIMEOUT }).toBe('live');
  expect(await playerMode(hls)).toBe('hls');
  const whep = await openWhepViewer(stream.id);
  await expect.poll(() => whep.evaluate(() => window.__whepPc?.connectionState), { timeout: MEDIA_TIMEOUT }).toBe('connected');

  // One figure everywhere: the watch page, the studio, the API.
  await expect(webrtc.getByTestId('viewer-count')).toHaveText('3', { timeout: MEDIA_TIMEOUT });
  await expect(studio.getByTestId('studio-viewers')).toHaveText('3');
  await expect(studio.getByTestId('studio-split')).toHaveText('WebRTC 1 · WHEP 1 · HLS 1', { timeout: MEDIA_TIMEOUT });
  expect((await getJson<OwnedStream>(`/api/streams/${stream.id}`)).viewerCount).toBe(3);

  const admin = await openAdmin();
  await expect(admin.getByText(`Signed in as ${ADMIN.username}`)).toBeVisible();
  await expect(cell(admin, stream.id, 'viewers-total')).toHaveText('3', { timeout: MEDIA_TIMEOUT });
  await expect(cell(admin, stream.id, 'viewers-webrtc')).toHaveText('1');
  await expect(cell(admin, stream.id, 'viewers-whep')).toHaveText('1');
  await expect(cell(admin, stream.id, 'viewers-hls')).toHaveText('1');
  await expect(admin.locator(`tr[data-stream-id="${stream.id}"]`)).toContainText('OK');
  await expect(admin.getByTestId('server-live')).toHaveText('1');
  const metrics = await fetch(`${BASE_URL}/metrics`).then((r) => r.text());
  for (const delivery of ['webrtc', 'whep', 'hls']) expect(metrics).toContain(`onair_viewers_by_delivery{delivery="${delivery}"} 1`);
  await snap(admin, info, 'admin-live');

  // The hls.js viewer leaves: within two segment durations the split says so.
  await hls.close();
  await expect(cell(admin, stream.id, 'viewers-total')).toHaveText('2', { timeout: MEDIA_TIMEOUT });
  await expect(cell(admin, stream.id, 'viewers-hls')).toHaveText('0');

  const keyBefore = stream.streamKey;
  await admin.locator(`tr[data-stream-id="${stream.id}"]`).getByRole('button', { name: 'Rotate key' }).click();
  await expect(admin.getByText('has a new stream key')).toBeVisible();
  const mine = await fetch(`${BASE_URL}/api/streams/mine`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json() as Promise<{ streams: OwnedStream[] }>);
  expect(mine.streams.find((s) => s.id === stream.id)!.streamKey).not.toBe(keyBefore);

  await admin.locator(`tr[data-stream-id="${stream.id}"]`).getByRole('button', { name: 'End' }).click();
  await expect(admin.locator(`tr[data-stream-id="${stream.id}"]`)).toHaveCount(0);
  await expect(admin.getByText('Nothing is live.')).toBeVisible();
  await expect(webrtc.getByTestId('player')).toHaveAttribute('data-state', 'ended', { timeout: MEDIA_TIMEOUT });
  await expect(studio.getByTestId('studio-state')).toHaveAttribute('data-state', 'ended', { timeout: MEDIA_TIMEOUT });

  // Its recording appears in the console (refreshed every few seconds) and can be deleted.
  const row = admin.locator('[data-recording-id]', { hasText: 'Watched three ways' });
  await expect(row).toHaveCount(1, { timeout: MEDIA_TIMEOUT });
  const recordingId = await row.getAttribute('data-recording-id');
  await row.getByRole('button', { name: 'Delete' }).click();
  await expect(row).toHaveCount(0);
  const left = await getJson<RecordingList>(`/api/recordings?streamId=${stream.id}`);
  expect(left.recordings.map((r) => r.id)).not.toContain(recordingId);
  expect((await fetch(`${BASE_URL}/api/recordings/${recordingId}`)).status).toBe(404);
});

test('accounts: create, disable, enable, set a password, change the role; a broadcaster is turned away', async ({}, info) => {
  const admin = await openAdmin();
  await admin.getByText('New user').click();
  const form = admin.locator('#user-form');
  await form.getByLabel('Username').fill('erin');
  await form.getByLabel('Password').fill('erin-first-pass');
  await form.getByRole('button', { name: 'Create user' }).click();
  const erin = admin.locator('tr[data-username="erin"]');
  await expect(erin.getByTestId('user-state')).toHaveText('active');
  await snap(admin, info, 'admin-users');

  // A broadcaster signing in to the console is turned away; the API says 403.
  const intruder = await openAdmin('erin', 'erin-first-pass');
  await expect(intruder.getByText('erin is not an admin')).toBeVisible();
  await expect(intruder.locator('#console')).toBeHidden();
  const erinToken = await fetch(`${BASE_URL}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'erin', password: 'erin-first-pass' }),
  }).then(async (r) => ((await r.json()) as { token: string }).token);
  expect((await fetch(`${BASE_URL}/api/admin/users`, { headers: { authorization: `Bearer ${erinToken}` } })).status).toBe(403);
  await snap(intruder, info, 'admin-refused');

  const signIn = (password: string) =>
    fetch(`${BASE_URL}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'erin', password }) }).then((r) => r.status);

  await erin.getByRole('button', { name: 'Disable' }).click();
  await expect(erin.getByTestId('user-state')).toHaveText('disabled');
  expect(await signIn('erin-first-pass')).toBe(401);
  expect((await fetch(`${BASE_URL}/api/me`, { headers: { authorization: `Bearer ${erinToken}` } })).status).toBe(401);
  await erin.getByRole('button', { name: 'Enable' }).click();
  await expect(erin.getByTestId('user-state')).toHaveText('active');
  expect(await signIn('erin-first-pass')).toBe(200);

  // The prompt is answered 'console-set-pass-1' (openAdmin's dialog handler).
  await erin.getByRole('button', { name: 'Set password' }).click();
  await expect(admin.getByText("erin's password is changed.")).toBeVisible();
  expect(await signIn('erin-first-pass')).toBe(401);
  expect(await signIn('console-set-pass-1')).toBe(200);

  await erin.getByLabel('Role of erin').selectOption('admin');
  await expect(admin.getByText('erin is now admin.')).toBeVisible();
  const users = await fetch(`${BASE_URL}/api/admin/users`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json() as Promise<{ users: { username: string; role: string }[] }>);
  expect(users.users.find((u) => u.username === 'erin')!.role).toBe('admin');
  // The admin's own row offers no way to lock themselves out.
  const self = admin.locator(`tr[data-username="${ADMIN.username}"]`);
  await expect(self.getByRole('button', { name: 'Disable' })).toHaveCount(0);
  await expect(self.getByLabel(`Role of ${ADMIN.username}`)).toBeDisabled();
});
