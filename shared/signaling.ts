/**
 * The signaling contract between browsers and the server (socket.io): every event, its payload and its
 * acknowledgement, defined once. The payload schemas are in signalingSchemas.ts (the server validates every
 * payload with them; browser pages import only this file, without zod); the types here derive from them.
 * A request's ack is `{ ok: true, data }` or `{ ok: false, error, message }`.
 *
 * Roles: a socket that connects with an access token (`auth: { token }`) may broadcast into its owner's
 * streams; any socket may watch (private streams need a viewer token in `viewer:join`).
 */
import type { z } from 'zod';
import type { StreamStatus, Visibility } from './api.js';
import type { ChatRequestResults, ChatServerEvents } from './chat.js';
import type { ErrorCode, ErrorReason } from './errors.js';
import type { requestSchemas } from './signalingSchemas.js';
import type { IngestHealthEvent } from './ingestHealth.js';
import type { RestreamStateEvent } from './restream.js';


/** Where a producer's media comes from: a studio capture, or an encoder (WHIP, RTMP, SRT). */
export const SOURCES = ['camera', 'microphone', 'screen', 'screen-audio', 'composite', 'whip', 'rtmp', 'srt'] as const;
export type Source = (typeof SOURCES)[number];

export type RequestName = keyof typeof requestSchemas;
export type RequestPayload<E extends RequestName> = z.input<(typeof requestSchemas)[E]>;

export interface ProducerInfo {
  id: string;
  kind: 'audio' | 'video';
  source: Source;
  /** Simulcast layers sent (1 when not simulcast). */
  layers: number;
}

export interface StreamInfo {
  id: string;
  title: string;
  description: string;
  tags: string[];
  visibility: Visibility;
  status: StreamStatus;
  owner: string;
}

export type BroadcastState = 'live' | 'reconnecting';

export interface BroadcastInfo {
  /** Changes when the broadcast moved to another router (a worker died): make a new transport then. */
  session: string;
  state: BroadcastState;
  producers: ProducerInfo[];
}

export interface JoinResult {
  stream: StreamInfo;
  /** null when nobody broadcasts now. */
  broadcast: BroadcastInfo | null;
  viewerCount: number;
  /** The routers' RTP capabilities: load the mediasoup-client Device with them. */
  routerRtpCapabilities: Record<string, unknown>;
  /**
   * How this viewer may watch. `webrtc: false` when the stream already has ONAIR_MAX_WEBRTC_VIEWERS WebRTC
   * viewers: play `hls` instead (a path on this server; private streams need `?token=`).
   */
  delivery: { webrtc: boolean; hls: string };
  /**
   * Asked for with `recvTransport: true`: a receive transport for `broadcast.session`, as `transport:create`
   * gives (it holds this viewer's WebRTC seat). Absent when nobody broadcasts, the stream is full or it could
   * not be made: ask `transport:create` then.
   */
  recvTransport?: TransportInfo;
}

export interface TransportInfo {
  id: string;
  iceParameters: unknown;
  iceCandidates: unknown[];
  dtlsParameters: unknown;
}

export interface ConsumerInfo {
  id: string;
  producerId: string;
  kind: 'audio' | 'video';
  rtpParameters: Record<string, unknown>;
  /** Spatial layers available (1 when not simulcast). */
  layers: number;
}

/** The chat's requests (shared/chat.ts) are part of the contract. */
export interface RequestResults extends ChatRequestResults {
  'viewer:join': JoinResult;
  'viewer:leave': Record<string, never>;
  /**
   * `broadcastId` names this broadcast (a resume keeps it): events of an earlier one carry another.
   * `sendTransport`: present when asked for (`sendTransport: true`), a send transport as `transport:create` gives.
   */
  'broadcast:start': {
    stream: StreamInfo;
    routerRtpCapabilities: Record<string, unknown>;
    resumed: boolean;
    resumeKey: string;
    broadcastId: string;
    sendTransport?: TransportInfo;
  };
  'broadcast:stop': Record<string, never>;
  'transport:create': TransportInfo;
  'transport:connect': Record<string, never>;
  produce: { id: string };
  'producer:close': Record<string, never>;
  consume: ConsumerInfo;
  'consumer:resume': Record<string, never>;
  'consumer:layers': Record<string, never>;
}

export type Ack<T> = { ok: true; data: T } | { ok: false; error: ErrorCode; message: string; reason?: ErrorReason };

/** Events the server pushes. */
export interface ServerEvents extends ChatServerEvents {
  /** The broadcast started, resumed, or its set of producers changed: consume what is new. */
  'broadcast:producers': (e: { streamId: string } & BroadcastInfo) => void;
  /** The broadcaster dropped; the broadcast may resume within the grace period. */
  'broadcast:reconnecting': (e: { streamId: string; broadcastId: string; graceMs: number }) => void;
  /** `broadcastId`: which broadcast ended (a studio that started the next one already ignores the old end). */
  'broadcast:ended': (e: { streamId: string; broadcastId: string; reason: string }) => void;
  'viewers:count': (e: { streamId: string; count: number }) => void;
  'stream:updated': (e: { stream: StreamInfo }) => void;
  /** A consumer was closed by the server (its producer went away). */
  'consumer:closed': (e: { consumerId: string }) => void;
  'consumer:layerschange': (e: { consumerId: string; spatialLayer: number | null; temporalLayer: number | null }) => void;
  /**
   * The server lost your receive transport (the media worker carrying it died) while the broadcast goes on:
   * create a new one (`transport:create`) and consume the producers again. Only for this socket's transports.
   */
  'transport:closed': (e: { transportId: string }) => void;
  /** A restream destination's state changed (server/restream): only to the stream's owner and admins. */
  'restream:state': (e: RestreamStateEvent) => void;
  /** Health of the stream's encoder broadcast (WHIP, RTMP, SRT; server/ingest/health): only to its owner and admins. */
  'ingest:health': (e: IngestHealthEvent) => void;
}

export type ClientEvents = {
  [E in RequestName]: (payload: RequestPayload<E>, ack: (res: Ack<RequestResults[E]>) => void) => void;
};

/** How long clients wait for an ack before giving up. */
export const ACK_TIMEOUT_MS = 10_000;

