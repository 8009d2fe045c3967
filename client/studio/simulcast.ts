/**
 * The simulcast layers a broadcaster sends, chosen by the capture height: browsers send only 2 layers below
 * 720p, so 3 layers from 720p up and 2 below. rids r0 (lowest) … rN (full size).
 */
import type { types } from 'mediasoup-client';

/** Bitrate of the full-size layer by capture height (the first row whose height the capture reaches). */
const TOP_BITRATE: [minHeight: number, bps: number][] = [
  [1080, 3_000_000],
  [720, 1_500_000],
  [480, 1_000_000],
  [0, 700_000],
];

export function simulcastEncodings(captureHeight: number): types.RtpEncodingParameters[] {
  const top = TOP_BITRATE.find(([min]) => captureHeight >= min)![1];
  if (captureHeight >= 720) {
    return [
      { rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: Math.round(top / 10) },
      { rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: Math.round(top / 3) },
      { rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: top },
    ];
  }
  return [
    { rid: 'r0', scaleResolutionDownBy: 2, maxBitrate: Math.round(top / 4) },
    { rid: 'r1', scaleResolutionDownBy: 1, maxBitrate: top },
  ];
}
