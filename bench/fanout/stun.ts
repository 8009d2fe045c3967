/**
 * The few STUN messages a lightweight ICE client needs against mediasoup's ICE-lite server (RFC 8489 /
 * RFC 8445): a Binding Request carrying USERNAME, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE,
 * MESSAGE-INTEGRITY and FINGERPRINT (mediasoup answers 400 without the last two, and 487 to ICE-CONTROLLED),
 * and recognising its success response. Pure functions over Buffers.
 */
import crypto from 'node:crypto';
import zlib from 'node:zlib';

const MAGIC_COOKIE = 0x2112a442;
const HEADER_BYTES = 20;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const FINGERPRINT_XOR = 0x5354554e;

const ATTR = {
  username: 0x0006,
  messageIntegrity: 0x0008,
  priority: 0x0024,
  useCandidate: 0x0025,
  fingerprint: 0x8028,
  iceControlling: 0x802a,
} as const;

export interface BindingRequest {
  /** The server's ICE username fragment (first) and ours: USERNAME is `server:client`. */
  serverUfrag: string;
  clientUfrag: string;
  /** The server's ICE password: the MESSAGE-INTEGRITY key (short-term credentials). */
  serverPassword: string;
  /** 12 random bytes, to match the response. */
  transactionId: Buffer;
  /** ICE-CONTROLLING tie-breaker: 8 bytes. */
  tieBreaker: Buffer;
  priority?: number;
}

function attribute(type: number, value: Buffer): Buffer {
  const padded = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  padded.writeUInt16BE(type, 0);
  padded.writeUInt16BE(value.length, 2);
  value.copy(padded, 4);
  return padded;
}

function header(type: number, bodyLength: number, transactionId: Buffer): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(bodyLength, 2);
  h.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(h, 8);
  return h;
}

export function bindingRequest(r: BindingRequest): Buffer {
  if (r.transactionId.length !== 12) throw new Error('a STUN transaction id is 12 bytes');
  if (r.tieBreaker.length !== 8) throw new Error('an ICE tie-breaker is 8 bytes');
  const priority = Buffer.alloc(4);
  priority.writeUInt32BE(r.priority ?? 0x6e0001ff, 0);
  const body = Buffer.concat([
    attribute(ATTR.username, Buffer.from(`${r.serverUfrag}:${r.clientUfrag}`)),
    attribute(ATTR.priority, priority),
    attribute(ATTR.iceControlling, r.tieBreaker),
    attribute(ATTR.useCandidate, Buffer.alloc(0)),
  ]);
  // MESSAGE-INTEGRITY covers everything before it, with the header's length already counting it (24 bytes).
  const withIntegrityLength = Buffer.concat([header(BINDING_REQUEST, body.length + 24, r.transactionId), body]);
  const hmac = crypto.createHmac('sha1', r.serverPassword).update(withIntegrityLength).digest();
  const signed = Buffer.concat([withIntegrityLength, attribute(ATTR.messageIntegrity, hmac)]);
  // FINGERPRINT likewise: a CRC-32 of everything before it, the length counting its own 8 bytes.
  signed.writeUInt16BE(signed.length - HEADER_BYTES + 8, 2);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE((zlib.crc32(signed) ^ FINGERPRINT_XOR) >>> 0, 0);
  return Buffer.concat([signed, attribute(ATTR.fingerprint, crc)]);
}

/** Whether `packet` is a Binding success response to the request with `transactionId`. */
export function isBindingSuccess(packet: Buffer, transactionId: Buffer): boolean {
  return (
    packet.length >= HEADER_BYTES &&
    packet.readUInt16BE(0) === BINDING_SUCCESS &&
    packet.readUInt32BE(4) === MAGIC_COOKIE &&
    packet.subarray(8, HEADER_BYTES).equals(transactionId)
  );
}
