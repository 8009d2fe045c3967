/**
 * Writes the SDP answer to a WHIP or WHEP offer with sdp-transform: the same m-lines in the same order,
 * each accepted (with mediasoup's ICE-lite credentials, every candidate, the DTLS fingerprints and role)
 * or rejected (port 0). Pure: it takes plain values, so it is tested without mediasoup.
 */
import crypto from 'node:crypto';
import * as sdpTransform from 'sdp-transform';
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import type { CodecParameters, DtlsFingerprint, DtlsSetup, OfferedExtension, OfferedMedia, RtcpFeedback } from './sdpOffer.js';

export interface AnswerCodec {
  payloadType: number;
  /** Encoding name for a=rtpmap ("VP8", "opus", "rtx"). */
  name: string;
  clockRate: number;
  channels?: number | undefined;
  parameters: CodecParameters;
  rtcpFeedback: RtcpFeedback[];
}

/** What the server sends on an m-line (WHEP): one stream, its RTX twin, who it belongs to. */
export interface AnswerSource {
  ssrc: number;
  rtxSsrc?: number | undefined;
  cname: string;
  /** a=msid: the stream and the track. */
  streamId: string;
  trackId: string;
}

export interface AcceptedSection {
  accepted: true;
  media: OfferedMedia;
  direction: 'recvonly' | 'sendonly';
  codecs: AnswerCodec[];
  extensions: OfferedExtension[];
  /** WHIP simulcast: the rids received, as a=rid:<rid> recv + a=simulcast:recv. */
  simulcastRecv?: string[] | undefined;
  /** WHEP: the stream sent. */
  source?: AnswerSource | undefined;
}

export interface RejectedSection {
  accepted: false;
  media: OfferedMedia;
  /** Why (logged; SDP has no room for it). */
  reason: string;
}

export type AnswerSection = AcceptedSection | RejectedSection;

/** A mediasoup WebRtcTransport's side of the connection (ICE-lite), as plain values. */
export interface TransportDescription {
  iceParameters: { usernameFragment: string; password: string };
  iceCandidates: { foundation: string; priority: number; ip: string; protocol: 'udp' | 'tcp'; port: number; type: string; tcpType?: string | undefined }[];
  /** The server's DTLS certificate fingerprints. */
  fingerprints: DtlsFingerprint[];
}

/** The server's DTLS role for the client's a=setup, and the role to give mediasoup's `connect` (the client's). */
export function dtlsRoles(offerSetup: DtlsSetup): { answerSetup: 'active' | 'passive'; clientRole: 'client' | 'server' } {
  // actpass or active: the client is the DTLS client and the server answers passive (it listens, as an
  // ICE-lite server should). Only a client that insists on passive makes the server the DTLS client.
  return offerSetup === 'passive' ? { answerSetup: 'active', clientRole: 'server' } : { answerSetup: 'passive', clientRole: 'client' };
}

/** The strongest fingerprint: browsers check one, and mediasoup lists several hash functions. */
function preferredFingerprint(fingerprints: DtlsFingerprint[]): DtlsFingerprint {
  const order = ['sha-256', 'sha-384', 'sha-512', 'sha-224', 'sha-1'];
  const sorted = [...fingerprints].sort((a, b) => rank(a) - rank(b));
  if (!sorted[0]) throw new Error('the transport has no DTLS fingerprint');
  return sorted[0];
  function rank(f: DtlsFingerprint) {
    const i = order.indexOf(f.algorithm.toLowerCase());
    return i === -1 ? order.length : i;
  }
}

