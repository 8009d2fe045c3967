/**
 * A third-party WHIP encoder without a browser: werift (a WebRTC stack in Node) offers an audio and a video
 * track, POSTs the offer, applies the answer, and sends what ffmpeg encodes (a VP8 test pattern and an Opus
 * tone, as RTP over loopback UDP into the tracks). `stop()` hangs up the way an encoder does: DELETE, then
 * the peer connection and the media close. Everything runs on 127.0.0.1.
 * Options shape the video as other encoders send it: `codec: 'h264'` (libx264 constrained baseline, like
 * OBS's WHIP output) and `vp8PictureId: false` (the VP8 payload descriptor of GStreamer's rtpvp8pay in its
 * default picture-id-mode=none: one byte, no extended header; ffmpeg's packets are rewritten to it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters } from 'werift';

export interface WhipPublisher {
  status: number;
  /** The session URL (path) on 201. */
  location: string | undefined;
  body: string;
  ffmpeg: ChildProcess | undefined;
  /** DELETE (when there is a session), then closes the connection and the media; returns the DELETE's status. */
  stop(): Promise<number>;
}

export interface WhipPublishOptions {
  width?: number;
  height?: number;
  headers?: Record<string, string>;
  codec?: 'vp8' | 'h264';
  /** false: VP8 payload descriptors without the extended header (GStreamer's default). */
  vp8PictureId?: boolean;
}

/** A VP8 RTP packet from ffmpeg (12-byte header) with its payload descriptor cut to GStreamer's one byte. */
export function withoutPictureId(packet: Buffer): Buffer {
  const payload = packet.subarray(12);
  if (payload.length < 2 || !(payload[0]! & 0x80)) return packet;
  const x = payload[1]!;
  let length = 2;
  if (x & 0x80) length += payload[2]! & 0x80 ? 2 : 1;
  if (x & 0x40) length += 1;
  if (x & 0x30) length += 1;
  return Buffer.concat([packet.subarray(0, 12), Buffer.from([payload[0]! & 0x7f]), payload.subarray(length)]);
}

export async function whipPublish(baseUrl: string, streamId: string, key: string, opts: WhipPublishOptions = {}): Promise<WhipPublisher> {
  const h264 = opts.codec === 'h264';
  const pc = new RTCPeerConnection({
    codecs: {
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
      video: [
        h264
          ? new RTCRtpCodecParameters({
              mimeType: 'video/H264', clockRate: 90000, parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
              rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
            })
          : new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] }),
      ],
    },
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
  });
  const audio = new MediaStreamTrack({ kind: 'audio' });
  const video = new MediaStreamTrack({ kind: 'video' });
  pc.addTransceiver(audio, { direction: 'sendonly' });
  pc.addTransceiver(video, { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== 'complete') await pc.iceGatheringStateChange.watch((state) => state === 'complete', 5000);

  const res = await fetch(`${baseUrl}/whip/${streamId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}`, ...opts.headers },
    body: pc.localDescription!.sdp,
  });
  const body = await res.text();
  const location = res.headers.get('location') ?? undefined;
  const sockets: dgram.Socket[] = [];
  let ffmpeg: ChildProcess | undefined;
  const closeMedia = async () => {
    ffmpeg?.kill('SIGKILL');
    for (const s of sockets) s.close();
    sockets.length = 0;
    await pc.close();
  };
  if (res.status !== 201) {
    await closeMedia();
    return { status: res.status, location, body, ffmpeg, stop: async () => 0 };
  }
  await pc.setRemoteDescription({ type: 'answer', sdp: body });

  const udp = async (track: MediaStreamTrack, rewrite: (packet: Buffer) => Buffer = (p) => p) => {
    const socket = dgram.createSocket('udp4');
    sockets.push(socket);
    socket.on('message', (packet) => track.writeRtp(rewrite(packet)));
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    return socket.address().port;
  };
  const [vPort, aPort] = [await udp(video, !h264 && opts.vp8PictureId === false ? withoutPictureId : undefined), await udp(audio)];
  const videoCodec = h264
    ? ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-b:v', '2000k', '-g', '30']
    : ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '400k', '-g', '30', '-keyint_min', '30'];
  const w = opts.width ?? 320;
  const h = opts.height ?? 240;
  ffmpeg = spawn(
    'ffmpeg',
    [
      '-hide_banner', '-loglevel', 'error', '-re',
      '-f', 'lavfi', '-i', `testsrc2=size=${w}x${h}:rate=30`,
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-map', '0:v', ...videoCodec,
      '-f', 'rtp', `rtp://127.0.0.1:${vPort}?pkt_size=1200`,
      '-map', '1:a', '-c:a', 'libopus', '-ac', '2', '-b:a', '48k',
      '-f', 'rtp', `rtp://127.0.0.1:${aPort}?pkt_size=1200`,
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  return {
    status: res.status,
    location,
    body,
    ffmpeg,
    async stop() {
      const deleted = location ? (await fetch(baseUrl + location, { method: 'DELETE', headers: opts.headers ?? {} })).status : 0;
      await closeMedia();
      return deleted;
    },
  };
}
