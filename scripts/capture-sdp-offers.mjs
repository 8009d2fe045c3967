/**
 * Captures real WHIP/WHEP offers from Debian's Chromium into test/fixtures/sdp/, for the SDP translation
 * tests. Run by hand when Chromium changes: `node scripts/capture-sdp-offers.mjs`. The media comes from a
 * canvas and an oscillator, so no camera (nor a secure origin for getUserMedia) is needed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'sdp');
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** In the page: an offer for `kind` of WHIP (sendonly) or WHEP (recvonly) with the given options. */
async function offerInPage({ role, videoCodec, simulcast }) {
  const pc = new RTCPeerConnection();
  if (role === 'whep') {
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
  } else {
    const canvas = Object.assign(document.createElement('canvas'), { width: 1280, height: 720 });
    canvas.getContext('2d').fillRect(0, 0, 10, 10);
    const [video] = canvas.captureStream(30).getVideoTracks();
    const audioContext = new AudioContext();
    const destination = audioContext.createMediaStreamDestination();
    audioContext.createOscillator().connect(destination);
    const [audio] = destination.stream.getAudioTracks();
    const stream = new MediaStream([audio, video]);
    pc.addTransceiver(audio, { direction: 'sendonly', streams: [stream] });
    const sendEncodings = simulcast
      ? [{ rid: 'q', scaleResolutionDownBy: 4 }, { rid: 'h', scaleResolutionDownBy: 2 }, { rid: 'f' }]
      : undefined;
    const t = pc.addTransceiver(video, { direction: 'sendonly', streams: [stream], ...(sendEncodings ? { sendEncodings } : {}) });
    if (videoCodec) {
      const codecs = RTCRtpReceiver.getCapabilities('video').codecs;
      const first = codecs.filter((c) => c.mimeType === videoCodec);
      t.setCodecPreferences([...first, ...codecs.filter((c) => c.mimeType !== videoCodec)]);
    }
  }
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  // Wait for host candidates, as a WHIP client that does not trickle would.
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    setTimeout(resolve, 2000);
  });
  const sdp = pc.localDescription.sdp;
  pc.close();
  return sdp;
}

const cases = {
  'chromium-vp8.sdp': { role: 'whip', videoCodec: 'video/VP8' },
  'chromium-h264.sdp': { role: 'whip', videoCodec: 'video/H264' },
  'chromium-vp8-simulcast.sdp': { role: 'whip', videoCodec: 'video/VP8', simulcast: true },
  'chromium-h264-simulcast.sdp': { role: 'whip', videoCodec: 'video/H264', simulcast: true },
  'chromium-whep-recvonly.sdp': { role: 'whep' },
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-sdp-'));
const context = await chromium.launchPersistentContext(dir, { executablePath: '/usr/bin/chromium', headless: true, args: ARGS });
try {
  const page = await context.newPage();
  const version = context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent));
  for (const [file, opts] of Object.entries(cases)) {
    const sdp = await page.evaluate(offerInPage, opts);
    fs.writeFileSync(path.join(OUT, file), sdp);
    console.log(`${file}: ${sdp.split('\r\n').length} lines`);
  }
  console.log(`captured with ${version}`);
} finally {
  await context.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
