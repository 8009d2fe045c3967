/**
 * The picture size carried by one RTP packet of a keyframe, for the codecs whose keyframes say it in their
 * first packet: H.264 (the SPS, alone or in a STAP-A) and VP8 (the keyframe header after the payload
 * descriptor). Pure functions over bytes; anything malformed or not a keyframe start gives undefined.
 */
import spsInfo from 'node-media-server/src/protocol/sps_info.js';

export interface FrameSize {
  width: number;
  height: number;
}

/** The payload of an RTP packet (after the header, CSRCs and header extension; padding removed), or undefined. */
export function rtpPayload(packet: Buffer): Buffer | undefined {
  if (packet.length < 12 || packet[0]! >> 6 !== 2) return undefined;
  let offset = 12 + (packet[0]! & 0x0f) * 4;
  if (packet[0]! & 0x10) {
    if (packet.length < offset + 4) return undefined;
    offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  }
  let end = packet.length;
  if (packet[0]! & 0x20) end -= packet[packet.length - 1]!;
  return offset < end ? packet.subarray(offset, end) : undefined;
}

/** Size from an H.264 RTP payload holding an SPS (single NAL unit or STAP-A). */
export function h264FrameSize(payload: Buffer): FrameSize | undefined {
  const type = payload[0]! & 0x1f;
  if (type === 7) return sps(payload);
  if (type !== 24) return undefined;
  for (let offset = 1; offset + 2 < payload.length; ) {
    const size = payload.readUInt16BE(offset);
    const nal = payload.subarray(offset + 2, offset + 2 + size);
    if (nal.length < size || size === 0) return undefined;
    if ((nal[0]! & 0x1f) === 7) return sps(nal);
    offset += 2 + size;
  }
  return undefined;
}

function sps(nal: Buffer): FrameSize | undefined {
  try {
    const size = spsInfo.parseH264Sps(nal);
    return size && size.width > 0 && size.height > 0 ? size : undefined;
  } catch {
    return undefined; // a truncated or hostile SPS
  }
}

/** Length of a VP8 payload descriptor (RFC 7741 §4.2), or undefined when truncated. */
function vp8DescriptorLength(payload: Buffer): number | undefined {
  if (payload.length < 1) return undefined;
  if (!(payload[0]! & 0x80)) return 1;
  if (payload.length < 2) return undefined;
  const x = payload[1]!;
  let length = 2;
  if (x & 0x80) length += payload.length > length && payload[length]! & 0x80 ? 2 : 1; // PictureID, M bit = 15 bits
  if (x & 0x40) length += 1; // TL0PICIDX
  if (x & 0x30) length += 1; // TID/Y/KEYIDX
  return length <= payload.length ? length : undefined;
}

/** Size from the first packet of a VP8 keyframe (RFC 6386 §9.1: frame tag, start code 9d 01 2a, sizes). */
export function vp8FrameSize(payload: Buffer): FrameSize | undefined {
  const d = vp8DescriptorLength(payload);
  if (d === undefined) return undefined;
  const startOfPartition0 = (payload[0]! & 0x10) !== 0 && (payload[0]! & 0x07) === 0;
  const frame = payload.subarray(d);
  if (!startOfPartition0 || frame.length < 10 || frame[0]! & 0x01) return undefined;
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  const width = frame.readUInt16LE(6) & 0x3fff;
  const height = frame.readUInt16LE(8) & 0x3fff;
  return width > 0 && height > 0 ? { width, height } : undefined;
}

/** Size from a keyframe's first RTP packet of codec `mimeType` ("video/H264", "video/VP8"), if it says it. */
export function frameSize(mimeType: string, packet: Buffer): FrameSize | undefined {
  const payload = rtpPayload(packet);
  if (!payload) return undefined;
  const codec = mimeType.toLowerCase();
  if (codec === 'video/h264') return h264FrameSize(payload);
  if (codec === 'video/vp8') return vp8FrameSize(payload);
  return undefined;
}
