/**
 * Reads a WHIP or WHEP client's SDP offer (parsed by sdp-transform) into a small, validated model: per
 * m-line its kind, mid, direction, codecs in preference order, header extensions, SSRCs and simulcast
 * layers; for the session, the DTLS fingerprints and setup role and the BUNDLE group. Pure: no mediasoup.
 * Anything that is not a usable SDP offer throws OfferError('malformed').
 */
import * as sdpTransform from 'sdp-transform';
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import { OfferError } from './OfferError.js';

export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
export type CodecParameters = Record<string, string | number>;

export interface RtcpFeedback {
  type: string;
  parameter?: string;
}

export interface OfferedCodec {
  payloadType: number;
  /** The encoding name of a=rtpmap, as written ("H264", "opus", "OPUS", "rtx"). */
  name: string;
  /** kind/name, e.g. "video/H264". */
  mimeType: string;
  clockRate: number;
  /** Audio channels (a=rtpmap's third part); undefined for video. */
  channels: number | undefined;
  parameters: CodecParameters;
  rtcpFeedback: RtcpFeedback[];
}

export interface OfferedExtension {
  id: number;
  uri: string;
}

export interface OfferedRid {
  id: string;
  direction: 'send' | 'recv';
  /** Restrictions such as max-width=1280;max-height=720. */
  params: Record<string, string>;
}

export interface OfferedMedia {
  /** Position in the offer (the answer has the same m-lines in the same order). */
  index: number;
  /** The m= type as written: audio, video, application... */
  type: string;
  kind: 'audio' | 'video' | undefined;
  mid: string | undefined;
  port: number;
  protocol: string;
  /** The m= line's format list as written ("111 63 9", "webrtc-datachannel"). */
  formats: string;
  /** a=bundle-only: port 0 that does not mean "rejected" (GStreamer's webrtcbin writes these). */
  bundleOnly: boolean;
  direction: MediaDirection;
  /** In the offerer's order of preference. */
  codecs: OfferedCodec[];
  extensions: OfferedExtension[];
  /** Distinct SSRCs of a=ssrc lines, in order. */
  ssrcs: number[];
  ssrcGroups: { semantics: string; ssrcs: number[] }[];
  cname: string | undefined;
  rids: OfferedRid[];
  /** a=simulcast's send list: the rid of each layer (first alternative), paused layers left out. */
  simulcastSend: string[] | undefined;
  rtcpMux: boolean;
  rtcpRsize: boolean;
}

export interface DtlsFingerprint {
  algorithm: string;
  value: string;
}

export type DtlsSetup = 'actpass' | 'active' | 'passive';

export interface Offer {
  media: OfferedMedia[];
  /** The mids of the first BUNDLE group, or undefined when the offer bundles nothing. */
  bundle: string[] | undefined;
  fingerprints: DtlsFingerprint[];
  setup: DtlsSetup;
}

/** Hash functions mediasoup 3.12 accepts for DTLS fingerprints. */
const FINGERPRINT_ALGORITHMS = new Set(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']);
const FINGERPRINT_VALUE = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){15,63}$/;
const RID = /^[A-Za-z0-9_-]{1,16}$/;
const MID = /^[A-Za-z0-9_.~+-]{1,32}$/;
const MAX_SSRC = 0xffffffff;

export function parseOffer(text: string, opts: { maxMediaSections: number }): Offer {
  if (typeof text !== 'string' || !/^v=0\r?\n/.test(text)) {
    throw new OfferError('malformed', 'the body is not an SDP offer: it must start with "v=0"');
  }
  let sdp: SessionDescription;
  try {
    sdp = sdpTransform.parse(text);
  } catch (err) {
    throw new OfferError('malformed', `the SDP offer cannot be parsed (${(err as Error).message})`);
  }
  // Two ICE-lite ends never connect: the client must run full ICE.
  if (sdp.icelite) throw new OfferError('malformed', 'the offer is ICE-lite, and so is OnAir: the client must run full ICE');
  const sections = sdp.media ?? [];
  if (sections.length === 0) throw new OfferError('malformed', 'the SDP offer has no m= section: offer audio and/or video');
  if (sections.length > opts.maxMediaSections) {
    throw new OfferError('malformed', `the SDP offer has ${sections.length} m= sections; at most ${opts.maxMediaSections} are accepted`);
  }
  const media = sections.map((m, index) => readMedia(m, index, sdp));
  const mids = media.map((m) => m.mid).filter((mid): mid is string => mid !== undefined);
  if (new Set(mids).size !== mids.length) throw new OfferError('malformed', 'two m= sections of the SDP offer have the same a=mid');
  const bundleGroup = sdp.groups?.find((g) => g.type.toUpperCase() === 'BUNDLE');
  return {
    media,
    bundle: bundleGroup ? String(bundleGroup.mids).split(/\s+/).filter(Boolean) : undefined,
    fingerprints: readFingerprints(sdp),
    setup: readSetup(sdp),
  };
}

