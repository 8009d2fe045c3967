/** A Node socket.io client speaking OnAir's signaling contract, for integration tests. */
import { io, type Socket } from 'socket.io-client';
import type { Ack, ClientEvents, RequestName, RequestPayload, RequestResults, ServerEvents } from '../../shared/signaling.js';

export type TestSocket = Socket<ServerEvents, ClientEvents> & {
  request<E extends RequestName>(name: E, payload: RequestPayload<E>): Promise<Ack<RequestResults[E]>>;
  /** Sends anything, as a hostile client would. */
  raw(name: string, ...args: unknown[]): Promise<Ack<unknown>>;
};

/** Connects with `auth: { token }`, or with any `auth` object a hostile client would send. */
export async function connect(url: string, token?: string, auth?: object): Promise<TestSocket> {
  const socket = io(url, { transports: ['websocket'], auth: auth ?? (token ? { token } : {}), reconnection: false, forceNew: true }) as TestSocket;
  // Untyped on purpose: tests also send what the contract forbids.
  const untyped = () => socket.timeout(5000) as unknown as { emitWithAck(...a: unknown[]): Promise<Ack<unknown>> };
  socket.request = ((name: string, payload: unknown) => untyped().emitWithAck(name, payload)) as TestSocket['request'];
  socket.raw = (name, ...args) => untyped().emitWithAck(name, ...args);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

/** RTP parameters of a plain VP8 track, as a browser would send for `produce`. */
export const vp8RtpParameters = (ssrc = 11111111) => ({
  mid: '0',
  codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] }],
  headerExtensions: [],
  encodings: [{ ssrc }],
  rtcp: { cname: 'test', reducedSize: true },
});

/** A minimal receive capability set (what a mediasoup-client Device would send to consume). */
export const recvRtpCapabilities = {
  codecs: [
    { kind: 'audio', mimeType: 'audio/opus', preferredPayloadType: 100, clockRate: 48000, channels: 2, rtcpFeedback: [] },
    { kind: 'video', mimeType: 'video/VP8', preferredPayloadType: 101, clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] },
  ],
  headerExtensions: [],
};

/** Goes live with one VP8 producer over a (not yet connected) send transport: a broadcaster without media. */
export async function goLive(c: TestSocket, streamId: string) {
  const start = await c.request('broadcast:start', { streamId });
  if (!start.ok) throw new Error(start.message);
  const t = await c.request('transport:create', { direction: 'send' });
  if (!t.ok) throw new Error(t.message);
  const p = await c.request('produce', { transportId: t.data.id, kind: 'video', rtpParameters: vp8RtpParameters(), source: 'camera' });
  if (!p.ok) throw new Error(p.message);
  return { start: start.data, transportId: t.data.id, producerId: p.data.id };
}
