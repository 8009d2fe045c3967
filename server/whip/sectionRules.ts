/** The rules every m-line must meet to be used, for WHIP (the client sends) and WHEP (the client receives). */
import type { Offer, OfferedMedia } from './sdpOffer.js';

const DTLS_SRTP = /^(UDP|TCP)\/(TLS|DTLS)\/RTP\/SAVPF?$/i;

/** Why this m-line cannot be used, or undefined. `anyAccepted`: an earlier m-line of the offer is used. */
export function unusableSection(media: OfferedMedia, offer: Offer, role: 'publisher' | 'player', anyAccepted: boolean): string | undefined {
  if (!media.kind) return `OnAir ${role === 'publisher' ? 'receives' : 'sends'} audio and video only, not ${media.type}`;
  if (media.port === 0 && !media.bundleOnly) return 'the offerer disabled this m-line (port 0)';
  if (role === 'publisher' && (media.direction === 'recvonly' || media.direction === 'inactive')) return 'a WHIP publisher must send (sendonly) on its m-lines';
  if (role === 'player' && (media.direction === 'sendonly' || media.direction === 'inactive')) return 'a WHEP player must receive (recvonly) on its m-lines';
  if (!DTLS_SRTP.test(media.protocol)) return `${media.protocol} is not DTLS-SRTP (UDP/TLS/RTP/SAVPF)`;
  if (!media.rtcpMux) return 'OnAir needs a=rtcp-mux';
  // One transport carries everything: m-lines outside the BUNDLE group (or, without one, all but the first) cannot be used.
  if (offer.bundle ? media.mid === undefined || !offer.bundle.includes(media.mid) : anyAccepted) return 'all media must share one connection (a=group:BUNDLE)';
  return undefined;
}
