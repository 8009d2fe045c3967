/**
 * A lightweight WebRTC viewer for the fan-out benchmark. On the server it is exactly a browser viewer: it
 * joins over OnAir's socket.io signaling (viewer:join → transport:create → transport:connect → consume →
 * consumer:layers → consumer:resume), and its WebRtcTransport goes through ICE and DTLS-SRTP. On this side it
 * does only what makes mediasoup send: one STUN Binding (USE-CANDIDATE) to mediasoup's ICE-lite candidate,
 * then a DTLS client handshake (werift's DtlsClient over our own UDP socket). It never derives SRTP keys:
 * packets are counted from their clear RTP headers (rtp.ts), which costs a few hundred nanoseconds each.
 * It sends no RTCP, so mediasoup runs no bandwidth estimation for it and sends the layer it prefers (the top).
 */
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { io, type Socket } from 'socket.io-client';
import { DtlsClient, ProtectionProfileAes128CmHmacSha1_80 } from 'werift';
import { z } from 'zod';
import { ACK_TIMEOUT_MS, type Ack, type ClientEvents, type RequestName, type RequestPayload, type RequestResults, type ServerEvents } from '../../shared/signaling.js';
import { recvRtpCapabilities } from '../../test/helpers/signalingClient.js';
import type { DtlsCertificate } from './certificate.js';
import { classify, rtpSequence, rtpSsrc, RtpStreamCounter } from './rtp.js';
import { bindingRequest, isBindingSuccess } from './stun.js';

/**
 * mediasoup 3.12's ICE-lite server has no consent timeout (later versions drop a transport after 30 s
 * without a Binding Request, as RFC 7675 asks): a Binding every 10 s keeps either kind alive.
 */
const CONSENT_INTERVAL_MS = 10_000;
const STEP_TIMEOUT_MS = 10_000;
/** Each socket buffers ~1 s of a 720p simulcast top layer, so a busy receiver process drops nothing. */
const RECV_BUFFER_BYTES = 512 * 1024;

const transportSchema = z.object({
  id: z.string(),
  iceParameters: z.object({ usernameFragment: z.string(), password: z.string() }),
  iceCandidates: z.array(z.object({ ip: z.string(), port: z.number().int(), protocol: z.string() })),
});
const encodingsSchema = z.object({ encodings: z.array(z.object({ ssrc: z.number().int() })).min(1) });

export interface StreamCounts {
  received: number;
  expected: number;
  bytes: number;
}

export interface ReceiverCounts {
  video: StreamCounts;
  audio: StreamCounts;
  /** Bytes of everything else: RTCP (sender reports), packets of SSRCs we did not consume. */
  otherBytes: number;
}

type ViewerSocket = Socket<ServerEvents, ClientEvents>;

/** A signaling request, answered within the clients' usual ACK_TIMEOUT_MS (a loaded server answers slowly). */
async function request<E extends RequestName>(socket: ViewerSocket, name: E, payload: RequestPayload<E>): Promise<RequestResults[E]> {
  const emit = socket.timeout(ACK_TIMEOUT_MS) as unknown as { emitWithAck(n: E, p: RequestPayload<E>): Promise<Ack<RequestResults[E]>> };
  const res = await emit.emitWithAck(name, payload);
  if (!res.ok) throw new Error(`${name}: ${res.error}: ${res.message}`);
  return res.data;
}

