/**
 * Counting received RTP from the clear header of SRTP packets, without decrypting: SRTP encrypts only the
 * payload, so the version, payload type, sequence number and SSRC are readable. Pure code, no I/O.
 */

/** What a datagram on a WebRTC 5-tuple is, by its first byte (RFC 7983) and, for RTP/RTCP, its second (RFC 5761). */
export type PacketClass = 'stun' | 'dtls' | 'rtp' | 'rtcp' | 'other';

export function classify(packet: Buffer): PacketClass {
  const b0 = packet[0];
  if (b0 === undefined) return 'other';
  if (b0 < 4) return 'stun';
  if (b0 >= 20 && b0 <= 63) return 'dtls';
  if (b0 >= 128 && b0 <= 191 && packet.length >= 12) {
    // RTCP packet types 192–223 share the byte with RTP's marker bit + payload type 64–95.
    const pt = packet[1]! & 0x7f;
    return pt >= 64 && pt <= 95 ? 'rtcp' : 'rtp';
  }
  return 'other';
}

/** SSRC of an RTP packet (classify() said 'rtp'). */
export const rtpSsrc = (packet: Buffer): number => packet.readUInt32BE(8);
/** Sequence number of an RTP packet. */
export const rtpSequence = (packet: Buffer): number => packet.readUInt16BE(2);

/**
 * Received/expected packets and bytes of one RTP stream (one SSRC), RFC 3550 A.1 style: sequence numbers
 * are extended across 16-bit wraps; late (reordered) packets count as received but do not move the highest
 * sequence number. `expected` = highest − first + 1, so loss = expected − received (duplicates would hide
 * loss; mediasoup does not send any to a receiver that sends no NACKs).
 */
export class RtpStreamCounter {
  received = 0;
  bytes = 0;
  #first = -1;
  #highest = -1;

  record(sequence: number, bytes: number): void {
    this.received++;
    this.bytes += bytes;
    if (this.#highest < 0) {
      this.#first = this.#highest = sequence;
      return;
    }
    const cycles = this.#highest - (this.#highest & 0xffff);
    // The candidate extended number closest to the highest so far (forward across a wrap, or late).
    let ext = cycles + sequence;
    if (ext < this.#highest - 0x8000) ext += 0x10000;
    else if (ext > this.#highest + 0x8000) ext -= 0x10000;
    if (ext > this.#highest) this.#highest = ext;
  }

  get expected(): number {
    return this.#highest < 0 ? 0 : this.#highest - this.#first + 1;
  }
}