export function writeAnswer(opts: { sections: AnswerSection[]; transport: TransportDescription; setup: 'active' | 'passive'; sessionId?: string }): string {
  const { sections, transport, setup } = opts;
  const accepted = sections.filter((s): s is AcceptedSection => s.accepted);
  if (accepted.length === 0) throw new Error('an answer needs at least one accepted m-line');
  const first = transport.iceCandidates.find((c) => c.protocol === 'udp') ?? transport.iceCandidates[0];
  const address = first?.ip ?? '127.0.0.1';
  const connection = { version: address.includes(':') ? 6 : 4, ip: address };
  const fingerprint = preferredFingerprint(transport.fingerprints);
  const bundled = accepted.map((s) => s.media.mid).filter((mid): mid is string => mid !== undefined);

  const session: SessionDescription = {
    version: 0,
    origin: {
      username: 'onair',
      sessionId: opts.sessionId ?? String(crypto.randomInt(1, 2 ** 47)),
      sessionVersion: 1,
      netType: 'IN',
      ipVer: 4,
      address: '127.0.0.1',
    },
    name: '-',
    timing: { start: 0, stop: 0 },
    icelite: 'ice-lite',
    ...(bundled.length > 0 ? { groups: [{ type: 'BUNDLE', mids: bundled.join(' ') }] } : {}),
    msidSemantic: { semantic: 'WMS', token: '*' },
    media: sections.map((s) => (s.accepted ? acceptedMedia(s) : rejectedMedia(s))),
  };
  return sdpTransform.write(session);

  function acceptedMedia(s: AcceptedSection): MediaDescription {
    const m: MediaDescription = {
      type: s.media.type,
      port: first?.port ?? 9,
      protocol: s.media.protocol,
      payloads: s.codecs.map((c) => c.payloadType).join(' '),
      connection,
      rtp: s.codecs.map((c) => ({ payload: c.payloadType, codec: c.name, rate: c.clockRate, ...(c.channels && c.channels > 1 ? { encoding: c.channels } : {}) })),
      fmtp: s.codecs
        .filter((c) => Object.keys(c.parameters).length > 0)
        .map((c) => ({ payload: c.payloadType, config: Object.entries(c.parameters).map(([k, v]) => `${k}=${v}`).join(';') })),
      rtcpFb: s.codecs.flatMap((c) => c.rtcpFeedback.map((fb) => ({ payload: c.payloadType, type: fb.type, ...(fb.parameter ? { subtype: fb.parameter } : {}) }))),
      ext: s.extensions.map((e) => ({ value: e.id, uri: e.uri })),
      ...(s.media.mid !== undefined ? { mid: s.media.mid } : {}),
      direction: s.direction,
      iceUfrag: transport.iceParameters.usernameFragment,
      icePwd: transport.iceParameters.password,
      fingerprint: { type: fingerprint.algorithm, hash: fingerprint.value },
      setup,
      candidates: transport.iceCandidates.map((c) => ({
        foundation: c.foundation,
        component: 1,
        transport: c.protocol,
        priority: c.priority,
        ip: c.ip,
        port: c.port,
        type: c.type,
        ...(c.protocol === 'tcp' ? { tcptype: c.tcpType ?? 'passive' } : {}),
      })),
      endOfCandidates: 'end-of-candidates',
      rtcpMux: 'rtcp-mux',
      ...(s.media.rtcpRsize ? { rtcpRsize: 'rtcp-rsize' as const } : {}),
    };
    if (s.simulcastRecv && s.simulcastRecv.length > 0) {
      m.rids = s.simulcastRecv.map((id) => ({ id, direction: 'recv' }));
      m.simulcast = { dir1: 'recv', list1: s.simulcastRecv.join(';') };
    }
    if (s.source) {
      const { ssrc, rtxSsrc, cname, streamId, trackId } = s.source;
      m.msid = [{ id: streamId, appdata: trackId }];
      const lines = (id: number) => [
        { id, attribute: 'cname', value: cname },
        { id, attribute: 'msid', value: `${streamId} ${trackId}` },
      ];
      m.ssrcs = [...lines(ssrc), ...(rtxSsrc !== undefined ? lines(rtxSsrc) : [])];
      if (rtxSsrc !== undefined) m.ssrcGroups = [{ semantics: 'FID', ssrcs: `${ssrc} ${rtxSsrc}` }];
    }
    return m;
  }

  function rejectedMedia(s: RejectedSection): MediaDescription {
    // Port 0 and the offer's first format: the m-line exists, nothing flows on it.
    const firstPayload = s.media.formats.split(/\s+/).find(Boolean) ?? '0';
    return {
      type: s.media.type,
      port: 0,
      protocol: s.media.protocol,
      payloads: firstPayload,
      connection,
      rtp: [],
      fmtp: [],
      ...(s.media.mid !== undefined ? { mid: s.media.mid } : {}),
      direction: 'inactive',
    };
  }
}
