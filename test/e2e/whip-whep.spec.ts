/**
 * WHIP in, WHEP out, end to end: one Chromium publishes with a bare RTCPeerConnection and fetch (a minimal
 * WHIP client, fake camera and microphone), another Chromium watches through WHEP (a bare recvonly
 * RTCPeerConnection) and decodes frames; the broadcast is live in the API and a socket viewer counts the
 * WHEP viewer. Both pages are blank pages on the server's origin (served by the test, not the server), so
 * fetch needs no CORS and no page's Content-Security-Policy is in the way.
 */
import { expect, test, type Page } from '@playwright/test';
import { connect } from '../helpers/signalingClient.js';
import { closeBrowsers, newPage } from './helpers/browser.js';
import { BASE_URL, createStream, getStream, login, MEDIA_TIMEOUT } from './helpers/onair.js';

declare global {
  interface Window {
    __whip?: { pc: RTCPeerConnection; location: string };
    __whep?: { pc: RTCPeerConnection; video: HTMLVideoElement; location: string };
  }
}

interface PublishOptions {
  streamId: string;
  key: string;
  codec: 'video/VP8' | 'video/H264';
  simulcast: boolean;
}

/** In the page: a minimal WHIP client. Returns the HTTP status and the session's Location. */
async function whipPublish(page: Page, opts: PublishOptions): Promise<{ status: number; location: string | null; error?: string }> {
  return page.evaluate(async ({ streamId, key, codec, simulcast }) => {
    const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720 } });
    const pc = new RTCPeerConnection();
    pc.addTransceiver(media.getAudioTracks()[0]!, { direction: 'sendonly', streams: [media] });
    const video = pc.addTransceiver(media.getVideoTracks()[0]!, {
      direction: 'sendonly',
      streams: [media],
      ...(simulcast ? { sendEncodings: [{ rid: 'h', scaleResolutionDownBy: 2 }, { rid: 'f' }] } : {}),
    });
    const codecs = RTCRtpReceiver.getCapabilities('video')!.codecs;
    video.setCodecPreferences([...codecs.filter((c) => c.mimeType === codec), ...codecs.filter((c) => c.mimeType !== codec)]);
    await pc.setLocalDescription(await pc.createOffer());
    const res = await fetch(`/whip/${streamId}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${key}` },
      body: pc.localDescription!.sdp,
    });
    const body = await res.text();
    if (res.status !== 201) return { status: res.status, location: null, error: body };
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
    const location = res.headers.get('Location');
    window.__whip = { pc, location: location! };
    return { status: res.status, location };
  }, opts);
}

/** In the page: a minimal WHEP player into a <video>. */
async function whepPlay(page: Page, streamId: string): Promise<{ status: number; location: string | null; error?: string }> {
  return page.evaluate(async (id) => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    const video = document.createElement('video');
    Object.assign(video, { muted: true, autoplay: true, playsInline: true });
    document.body.append(video);
    const stream = new MediaStream();
    video.srcObject = stream;
    pc.ontrack = (e) => {
      stream.addTrack(e.track);
      void video.play().catch(() => undefined);
    };
    await pc.setLocalDescription(await pc.createOffer());
    const res = await fetch(`/whep/${id}`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription!.sdp });
    const body = await res.text();
    if (res.status !== 201) return { status: res.status, location: null, error: body };
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
    const location = res.headers.get('Location');
    window.__whep = { pc, video, location: location! };
    return { status: res.status, location };
  }, streamId);
}

async function whepStats(page: Page): Promise<{ videoWidth: number; framesDecoded: number; audioPackets: number; codec: string }> {
  return page.evaluate(async () => {
    const w = window.__whep;
    if (!w) throw new Error('no WHEP player on this page');
    let framesDecoded = 0;
    let audioPackets = 0;
    let codec = '';
    const stats = await w.pc.getStats();
    stats.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') {
        framesDecoded = s.framesDecoded ?? 0;
        codec = (stats.get(s.codecId) as { mimeType?: string } | undefined)?.mimeType ?? '';
      }
      if (s.kind === 'audio') audioPackets = s.packetsReceived ?? 0;
    });
    return { videoWidth: w.video.videoWidth, framesDecoded, audioPackets, codec };
  });
}

async function expectWhepPlaying(page: Page, codec: string): Promise<void> {
  await expect.poll(async () => (await whepStats(page)).videoWidth, { timeout: MEDIA_TIMEOUT }).toBeGreaterThan(0);
  const before = await whepStats(page);
  await expect.poll(async () => (await whepStats(page)).framesDecoded, { timeout: MEDIA_TIMEOUT }).toBeGreaterThan(before.framesDecoded + 10);
  await expect.poll(async () => (await whepStats(page)).audioPackets, { timeout: MEDIA_TIMEOUT }).toBeGreaterThan(before.audioPackets);
  expect((await whepStats(page)).codec).toBe(codec);
}

