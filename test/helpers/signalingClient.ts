/** A Node socket.io client speaking OnAir's signaling contract, for integration tests. */
import { io, type Socket } from 'socket.io-client';
import type { Ack, ClientEvents, RequestName, RequestPayload, RequestResults, ServerEvents } from '../../shared/signaling.js';

export type TestSocket = Socket<ServerEvents, ClientEvents> & {
  request<E extends RequestName>(name: E, payload: RequestPayload<E>): Promise<Ack<RequestResults[E]>>;
  /** Sends anything, as a hostile client would. */
  raw(name: string, ...args: unknown[]): Promise<Ack<unknown>>;
};

export async function connect(url: string, token?: string): Promise<TestSocket> {
  const socket = io(url, { transports: ['websocket'], auth: token ? { token } : {}, reconnection: false, forceNew: true }) as TestSocket;
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