async function connect(url: string): Promise<ViewerSocket> {
  const socket: ViewerSocket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export class Receiver {
  readonly #socket: ViewerSocket;
  readonly #udp: dgram.Socket;
  #dtls: DtlsClient | undefined;
  #consent: NodeJS.Timeout | undefined;
  readonly #video = new RtpStreamCounter();
  readonly #audio = new RtpStreamCounter();
  #videoSsrc = -1;
  #audioSsrc = -1;
  #otherBytes = 0;
  /** Where mediasoup listens, and the ICE credentials to talk to it. */
  #remote = { ip: '', port: 0, ufrag: '', password: '' };
  readonly #ufrag = crypto.randomBytes(4).toString('hex');
  readonly #tieBreaker = crypto.randomBytes(8);
  /** The ICE check in flight: its transaction, and its retransmission timer. */
  #pendingStun: { transactionId: Buffer; retry: NodeJS.Timeout; resolve: () => void } | undefined;

  private constructor(socket: ViewerSocket, udp: dgram.Socket) {
    this.#socket = socket;
    this.#udp = udp;
    udp.on('message', (packet) => this.#onPacket(packet));
  }

  /** Joins `streamId` on the OnAir at `url` as a viewer; resolves once its consumers are resumed. */
  static async join(url: string, streamId: string, certificate: DtlsCertificate): Promise<Receiver> {
    const socket = await connect(url);
    const udp = dgram.createSocket({ type: 'udp4', recvBufferSize: RECV_BUFFER_BYTES });
    const receiver = new Receiver(socket, udp);
    try {
      await receiver.#start(streamId, certificate);
      return receiver;
    } catch (err) {
      receiver.close();
      throw err;
    }
  }

  counts(): ReceiverCounts {
    const c = (s: RtpStreamCounter): StreamCounts => ({ received: s.received, expected: s.expected, bytes: s.bytes });
    return { video: c(this.#video), audio: c(this.#audio), otherBytes: this.#otherBytes };
  }

  close(): void {
    clearInterval(this.#pendingStun?.retry);
    clearInterval(this.#consent);
    this.#dtls?.close();
    this.#udp.close();
    this.#socket.disconnect();
  }

  async #start(streamId: string, certificate: DtlsCertificate): Promise<void> {
    const s = this.#socket;
    const join = await request(s, 'viewer:join', { streamId });
    if (!join.broadcast || join.broadcast.state !== 'live') throw new Error(`stream ${streamId} is not live`);
    if (!join.delivery.webrtc) throw new Error('the server sends this viewer to HLS: raise ONAIR_MAX_WEBRTC_VIEWERS');
    const transport = transportSchema.parse(await request(s, 'transport:create', { direction: 'recv' }));
    const udpCandidate = transport.iceCandidates.find((c) => c.protocol === 'udp');
    if (!udpCandidate) throw new Error('the server offered no UDP ICE candidate');
    this.#remote = { ip: udpCandidate.ip, port: udpCandidate.port, ufrag: transport.iceParameters.usernameFragment, password: transport.iceParameters.password };
    // mediasoup takes DTLS only once the transport knows its role (we are the DTLS client) and our fingerprint.
    await request(s, 'transport:connect', {
      transportId: transport.id,
      dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: certificate.fingerprint }] },
    });
    await new Promise<void>((resolve) => this.#udp.bind(0, '127.0.0.1', resolve));
    await withTimeout(this.#iceCheck(), 'ICE binding');
    this.#consent = setInterval(() => this.#sendBinding(crypto.randomBytes(12)), CONSENT_INTERVAL_MS);
    await withTimeout(this.#dtlsHandshake(certificate), 'DTLS handshake');

    for (const producer of join.broadcast.producers) {
      const consumer = await request(s, 'consume', { producerId: producer.id, rtpCapabilities: recvRtpCapabilities });
      const ssrc = encodingsSchema.parse(consumer.rtpParameters).encodings[0]!.ssrc;
      if (consumer.kind === 'video') {
        this.#videoSsrc = ssrc;
        // No RTCP from us means no bandwidth estimate: mediasoup then sends the preferred layer; make it the top.
        await request(s, 'consumer:layers', { consumerId: consumer.id, spatialLayer: consumer.layers - 1 });
      } else {
        this.#audioSsrc = ssrc;
      }
      await request(s, 'consumer:resume', { consumerId: consumer.id });
    }
  }

  #sendBinding(transactionId: Buffer): void {
    const r = this.#remote;
    const request = bindingRequest({ serverUfrag: r.ufrag, clientUfrag: this.#ufrag, serverPassword: r.password, transactionId, tieBreaker: this.#tieBreaker });
    this.#udp.send(request, r.port, r.ip);
  }

  /** One Binding Request with USE-CANDIDATE (retried every 500 ms): ICE-lite then selects our 5-tuple. */
  #iceCheck(): Promise<void> {
    return new Promise<void>((resolve) => {
      const transactionId = crypto.randomBytes(12);
      const retry = setInterval(() => this.#sendBinding(transactionId), 500);
      this.#pendingStun = {
        transactionId,
        retry,
        resolve: () => {
          clearInterval(retry);
          this.#pendingStun = undefined;
          resolve();
        },
      };
      this.#sendBinding(transactionId);
    });
  }

  async #dtlsHandshake(certificate: DtlsCertificate): Promise<void> {
    const { ip, port } = this.#remote;
    const dtls = new DtlsClient({
      transport: {
        type: 'udp',
        address: {} as AddressInfo,
        closed: false,
        onData: () => undefined, // replaced by DtlsClient
        send: async (data: Buffer) => {
          this.#udp.send(data, port, ip);
        },
        close: async () => undefined,
      },
      cert: certificate.certPem,
      key: certificate.keyPem,
      signatureHash: certificate.signatureHash,
      // mediasoup refuses a DTLS session without an SRTP profile; we never use its keys.
      srtpProfiles: [ProtectionProfileAes128CmHmacSha1_80],
      extendedMasterSecret: true,
    });
    this.#dtls = dtls;
    const connected = new Promise<void>((resolve) => dtls.onConnect.once(() => resolve()));
    await dtls.connect();
    await connected;
  }

  /** The hot path: up to ~100 packets/s per receiver, thousands of receivers per process. */
  #onPacket(packet: Buffer): void {
    switch (classify(packet)) {
      case 'rtp': {
        const ssrc = rtpSsrc(packet);
        if (ssrc === this.#videoSsrc) this.#video.record(rtpSequence(packet), packet.length);
        else if (ssrc === this.#audioSsrc) this.#audio.record(rtpSequence(packet), packet.length);
        else this.#otherBytes += packet.length;
        return;
      }
      case 'stun':
        if (this.#pendingStun && isBindingSuccess(packet, this.#pendingStun.transactionId)) this.#pendingStun.resolve();
        return;
      case 'dtls':
        this.#dtls?.transport.socket.onData(packet, [this.#remote.ip, this.#remote.port]);
        return;
      default:
        this.#otherBytes += packet.length;
    }
  }
}
