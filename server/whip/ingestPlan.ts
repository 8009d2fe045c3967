/**
 * WHIP: from a publisher's SDP offer to mediasoup producer parameters and the answer's m-lines. Per m-line:
 * the first offered codec the router has (in the offerer's order), its RTX twin, the RTCP feedback and
 * header extensions both sides know, and the encodings: rids (a=simulcast), an a=ssrc-group:SIM, or one
 * SSRC with its a=ssrc-group:FID retransmission SSRC. One audio and one video track per broadcast.
 * Pure: the router's capabilities come in as a value.
 */
import type { types } from 'mediasoup';
import { describeCodec, isMediaCodec, isRtx, sameCodec } from './codecMatching.js';
import { OfferError } from './OfferError.js';
import type { AcceptedSection, AnswerCodec, AnswerSection } from './sdpAnswer.js';
import { unusableSection } from './sectionRules.js';
import type { Offer, OfferedCodec, OfferedExtension, OfferedMedia, OfferedRid, RtcpFeedback } from './sdpOffer.js';

const URI = {
  mid: 'urn:ietf:params:rtp-hdrext:sdes:mid',
  rid: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  repairedRid: 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
  absSendTime: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  transportCc: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
} as const;

export interface IngestTrack {
  kind: 'audio' | 'video';
  rtpParameters: types.RtpParameters;
}

export interface IngestPlan {
  tracks: IngestTrack[];
  sections: AnswerSection[];
}

export function planIngest(offer: Offer, caps: types.RtpCapabilities, opts: { maxSimulcastLayers: number }): IngestPlan {
  const tracks: IngestTrack[] = [];
  const sections: AnswerSection[] = [];
  for (const media of offer.media) {
    const problem =
      unusableSection(media, offer, 'publisher', tracks.length > 0) ??
      (tracks.some((t) => t.kind === media.kind) ? `a broadcast has one ${media.kind} track; this is another one` : undefined);
    if (problem) {
      sections.push({ accepted: false, media, reason: problem });
      continue;
    }
    const { track, section } = planTrack(media, media.kind!, caps, opts);
    tracks.push(track);
    sections.push(section);
  }
  if (tracks.length === 0) {
    const reasons = sections.map((s) => (s.accepted ? '' : `m-line ${s.media.index} (${s.media.type}): ${s.reason}`)).filter(Boolean);
    throw new OfferError('not_acceptable', `nothing to receive in this offer: ${reasons.join('; ')}`);
  }
  return { tracks, sections };
}

