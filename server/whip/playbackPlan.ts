/**
 * WHEP: from a player's SDP offer (recvonly) and the broadcast's producers to what the viewer's consumers
 * need, then from those consumers to the answer's m-lines. Pure.
 *
 * Why a router of the viewer's own: a browser that made the offer decodes with the payload types of its
 * offer and ignores other numbers in the answer (measured with Chromium 156), and mediasoup 3.12 sends every
 * consumer the payload types of its router. So each WHEP viewer gets a router whose codecs carry the
 * viewer's payload types (`routerCodecs`), fed from the broadcast's router through a pipe. RTX is left out:
 * mediasoup picks RTX payload types itself, and they would not be the viewer's. Header extensions whose id
 * differs between the offer and mediasoup's fixed ids are left out of the answer too (the browser then
 * ignores those ids in the packets).
 */
import type { types } from 'mediasoup';
import { describeCodec, isMediaCodec, sameCodec } from './codecMatching.js';
import { OfferError } from './OfferError.js';
import type { AcceptedSection, RejectedSection } from './sdpAnswer.js';
import type { Offer, OfferedCodec, OfferedMedia } from './sdpOffer.js';
import { unusableSection } from './sectionRules.js';

/** A producer of the broadcast, as the plan needs it. */
export interface PlaybackSource {
  kind: 'audio' | 'video';
  producerId: string;
  /** The producer's media codec (its first non-RTX codec). */
  codec: types.RtpCodecParameters;
}

export interface PlaybackTrack {
  media: OfferedMedia;
  source: PlaybackSource;
  /** The offered codec that receives the producer's. */
  offerCodec: OfferedCodec;
  /** What the viewer receives, in mediasoup's terms: its payload type, its header extension ids. */
  rtpCapabilities: types.RtpCapabilities;
}

export interface PlaybackPlan {
  tracks: PlaybackTrack[];
  rejected: RejectedSection[];
  /** Codecs of the viewer's router: the producers' codecs under the viewer's payload types. */
  routerCodecs: types.RtpCodecCapability[];
}

export function planPlayback(offer: Offer, sources: PlaybackSource[]): PlaybackPlan {
  const tracks: PlaybackTrack[] = [];
  const rejected: RejectedSection[] = [];
  const problem = (media: OfferedMedia): string | undefined => {
    const unusable = unusableSection(media, offer, 'player', tracks.length > 0);
    if (unusable) return unusable;
    if (tracks.some((t) => t.source.kind === media.kind)) return `the stream has one ${media.kind} track, already on an earlier m-line`;
    if (!sources.some((s) => s.kind === media.kind)) return `the stream has no ${media.kind} now`;
    return undefined;
  };
  for (const media of offer.media) {
    const reason = problem(media);
    if (reason) {
      rejected.push({ accepted: false, media, reason });
      continue;
    }
    const source = sources.find((s) => s.kind === media.kind)!;
    const offerCodec = media.codecs.find((c) => isMediaCodec(c) && sameCodec(c, source.codec));
    if (!offerCodec) {
      throw new OfferError('not_acceptable', `${source.kind}: this stream is ${describeCodec(source.codec)}, which the player did not offer to receive`);
    }
    tracks.push({ media, source, offerCodec, rtpCapabilities: capabilitiesFor(media, source, offerCodec) });
  }
  if (tracks.length === 0) {
    throw new OfferError('not_acceptable', `nothing to send for this offer: ${rejected.map((r) => `m-line ${r.media.index}: ${r.reason}`).join('; ')}`);
  }
  const routerCodecs = tracks.map(({ source, offerCodec }) => ({
    kind: source.kind,
    mimeType: source.codec.mimeType,
    clockRate: source.codec.clockRate,
    ...(source.kind === 'audio' ? { channels: source.codec.channels ?? 1 } : {}),
    parameters: { ...source.codec.parameters },
    preferredPayloadType: offerCodec.payloadType,
  })) as types.RtpCodecCapability[];
  return { tracks, rejected, routerCodecs };
}

function capabilitiesFor(media: OfferedMedia, source: PlaybackSource, offerCodec: OfferedCodec): types.RtpCapabilities {
  return {
    codecs: [
      {
        kind: source.kind,
        mimeType: source.codec.mimeType,
        preferredPayloadType: offerCodec.payloadType,
        clockRate: offerCodec.clockRate,
        ...(source.kind === 'audio' ? { channels: offerCodec.channels ?? 1 } : {}),
        parameters: { ...offerCodec.parameters },
        rtcpFeedback: offerCodec.rtcpFeedback.map((fb) => ({ type: fb.type, parameter: fb.parameter ?? '' })),
      },
    ],
    // mediasoup keeps only those whose id is also its own id for the URI.
    headerExtensions: media.extensions.map((e) => ({
      kind: source.kind,
      uri: e.uri,
      preferredId: e.id,
      preferredEncrypt: false,
      direction: 'sendrecv' as const,
    })),
  };
}

/** The answer's m-line for a consumer made from `track`. */
export function playbackSection(track: PlaybackTrack, consumer: { id: string; rtpParameters: types.RtpParameters }, streamLabel: string): AcceptedSection {
  const p = consumer.rtpParameters;
  const encoding = p.encodings?.[0];
  if (!encoding?.ssrc) throw new Error('the consumer has no SSRC');
  const offeredName = (pt: number) => track.media.codecs.find((c) => c.payloadType === pt)?.name;
  return {
    accepted: true,
    media: track.media,
    direction: 'sendonly',
    codecs: p.codecs.map((c) => ({
      payloadType: c.payloadType,
      name: offeredName(c.payloadType) ?? c.mimeType.split('/')[1] ?? c.mimeType,
      clockRate: c.clockRate,
      channels: c.channels,
      parameters: { ...(c.parameters as Record<string, string | number>) },
      rtcpFeedback: (c.rtcpFeedback ?? []).map((fb) => ({ type: fb.type, ...(fb.parameter ? { parameter: fb.parameter } : {}) })),
    })),
    extensions: (p.headerExtensions ?? []).map((e) => ({ id: e.id, uri: e.uri })),
    source: {
      ssrc: encoding.ssrc,
      rtxSsrc: encoding.rtx?.ssrc,
      cname: p.rtcp?.cname ?? 'onair',
      streamId: streamLabel,
      trackId: consumer.id,
    },
  };
}
