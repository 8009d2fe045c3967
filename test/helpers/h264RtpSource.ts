/**
 * A real H.264 publisher without a browser: ffmpeg encodes a test pattern (libx264 baseline, packetization
 * mode 1, no B-frames, as a browser sends H.264) and a tone (Opus) as RTP into mediasoup PlainTransports of a
 * broadcast, as its publisher. The H.264 counterpart of rtpSource.ts (VP8).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { types } from 'mediasoup';
import type { PublisherLease } from '../../server/live/Broadcast.js';

/** An H.264 publisher (ffmpeg libx264 baseline → RTP) with Opus audio, like a browser sending H.264. */
export async function startH264Source(lease: PublisherLease, opts: { width: number; height: number } = { width: 640, height: 360 }): Promise<{ stop(): void }> {
  const router = lease.broadcast.router;
  const plain = () => router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: false, comedia: true });
  const vt = await plain();
  const at = await plain();
  const video = await vt.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [{ mimeType: 'video/H264', payloadType: 102, clockRate: 90000, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' }, rtcpFeedback: [{ type: 'nack', parameter: 'pli' }] }],
      encodings: [{ ssrc: 44444444 }],
    },
    appData: { source: 'whip', height: opts.height },
  });
  const audio = await at.produce({
    kind: 'audio',
    rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 55555555 }] },
    appData: { source: 'whip' },
  });
  const url = (t: types.PlainTransport) => `rtp://127.0.0.1:${t.tuple.localPort}?rtcpport=${t.rtcpTuple!.localPort}&pkt_size=1200`;
  const ffmpeg: ChildProcess = spawn(
    'ffmpeg',
    [
      '-hide_banner', '-loglevel', 'error', '-re',
      '-f', 'lavfi', '-i', `testsrc2=size=${opts.width}x${opts.height}:rate=30`,
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-map', '0:v', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-g', '30', '-b:v', opts.height >= 720 ? '2500k' : '800k',
      '-ssrc', '44444444', '-payload_type', '102', '-f', 'rtp', url(vt),
      '-map', '1:a', '-c:a', 'libopus', '-ac', '2', '-b:a', '64k',
      '-ssrc', '55555555', '-payload_type', '100', '-f', 'rtp', url(at),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  lease.broadcast.addProducer(lease, audio, 'whip');
  lease.broadcast.addProducer(lease, video, 'whip');
  return {
    stop() {
      ffmpeg.kill('SIGKILL');
      vt.close();
      at.close();
    },
  };
}
