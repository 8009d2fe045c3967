/**
 * A real media source without a browser: ffmpeg encodes a test pattern (VP8) and a tone (Opus) and sends them
 * as RTP into mediasoup PlainTransports of a broadcast, whose producers then behave like a broadcaster's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { types } from 'mediasoup';
import type { PublisherLease } from '../../server/live/Broadcast.js';
import type { Broadcasts } from '../../server/live/Broadcasts.js';
import type { SignalingServer } from '../../server/signaling/SignalingServer.js';

export interface RtpSource {
  video: types.Producer;
  audio: types.Producer;
  ffmpeg: ChildProcess;
  stop(): void;
}

/** Publishes into the broadcast of `lease` (from `broadcasts.start`), as its publisher. */
export async function startRtpSource(lease: PublisherLease, opts: { width: number; height: number }): Promise<RtpSource> {
  const broadcast = lease.broadcast;
  const router = broadcast.router;
  // ffmpeg sends RTP and RTCP from different local ports: keep them apart (no rtcp-mux), or comedia would
  // lock onto whichever arrives first and drop the other.
  const plain = () => router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: false, comedia: true });
  const vt = await plain();
  const at = await plain();
  const video = await vt.produce({
    kind: 'video',
    // PLI as a browser offers it: the producer then asks for keyframes (ffmpeg ignores them, keyframes come each second).
    rtpParameters: {
      codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, rtcpFeedback: [{ type: 'nack', parameter: 'pli' }] }],
      encodings: [{ ssrc: 22222222 }],
    },
    appData: { source: 'whip', height: opts.height },
  });
  const audio = await at.produce({
    kind: 'audio',
    rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 33333333 }] },
    appData: { source: 'whip' },
  });
  const url = (t: types.PlainTransport) => `rtp://127.0.0.1:${t.tuple.localPort}?rtcpport=${t.rtcpTuple!.localPort}&pkt_size=1200`;
  const ffmpeg = spawn(
    'ffmpeg',
    [
      '-hide_banner', '-loglevel', 'error', '-re',
      '-f', 'lavfi', '-i', `testsrc2=size=${opts.width}x${opts.height}:rate=30`,
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-map', '0:v', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '600k', '-g', '30', '-keyint_min', '30',
      '-ssrc', '22222222', '-payload_type', '101', '-f', 'rtp', url(vt),
      '-map', '1:a', '-c:a', 'libopus', '-ac', '2', '-b:a', '64k',
      '-ssrc', '33333333', '-payload_type', '100', '-f', 'rtp', url(at),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  broadcast.addProducer(lease, audio, 'whip');
  broadcast.addProducer(lease, video, 'whip');
  return {
    video,
    audio,
    ffmpeg,
    stop() {
      ffmpeg.kill('SIGKILL');
      vt.close();
      at.close();
    },
  };
}

/** The publisher lease held by the socket that broadcasts `streamId` now (a studio driven by a test). */
export function socketLease(onair: { broadcasts: Broadcasts; signaling: SignalingServer }, streamId: string): PublisherLease {
  const publisher = onair.broadcasts.get(streamId)?.publisher;
  const lease = publisher ? onair.signaling.io.of('/').sockets.get(publisher)?.data.peer.lease : undefined;
  if (!lease) throw new Error(`no socket broadcasts ${streamId} now`);
  return lease;
}
