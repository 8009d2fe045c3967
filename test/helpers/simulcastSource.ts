/**
 * A real simulcast source without a browser: ffmpeg encodes one test pattern at three sizes (VP8, one SSRC
 * each, keyframe every second), and the three RTP streams enter ONE simulcast producer of a broadcast (its
 * encodings by SSRC, lowest first, as mediasoup wants them) through a PlainTransport, as its publisher.
 *
 * Why a relay: ffmpeg sends each output from its own local port, and a PlainTransport takes RTP from one
 * remote address only (comedia locks onto the first); a UDP socket here receives the three streams and
 * forwards them all from one address. It never paces or changes a packet.
 *
 * Lifetime: from `startSimulcastSource` to `stop()` (ffmpeg killed, sockets and transport closed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import type { types } from 'mediasoup';
import type { PublisherLease } from '../../server/live/Broadcast.js';

/** Lowest first. */
const LAYERS = [
  { width: 96, height: 54, kbps: 80, ssrc: 41110 },
  { width: 192, height: 108, kbps: 200, ssrc: 41111 },
  { width: 384, height: 216, kbps: 500, ssrc: 41112 },
] as const;
const PT = 101;

export interface SimulcastSource {
  video: types.Producer;
  ffmpeg: ChildProcess;
  stop(): void;
}

const bound = (): Promise<dgram.Socket> =>
  new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  });

export async function startSimulcastSource(lease: PublisherLease): Promise<SimulcastSource> {
  const broadcast = lease.broadcast;
  const transport = await broadcast.router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
  const video = await transport.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [{ mimeType: 'video/VP8', payloadType: PT, clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] }],
      encodings: LAYERS.map((l) => ({ ssrc: l.ssrc })),
    },
    appData: { source: 'camera', height: LAYERS.at(-1)!.height },
  });
  const sender = await bound();
  const inputs = await Promise.all(LAYERS.map(() => bound()));
  for (const input of inputs) input.on('message', (packet) => sender.send(packet, transport.tuple.localPort, '127.0.0.1'));
  const ffmpeg = spawn(
    'ffmpeg',
    [
      '-hide_banner', '-loglevel', 'error', '-re',
      '-f', 'lavfi', '-i', `testsrc2=size=${LAYERS.at(-1)!.width}x${LAYERS.at(-1)!.height}:rate=30`,
      ...LAYERS.flatMap((l, i) => [
        '-map', '0:v', '-vf', `scale=${l.width}:${l.height}`,
        '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', `${l.kbps}k`, '-g', '30', '-keyint_min', '30',
        '-ssrc', String(l.ssrc), '-payload_type', String(PT),
        '-f', 'rtp', `rtp://127.0.0.1:${inputs[i]!.address().port}?pkt_size=1200`,
      ]),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  broadcast.addProducer(lease, video, 'camera');
  return {
    video,
    ffmpeg,
    stop() {
      ffmpeg.kill('SIGKILL');
      for (const s of [sender, ...inputs]) s.close();
      transport.close();
    },
  };
}