function planTrack(
  media: OfferedMedia,
  kind: 'audio' | 'video',
  caps: types.RtpCapabilities,
  opts: { maxSimulcastLayers: number },
): { track: IngestTrack; section: AcceptedSection } {
  const capCodecs = caps.codecs?.filter((c) => c.kind === kind && !isRtx(c)) ?? [];
  let chosen: OfferedCodec | undefined;
  let capCodec: types.RtpCodecCapability | undefined;
  for (const codec of media.codecs) {
    if (!isMediaCodec(codec)) continue;
    capCodec = capCodecs.find((c) => sameCodec(codec, c));
    if (capCodec) {
      chosen = codec;
      break;
    }
  }
  if (!chosen || !capCodec) {
    const offered = [...new Set(media.codecs.filter(isMediaCodec).map(describeCodec))];
    const supported = [...new Set(capCodecs.map(describeCodec))];
    throw new OfferError(
      'not_acceptable',
      `${kind}: none of the offered codecs (${offered.join(', ') || 'none'}) is supported; OnAir receives ${supported.join(', ')}`,
    );
  }
  const rtx =
    kind === 'video'
      ? media.codecs.find((c) => /^rtx$/i.test(c.name) && Number(c.parameters.apt) === chosen.payloadType && c.clockRate === chosen.clockRate)
      : undefined;

  const extensions = acceptedExtensions(media.extensions, kind, caps);
  const rtcpFeedback = acceptedFeedback(chosen.rtcpFeedback, capCodec.rtcpFeedback ?? [], extensions);
  const { encodings, simulcastRecv } = encodingsFor(media, chosen, rtx, extensions, opts);

  const rtpParameters: types.RtpParameters = {
    ...(media.mid !== undefined ? { mid: media.mid } : {}),
    codecs: [
      {
        mimeType: capCodec.mimeType,
        payloadType: chosen.payloadType,
        clockRate: chosen.clockRate,
        ...(kind === 'audio' ? { channels: chosen.channels ?? 1 } : {}),
        parameters: { ...chosen.parameters },
        rtcpFeedback,
      },
      ...(rtx ? [{ mimeType: `${kind}/rtx`, payloadType: rtx.payloadType, clockRate: rtx.clockRate, parameters: { apt: chosen.payloadType }, rtcpFeedback: [] }] : []),
    ],
    headerExtensions: extensions.map((e) => ({ uri: e.uri, id: e.id })),
    encodings,
    rtcp: { ...(media.cname ? { cname: media.cname } : {}), reducedSize: media.rtcpRsize, mux: true },
  };

  const answerCodecs: AnswerCodec[] = [
    {
      payloadType: chosen.payloadType,
      name: chosen.name,
      clockRate: chosen.clockRate,
      channels: chosen.channels,
      // Opus: say the server takes stereo, or browsers send mono.
      parameters: capCodec.mimeType.toLowerCase() === 'audio/opus' ? { ...chosen.parameters, stereo: 1 } : { ...chosen.parameters },
      rtcpFeedback,
    },
    ...(rtx ? [{ payloadType: rtx.payloadType, name: rtx.name, clockRate: rtx.clockRate, parameters: { apt: chosen.payloadType }, rtcpFeedback: [] }] : []),
  ];
  return {
    track: { kind, rtpParameters },
    section: { accepted: true, media, direction: 'recvonly', codecs: answerCodecs, extensions, simulcastRecv },
  };
}

/** Offered header extensions the router receives for this kind (the first of each URI and of each id). */
function acceptedExtensions(offered: OfferedExtension[], kind: 'audio' | 'video', caps: types.RtpCapabilities): OfferedExtension[] {
  const receives = (d: types.RtpHeaderExtensionDirection | undefined) => d === undefined || d === 'sendrecv' || d === 'recvonly';
  const known = new Set((caps.headerExtensions ?? []).filter((h) => h.kind === kind && receives(h.direction)).map((h) => h.uri));
  const seenUris = new Set<string>();
  const seenIds = new Set<number>();
  return offered.filter((e) => {
    if (!known.has(e.uri) || seenUris.has(e.uri) || seenIds.has(e.id)) return false;
    seenUris.add(e.uri);
    seenIds.add(e.id);
    return true;
  });
}

/** Feedback both sides do; congestion control feedback only with the header extension it needs. */
function acceptedFeedback(offered: RtcpFeedback[], capable: RtcpFeedback[], extensions: OfferedExtension[]): RtcpFeedback[] {
  const key = (fb: RtcpFeedback) => `${fb.type.toLowerCase()} ${fb.parameter ?? ''}`;
  const capableKeys = new Set(capable.map(key));
  const has = (uri: string) => extensions.some((e) => e.uri === uri);
  const out = new Map<string, RtcpFeedback>();
  for (const fb of offered) {
    const k = key(fb);
    if (!capableKeys.has(k) || out.has(k)) continue;
    if (fb.type === 'transport-cc' && !has(URI.transportCc)) continue;
    if (fb.type === 'goog-remb' && !has(URI.absSendTime)) continue;
    out.set(k, { type: fb.type, ...(fb.parameter ? { parameter: fb.parameter } : {}) });
  }
  return [...out.values()];
}

