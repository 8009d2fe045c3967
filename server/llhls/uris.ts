/**
 * File names of one rendition's LL-HLS resources, relative to the folder of its playlist, in one place so
 * the playlist writer and the HTTP layer cannot drift:
 *
 *   <name>.m3u8          media playlist            <name>_i<init>.mp4   init segment (EXT-X-MAP), one per ffmpeg run
 *   <name>_s<msn>.m4s    full segment (all parts)  <name>_p<part>.m4s   part, numbered across the whole session
 *
 * Parts carry a session-wide number (as gohlslib does), not "segment.index": the EXT-X-PRELOAD-HINT names the
 * next part before anyone knows whether it will open a new segment, and the hinted URI must stay right.
 * Numbers only grow within a session, so each URI names one immutable resource; a new session (a new
 * folder in the URL) starts again at 0.
 */

export const playlistUri = (name: string): string => `${name}.m3u8`;
export const initUri = (name: string, initId: number): string => `${name}_i${initId}.mp4`;
export const segmentUri = (name: string, msn: number): string => `${name}_s${msn}.m4s`;
export const partUri = (name: string, partId: number): string => `${name}_p${partId}.m4s`;

export type ResourceName =
  | { kind: 'playlist'; name: string }
  | { kind: 'init' | 'segment' | 'part'; name: string; n: number };

const NAME = '[a-z][a-z0-9]{0,15}';
const PATTERNS: Array<[RegExp, ResourceName['kind']]> = [
  [new RegExp(`^(${NAME})\\.m3u8$`), 'playlist'],
  [new RegExp(`^(${NAME})_i(\\d{1,9})\\.mp4$`), 'init'],
  [new RegExp(`^(${NAME})_s(\\d{1,9})\\.m4s$`), 'segment'],
  [new RegExp(`^(${NAME})_p(\\d{1,9})\\.m4s$`), 'part'],
];

/** Reads a file name back (strict: anything else, traversal included, is undefined). */
export function parseResourceName(file: string): ResourceName | undefined {
  for (const [re, kind] of PATTERNS) {
    const m = re.exec(file);
    if (!m) continue;
    if (kind === 'playlist') return { kind, name: m[1]! };
    return { kind, name: m[1]!, n: Number(m[2]) };
  }
  return undefined;
}

/** A rendition name: lower-case letters and digits, starting with a letter ('r0', 'video720'). */
export const isRenditionName = (name: string): boolean => new RegExp(`^${NAME}$`).test(name);
