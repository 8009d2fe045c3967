/**
 * A third-party WHIP encoder without a browser: werift (a WebRTC stack in Node) offers an audio and a video
 * track, POSTs the offer, applies the answer, and sends what ffmpeg encodes (a VP8 test pattern and an Opus
 * tone, as RTP over loopback UDP into the tracks). `stop()` hangs up the way an encoder does: DELETE, then
 * the peer connection and the media close. Everything runs on 127.0.0.1.
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

export async function whipPublish(baseUrl: string, streamId: string, key: string, opts: { width?: number; height?: number; headers?: Record<string, string> } = {}): Promise<WhipPublisher> {
  const pc = new RTCPeerConnection({
    codecs: {
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
      video: [new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] })],
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

  const udp = async (track: MediaStreamTrack) => {
    const socket = dgram.createSocket('udp4');
    sockets.push(socket);
    socket.on('message', (packet) => track.writeRtp(packet));
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    return socket.address().port;
  };
  const [vPort, aPort] = [await udp(video), await udp(audio)];
  const w = opts.width ?? 320;
  const h = opts.height ?? 240;
  ffmpeg = spawn(
    'ffmpeg',
    [
      '-hide_banner', '-loglevel', 'error', '-re',
      '-f', 'lavfi', '-i', `testsrc2=size=${w}x${h}:rate=30`,
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-map', '0:v', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '400k', '-g', '30', '-keyint_min', '30',
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
