/** Which video codec a broadcaster sends: VP8 by default, H.264 for devices that decode it in hardware. */
import type { types } from 'mediasoup-client';
import { OnAirClientError } from '../common/errors.js';

export const VIDEO_CODECS = ['VP8', 'H264'] as const;
export type VideoCodecName = (typeof VIDEO_CODECS)[number];

/** The codec, among those both this browser and the server's routers support, to pass to `produce()`. */
export function pickVideoCodec(sendCapabilities: types.RtpCapabilities, name: VideoCodecName): types.RtpCodecCapability {
  const candidates = (sendCapabilities.codecs ?? []).filter((c) => c.mimeType.toLowerCase() === `video/${name.toLowerCase()}`);
  // H.264: packetization-mode 1 with the constrained baseline profile plays everywhere.
  const score = (c: types.RtpCodecCapability) =>
    (c.parameters?.['packetization-mode'] === 1 ? 2 : 0) + (String(c.parameters?.['profile-level-id'] ?? '').startsWith('42e0') ? 1 : 0);
  const best = candidates.sort((a, b) => score(b) - score(a))[0];
  if (!best) throw new OnAirClientError('media', `this browser cannot send ${name} video to this server: choose another codec`);
  return best;
}
