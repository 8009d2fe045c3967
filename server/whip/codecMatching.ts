/**
 * When an offered codec is one a router (or a producer) has: the rules mediasoup 3.12 applies in
 * `ortc.matchCodecs(..., { strict: true })`, so what we pick here is what mediasoup then accepts.
 */
import { sameH264Profile } from './h264Profile.js';

export interface CodecLike {
  mimeType: string;
  clockRate: number;
  channels?: number | undefined;
  parameters?: Record<string, unknown> | undefined;
}

export const isRtx = (codec: { mimeType: string }): boolean => /\/rtx$/i.test(codec.mimeType);

/** Offered formats that are not a medium of their own (retransmission, redundancy, comfort noise, DTMF). */
const NOT_MEDIA = /^(rtx|red|ulpfec|flexfec-03|cn|telephone-event)$/i;
export const isMediaCodec = (codec: { name: string }): boolean => !NOT_MEDIA.test(codec.name);

const num = (v: unknown, fallback: number): number => (v === undefined || v === '' ? fallback : Number(v));

export function sameCodec(a: CodecLike, b: CodecLike): boolean {
  const mime = a.mimeType.toLowerCase();
  if (mime !== b.mimeType.toLowerCase() || a.clockRate !== b.clockRate) return false;
  if (mime.startsWith('audio/') && (a.channels ?? 1) !== (b.channels ?? 1)) return false;
  const pa = a.parameters ?? {};
  const pb = b.parameters ?? {};
  switch (mime) {
    case 'video/h264':
      return num(pa['packetization-mode'], 0) === num(pb['packetization-mode'], 0) && sameH264Profile(pa, pb);
    case 'video/vp9':
      return num(pa['profile-id'], 0) === num(pb['profile-id'], 0);
    default:
      return true;
  }
}

/** "H264 (profile-level-id 42e01f, packetization-mode 1)", for error messages. */
export function describeCodec(c: CodecLike): string {
  const [, name = c.mimeType] = c.mimeType.split('/');
  const p = c.parameters ?? {};
  if (c.mimeType.toLowerCase() === 'video/h264') {
    return `${name} (profile-level-id ${String(p['profile-level-id'] ?? '42e01f')}, packetization-mode ${String(p['packetization-mode'] ?? 0)})`;
  }
  return name;
}