function encodingsFor(
  media: OfferedMedia,
  codec: OfferedCodec,
  rtx: OfferedCodec | undefined,
  extensions: OfferedExtension[],
  opts: { maxSimulcastLayers: number },
): { encodings: types.RtpEncodingParameters[]; simulcastRecv?: string[] } {
  const where = `m-line ${media.index} (${media.kind})`;
  const has = (uri: string) => extensions.some((e) => e.uri === uri);
  // Temporal layers: libwebrtc sends VP8 (and H.264) simulcast with 3; mediasoup then forwards them all.
  const layered = (n: number) => (n > 1 && /^(vp8|h264)$/i.test(codec.name) ? { scalabilityMode: 'L1T3' } : {});

  const sendRids = media.rids.filter((r) => r.direction === 'send');
  const ridIds = media.simulcastSend ?? sendRids.map((r) => r.id);
  if (ridIds.length > 0) {
    const declared = new Map(sendRids.map((r) => [r.id, r]));
    const rids = ridIds.map((id) => declared.get(id) ?? { id, direction: 'send' as const, params: {} });
    if (rids.length > opts.maxSimulcastLayers) throw new OfferError('malformed', `${where}: at most ${opts.maxSimulcastLayers} simulcast layers`);
    if (!has(URI.rid)) throw new OfferError('malformed', `${where}: simulcast with rids needs the header extension ${URI.rid}`);
    const ordered = ridsLowToHigh(rids);
    return { encodings: ordered.map((r) => ({ rid: r.id, ...layered(ordered.length) })), simulcastRecv: rids.map((r) => r.id) };
  }

  const fid = new Map<number, number>();
  for (const g of media.ssrcGroups) if (g.semantics === 'FID' && g.ssrcs.length === 2) fid.set(g.ssrcs[0]!, g.ssrcs[1]!);
  const withRtx = (ssrc: number): types.RtpEncodingParameters => {
    const rtxSsrc = fid.get(ssrc);
    return { ssrc, ...(rtx && rtxSsrc !== undefined ? { rtx: { ssrc: rtxSsrc } } : {}) };
  };
  const sim = media.ssrcGroups.find((g) => g.semantics === 'SIM');
  if (sim && sim.ssrcs.length > 0) {
    if (sim.ssrcs.length > opts.maxSimulcastLayers) throw new OfferError('malformed', `${where}: at most ${opts.maxSimulcastLayers} simulcast layers`);
    // a=ssrc-group:SIM lists layers from the lowest up.
    return { encodings: sim.ssrcs.map((ssrc) => ({ ...withRtx(ssrc), ...layered(sim.ssrcs.length) })) };
  }
  const secondaries = new Set(fid.values());
  const primary = media.ssrcs.find((s) => !secondaries.has(s));
  if (primary !== undefined) return { encodings: [withRtx(primary)] };
  // No SSRC: mediasoup can still route the one stream by its MID header extension.
  if (media.mid !== undefined && has(URI.mid)) return { encodings: [{}] };
  throw new OfferError('malformed', `${where}: no a=ssrc, no rids and no MID header extension: the stream cannot be identified`);
}

const RID_VOCABULARIES = [
  ['q', 'h', 'f'],
  ['l', 'm', 'h'],
  ['low', 'mid', 'high'],
  ['low', 'medium', 'high'],
  ['quarter', 'half', 'full'],
];

/**
 * mediasoup wants simulcast encodings from the lowest resolution up. SDP does not say which is which, so:
 * by max-height/max-width when every rid has one, else by a known naming (q/h/f, l/m/h, low/mid/high),
 * else in the offer's order (clients should list them low to high, as mediasoup-client does).
 */
export function ridsLowToHigh<R extends Pick<OfferedRid, 'id' | 'params'>>(rids: R[]): R[] {
  const size = (r: R) => Number(r.params['max-height'] ?? r.params['max-width'] ?? Number.NaN);
  if (rids.every((r) => Number.isFinite(size(r)))) return [...rids].sort((a, b) => size(a) - size(b));
  const ids = rids.map((r) => r.id.toLowerCase());
  const vocabulary = RID_VOCABULARIES.find((v) => ids.every((id) => v.includes(id)));
  if (vocabulary) return [...rids].sort((a, b) => vocabulary.indexOf(a.id.toLowerCase()) - vocabulary.indexOf(b.id.toLowerCase()));
  return [...rids];
}