function readFingerprints(sdp: SessionDescription): DtlsFingerprint[] {
  // Session level, else the m-lines' (bundled m-lines repeat the same one).
  const found = sdp.fingerprint ? [sdp.fingerprint] : sdp.media.flatMap((m) => (m.fingerprint ? [m.fingerprint] : []));
  if (found.length === 0) throw new OfferError('malformed', 'the SDP offer has no a=fingerprint: WebRTC media needs DTLS');
  const seen = new Map<string, DtlsFingerprint>();
  for (const f of found) {
    const algorithm = String(f.type).toLowerCase();
    const value = String(f.hash);
    if (!FINGERPRINT_ALGORITHMS.has(algorithm)) throw new OfferError('malformed', `unsupported a=fingerprint hash function "${algorithm.slice(0, 20)}"`);
    if (!FINGERPRINT_VALUE.test(value)) throw new OfferError('malformed', 'a=fingerprint is not a hex fingerprint');
    seen.set(`${algorithm} ${value.toUpperCase()}`, { algorithm, value: value.toUpperCase() });
  }
  return [...seen.values()];
}

function readSetup(sdp: SessionDescription): DtlsSetup {
  const setup = sdp.setup ?? sdp.media.find((m) => m.setup)?.setup;
  // RFC 4145: no a=setup means "active".
  if (setup === undefined) return 'active';
  if (setup === 'actpass' || setup === 'active' || setup === 'passive') return setup;
  throw new OfferError('malformed', `a=setup:${String(setup).slice(0, 20)} is not valid in an offer (actpass, active or passive)`);
}

function readMedia(m: MediaDescription, index: number, sdp: SessionDescription): OfferedMedia {
  const where = `m-line ${index}`;
  const type = String(m.type);
  const kind = type === 'audio' || type === 'video' ? type : undefined;
  const mid = m.mid === undefined ? undefined : String(m.mid);
  if (mid !== undefined && !MID.test(mid)) throw new OfferError('malformed', `${where}: a=mid must be 1-32 letters, digits or "_.~+-"`);
  const direction = m.direction ?? sdp.direction ?? 'sendrecv';
  return {
    index,
    type,
    kind,
    mid,
    port: Number(m.port),
    protocol: String(m.protocol),
    formats: String(m.payloads ?? ''),
    bundleOnly: m.bundleOnly === 'bundle-only',
    direction,
    codecs: kind ? readCodecs(m, kind, where) : [],
    extensions: readExtensions(m.ext ?? sdp.ext ?? [], where),
    ...readSsrcs(m, where),
    rids: readRids(m, where),
    simulcastSend: readSimulcastSend(m),
    rtcpMux: m.rtcpMux === 'rtcp-mux',
    rtcpRsize: m.rtcpRsize === 'rtcp-rsize',
  };
}

