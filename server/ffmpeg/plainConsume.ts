/**
 * Consumes one producer through a mediasoup PlainTransport that sends RTP to a local port pair ffmpeg reads:
 * the one way the HLS bridge and every restream feed their ffmpeg. What it creates is pushed into `held` as soon as it exists, so an owner
 * abandoning a start half-way (`checkOpen` throws) closes exactly what was made. The consumer starts paused:
 * `feedWhenListening` resumes it once ffmpeg listens.
 */
import type { types } from 'mediasoup';
import type { PortPool } from '../hls/PortPool.js';
import type { RtpInput } from '../hls/rtpSdp.js';
import { TOP_LAYERS } from '../live/Broadcast.js';
import { untilListening } from './untilListening.js';

export interface HeldMedia {
  transports: types.PlainTransport[];
  consumers: types.Consumer[];
  ports: number[];
}

export async function plainConsume(
  router: types.Router,
  producer: types.Producer,
  ports: PortPool,
  held: HeldMedia,
  checkOpen: () => void,
): Promise<{ consumer: types.Consumer; input: RtpInput }> {
  const port = await ports.take();
  held.ports.push(port);
  checkOpen();
  const transport = await router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: false, comedia: false });
  held.transports.push(transport);
  checkOpen();
  await transport.connect({ ip: '127.0.0.1', port, rtcpPort: port + 1 });
  checkOpen();
  const codec = producer.rtpParameters.codecs[0]!;
  const mime = codec.mimeType.toLowerCase();
  const caps = router.rtpCapabilities.codecs ?? [];
  const cap =
    caps.find((c) => c.mimeType.toLowerCase() === mime && (mime !== 'video/h264' || c.parameters?.['profile-level-id'] === codec.parameters?.['profile-level-id'])) ??
    caps.find((c) => c.mimeType.toLowerCase() === mime);
  if (!cap) throw new Error(`the router has no ${codec.mimeType}`);
  // Only the producer's codec, without RTX, so ffmpeg's SDP stays trivial.
  const rtpCapabilities: types.RtpCapabilities = {
    codecs: [{ ...cap, rtcpFeedback: producer.kind === 'video' ? [{ type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] : [] }],
    headerExtensions: [],
  };
  const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: true });
  held.consumers.push(consumer);
  checkOpen();
  if (consumer.type === 'simulcast') await consumer.setPreferredLayers(TOP_LAYERS);
  checkOpen();
  const c = consumer.rtpParameters.codecs[0]!;
  return {
    consumer,
    input: {
      kind: producer.kind,
      port,
      payloadType: c.payloadType,
      codec: c.mimeType.split('/')[1]!,
      clockRate: c.clockRate,
      channels: c.channels,
      parameters: c.parameters as Record<string, unknown> | undefined,
    },
  };
}

/**
 * Lets media flow into the ffmpeg that reads `held`'s ports: resumes the consumers once it listens on them
 * (untilListening; `ready`, e.g. the HLS session's row, is awaited too), then asks the video for a keyframe at
 * once, at 1 s and at 2 s (a first keyframe sent before ffmpeg's probe was ready, or lost on a loaded machine),
 * and every `keyframeEveryMs` when set (H.264 copied: WebRTC encoders send keyframes only on request). The
 * timers go into `held.timers`, which the owner clears when the run ends. Throws what `checkOpen` throws (the
 * owner closed meanwhile); says whether ffmpeg was seen listening.
 */
export async function feedWhenListening(
  held: HeldMedia & { timers: NodeJS.Timeout[] },
  video: types.Consumer,
  opts: { signal: AbortSignal; checkOpen: () => void; ready?: Promise<unknown>; keyframeEveryMs?: number },
): Promise<'bound' | 'timeout' | 'unknown'> {
  const listening = await untilListening(held.ports, { signal: opts.signal });
  await opts.ready;
  opts.checkOpen();
  for (const c of held.consumers) {
    await c.resume();
    opts.checkOpen();
  }
  const keyframe = () => void video.requestKeyFrame().catch(() => undefined);
  keyframe();
  held.timers.push(setTimeout(keyframe, 1000), setTimeout(keyframe, 2000));
  if (opts.keyframeEveryMs) held.timers.push(setInterval(keyframe, opts.keyframeEveryMs));
  return listening;
}

/** Closes what a start made and gives its ports back (only once ffmpeg, which holds them, is gone). */
export function releaseHeld(held: HeldMedia, ports: PortPool): void {
  for (const t of held.transports) t.close();
  held.transports = [];
  held.consumers = [];
  for (const p of held.ports) ports.give(p);
  held.ports = [];
}
