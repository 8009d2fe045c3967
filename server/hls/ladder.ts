/** The HLS ladder: renditions by height, with their bitrates; never above the source. */

export interface Rung {
  height: number;
  /** Video bitrate, kbit/s. */
  videoKbps: number;
}

/** Bitrates per height for H.264 main at 30 fps (live, fast preset). */
const KBPS: Record<number, number> = { 2160: 12000, 1440: 8000, 1080: 4500, 720: 2500, 540: 1500, 480: 1000, 360: 600, 240: 350, 144: 200 };

export const DEFAULT_LADDER = [1080, 720, 480, 360];

export function kbpsFor(height: number): number {
  const known = KBPS[height];
  if (known) return known;
  // Scale from 720p by pixel count for heights not in the table.
  return Math.round((2500 * (height * height)) / (720 * 720) / 50) * 50 || 200;
}

/** Parses ONAIR_HLS_LADDER ("1080,720,480,360"). */
export function parseLadder(spec: string): number[] {
  const heights = spec
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((h) => Number(h.replace(/p$/i, '')));
  if (heights.length === 0 || heights.some((h) => !Number.isInteger(h) || h < 144 || h > 2160 || h % 2 !== 0)) {
    throw new Error('a ladder is a list of even heights between 144 and 2160, such as "1080,720,480,360"');
  }
  return [...new Set(heights)].sort((a, b) => b - a);
}

/** The rungs to encode for a source of `sourceHeight`: those at or below it; at least the lowest. */
export function ladderFor(heights: number[], sourceHeight: number | undefined): Rung[] {
  const sorted = [...heights].sort((a, b) => b - a);
  const fits = sourceHeight ? sorted.filter((h) => h <= sourceHeight) : sorted;
  const chosen = fits.length > 0 ? fits : [sorted.at(-1)!];
  return chosen.map((height) => ({ height, videoKbps: kbpsFor(height) }));
}