function readCodecs(m: MediaDescription, kind: 'audio' | 'video', where: string): OfferedCodec[] {
  const order = String(m.payloads ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  if (order.some((pt) => !Number.isInteger(pt) || pt < 0 || pt > 127)) throw new OfferError('malformed', `${where}: payload types must be 0-127`);
  const codecs: OfferedCodec[] = [];
  for (const pt of order) {
    const rtpmap = m.rtp.find((r) => r.payload === pt);
    // Static payload types without a=rtpmap (PCMU...) are nothing OnAir takes.
    if (!rtpmap || typeof rtpmap.rate !== 'number' || !Number.isFinite(rtpmap.rate) || rtpmap.rate <= 0) continue;
    const name = String(rtpmap.codec);
    const fmtp = m.fmtp.filter((f) => f.payload === pt).map((f) => f.config);
    codecs.push({
      payloadType: pt,
      name,
      mimeType: `${kind}/${name}`,
      clockRate: rtpmap.rate,
      channels: kind === 'audio' ? (typeof rtpmap.encoding === 'number' ? rtpmap.encoding : Number(rtpmap.encoding ?? 1)) || 1 : undefined,
      parameters: Object.assign({}, ...fmtp.map(parseFmtp)) as CodecParameters,
      rtcpFeedback: (m.rtcpFb ?? [])
        .filter((fb) => fb.payload === '*' || Number(fb.payload) === pt)
        .map((fb) => ({ type: String(fb.type), ...(fb.subtype ? { parameter: String(fb.subtype) } : {}) })),
    });
  }
  return codecs;
}

/**
 * a=fmtp parameters. Numbers stay numbers (mediasoup compares packetization-mode, apt... as numbers), but
 * profile-level-id is always a string: "640032" is a hex code, not a number (sdp-transform's parseParams
 * would turn it into one).
 */
export function parseFmtp(config: string): CodecParameters {
  const params: CodecParameters = {};
  for (const part of String(config).split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!key || key === '__proto__') continue;
    params[key] = key !== 'profile-level-id' && /^\d{1,15}$/.test(value) ? Number(value) : value;
  }
  return params;
}

function readExtensions(ext: NonNullable<MediaDescription['ext']>, where: string): OfferedExtension[] {
  return ext.map((e) => {
    const id = Number(e.value);
    if (!Number.isInteger(id) || id < 1 || id > 255) throw new OfferError('malformed', `${where}: a=extmap ids must be 1-255`);
    return { id, uri: String(e.uri) };
  });
}

function ssrcNumber(v: unknown, where: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_SSRC) throw new OfferError('malformed', `${where}: an SSRC must be 1-${MAX_SSRC}`);
  return n;
}

function readSsrcs(m: MediaDescription, where: string): Pick<OfferedMedia, 'ssrcs' | 'ssrcGroups' | 'cname'> {
  const ssrcs: number[] = [];
  let cname: string | undefined;
  for (const line of m.ssrcs ?? []) {
    const ssrc = ssrcNumber(line.id, where);
    if (!ssrcs.includes(ssrc)) ssrcs.push(ssrc);
    if (line.attribute === 'cname' && line.value && cname === undefined) cname = String(line.value).slice(0, 64);
  }
  const ssrcGroups = (m.ssrcGroups ?? []).map((g) => ({
    semantics: String(g.semantics).toUpperCase(),
    ssrcs: String(g.ssrcs)
      .split(/\s+/)
      .filter(Boolean)
      .map((s) => ssrcNumber(s, where)),
  }));
  return { ssrcs, ssrcGroups, cname };
}

function readRids(m: MediaDescription, where: string): OfferedRid[] {
  return (m.rids ?? []).map((r) => {
    const id = String(r.id);
    if (!RID.test(id)) throw new OfferError('malformed', `${where}: a rid must be 1-16 letters, digits, "_" or "-"`);
    const direction = r.direction === 'recv' ? 'recv' : 'send';
    const params: Record<string, string> = {};
    for (const part of String(r.params ?? '').split(';')) {
      const [k, v] = part.split('=');
      if (k && v !== undefined && k.trim() !== '__proto__') params[k.trim()] = v.trim();
    }
    return { id, direction, params };
  });
}

function readSimulcastSend(m: MediaDescription): string[] | undefined {
  const s = m.simulcast;
  if (!s) return undefined;
  const list = s.dir1 === 'send' ? s.list1 : s.dir2 === 'send' ? s.list2 : undefined;
  if (!list) return undefined;
  return sdpTransform
    .parseSimulcastStreamList(String(list))
    .map((alternatives) => alternatives.find((a) => !a.paused))
    .filter((a): a is { scid: string | number; paused: boolean } => a !== undefined)
    .map((a) => String(a.scid));
}
