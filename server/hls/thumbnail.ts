/**
 * Thumbnails: one JPEG from the newest segment of the lowest rendition, written over the previous one
 * (atomically: a temp file, then a rename). The HLS bridge makes one as soon as a segment exists, then
 * every ~30 s; the last one becomes the recording's poster.
 */
import fs from 'node:fs';
import path from 'node:path';
import ffmpeg from 'fluent-ffmpeg';
import { parseMediaPlaylist } from './playlists.js';

/** ffmpeg's output options for one 360-line JPEG (pure, tested). */
export const thumbnailOutputOptions = (): string[] => ['-frames:v', '1', '-vf', 'scale=-2:360', '-q:v', '5', '-f', 'image2'];

/** The newest complete segment of the lowest rendition of an epoch folder, if any. */
export function newestSegment(epochDir: string, renditions: number): string | undefined {
  try {
    const p = parseMediaPlaylist(fs.readFileSync(path.join(epochDir, `r${Math.max(0, renditions - 1)}.m3u8`), 'utf8'));
    const last = p.segments.at(-1);
    return last ? path.join(epochDir, last.file) : undefined;
  } catch {
    return undefined;
  }
}

export function makeThumbnail(segment: string, out: string): Promise<void> {
  const tmp = `${out}.tmp.jpg`;
  return new Promise((resolve, reject) => {
    ffmpeg(segment)
      .inputOptions('-hide_banner', '-loglevel', 'error')
      .outputOptions(...thumbnailOutputOptions())
      .output(tmp)
      .on('error', (err: Error) => reject(err))
      .on('end', () => {
        try {
          fs.renameSync(tmp, out);
          resolve();
        } catch (err) {
          reject(err as Error);
        }
      })
      .run();
  });
}
