/**
 * H.264 profiles from profile-level-id (RFC 6184 section 8.1), as mediasoup and libwebrtc read them: two
 * H.264 codecs are "the same" when their profiles match, whatever their levels. A missing
 * profile-level-id means 42e01f (constrained baseline, level 3.1).
 */
export type H264Profile = 'constrained-baseline' | 'baseline' | 'main' | 'constrained-high' | 'high' | 'predictive-high-444';

/** profile_idc, a bit pattern of profile_iop (x = any bit), the profile. Order matters: first match wins. */
const PATTERNS: [number, string, H264Profile][] = [
  [0x42, 'x1xx0000', 'constrained-baseline'],
  [0x4d, '1xxx0000', 'constrained-baseline'],
  [0x58, '11xx0000', 'constrained-baseline'],
  [0x42, 'x0xx0000', 'baseline'],
  [0x58, '10xx0000', 'baseline'],
  [0x4d, '0x0x0000', 'main'],
  [0x64, '00000000', 'high'],
  [0x64, '00001100', 'constrained-high'],
  [0xf4, '00000000', 'predictive-high-444'],
];

const DEFAULT_PROFILE_LEVEL_ID = '42e01f';

const matches = (pattern: string, byte: number): boolean =>
  [...pattern].every((bit, i) => bit === 'x' || Number(bit) === ((byte >> (7 - i)) & 1));

/** The profile of a profile-level-id such as "42e01f", or undefined when it is not one. */
export function h264Profile(profileLevelId: unknown = DEFAULT_PROFILE_LEVEL_ID): H264Profile | undefined {
  const id = String(profileLevelId);
  if (!/^[0-9a-fA-F]{6}$/.test(id)) return undefined;
  const idc = parseInt(id.slice(0, 2), 16);
  const iop = parseInt(id.slice(2, 4), 16);
  return PATTERNS.find(([pIdc, pattern]) => pIdc === idc && matches(pattern, iop))?.[2];
}

export function sameH264Profile(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const pa = h264Profile(a['profile-level-id'] ?? DEFAULT_PROFILE_LEVEL_ID);
  const pb = h264Profile(b['profile-level-id'] ?? DEFAULT_PROFILE_LEVEL_ID);
  return pa !== undefined && pa === pb;
}