const hangUp = (page: Page, which: '__whip' | '__whep') =>
  page.evaluate(async (w) => {
    const session = window[w];
    if (!session) throw new Error(`no ${w} session`);
    const res = await fetch(session.location, { method: 'DELETE' });
    session.pc.close();
    return res.status;
  }, which);

/** A blank page of its own browser on the server's origin: the test serves it, the server serves nothing extra. */
async function openOnServer(label: string): Promise<Page> {
  const page = await newPage(label);
  await page.route('**/favicon.ico', (route) => route.fulfill({ status: 204 }));
  await page.route(`${BASE_URL}/e2e-blank`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>WHIP/WHEP client</title><body></body>' }),
  );
  await page.goto(`${BASE_URL}/e2e-blank`);
  return page;
}

let token: string;

test.beforeAll(async () => {
  token = await login();
});

test.afterEach(async () => {
  await closeBrowsers();
});

for (const { codec, simulcast } of [
  { codec: 'video/VP8', simulcast: false },
  { codec: 'video/H264', simulcast: true },
] as const) {
  test(`a WHIP publisher (${codec}${simulcast ? ', simulcast' : ''}) is watched over WHEP and counted like any viewer`, async () => {
    const stream = await createStream(token, { title: `WHIP ${codec}`, description: 'e2e', tags: ['e2e', 'whip'] });

    const publisher = await openOnServer('whip publisher');
    const published = await whipPublish(publisher, { streamId: stream.id, key: stream.streamKey, codec, simulcast });
    expect(published, published.error).toMatchObject({ status: 201 });
    expect(published.location).toMatch(new RegExp(`^/whip/${stream.id}/sessions/`));
    await expect.poll(() => publisher.evaluate(() => window.__whip?.pc.connectionState), { timeout: MEDIA_TIMEOUT }).toBe('connected');
    expect((await getStream(stream.id)).status).toBe('live');

    // A socket viewer (as the watch page would be) sees the WHIP producers, and the count.
    const socketViewer = await connect(BASE_URL);
    try {
      const join = await socketViewer.request('viewer:join', { streamId: stream.id });
      expect(join.ok && join.data.broadcast?.producers.map((p) => p.source)).toEqual(['whip', 'whip']);
      expect(join.ok && join.data.broadcast?.producers.find((p) => p.kind === 'video')?.layers).toBe(simulcast ? 2 : 1);
      const counts: number[] = [];
      socketViewer.on('viewers:count', (e) => counts.push(e.count));

      const viewer = await openOnServer('whep viewer');
      const played = await whepPlay(viewer, stream.id);
      expect(played, played.error).toMatchObject({ status: 201 });
      await expectWhepPlaying(viewer, codec);

      await expect.poll(() => counts.at(-1), { timeout: MEDIA_TIMEOUT }).toBe(2);
      expect((await getStream(stream.id)).viewerCount).toBe(2);

      expect(await hangUp(viewer, '__whep')).toBe(204);
      await expect.poll(() => counts.at(-1), { timeout: MEDIA_TIMEOUT }).toBe(1);

      const ended = new Promise<{ reason: string }>((resolve) => socketViewer.once('broadcast:ended', resolve));
      expect(await hangUp(publisher, '__whip')).toBe(204);
      expect((await ended).reason).toBe('the broadcaster ended the stream');
      expect((await getStream(stream.id)).status).toBe('ended');
    } finally {
      socketViewer.disconnect();
    }
  });
}

test('a WHEP viewer that closes is counted out, and a WHIP publisher that vanishes ends its broadcast', async () => {
  const stream = await createStream(token, { title: 'WHIP hang-ups', description: 'e2e', tags: ['e2e', 'whip'] });
  const publisher = await openOnServer('whip publisher');
  const published = await whipPublish(publisher, { streamId: stream.id, key: stream.streamKey, codec: 'video/VP8', simulcast: false });
  expect(published, published.error).toMatchObject({ status: 201 });
  const viewer = await openOnServer('whep viewer');
  const played = await whepPlay(viewer, stream.id);
  expect(played, played.error).toMatchObject({ status: 201 });
  await expectWhepPlaying(viewer, 'video/VP8');
  expect((await getStream(stream.id)).viewerCount).toBe(1);

  // No DELETE: the peer connection just closes (DTLS close alert), or the browser goes away.
  await viewer.evaluate(() => window.__whep?.pc.close());
  await expect.poll(async () => (await getStream(stream.id)).viewerCount, { timeout: MEDIA_TIMEOUT }).toBe(0);
  await publisher.context().close();
  // The broadcast waits for its publisher (ONAIR_RECONNECT_GRACE_MS), then ends.
  await expect.poll(async () => (await getStream(stream.id)).status, { timeout: MEDIA_TIMEOUT }).toBe('ended');
});
