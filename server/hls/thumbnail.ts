/**
 * Thumbnails: one JPEG from the newest segment of the lowest rendition, written over the previous one
 * (atomically: a temp file, then a rename), by a short ffmpeg run owned by an FfmpegProcess. The HLS bridge
 * makes one as soon as a segment exists, then every ~30 s; the last one becomes the recording's poster.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FfmpegProcess } from '../ffmpeg/FfmpegProcess.js';
import type { Logger } from '../log/logger.js';
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

/**
 * Writes `out` from the first frame of `segment`. The ffmpeg run is bounded (`timeoutMs`, then stopped), so
 * that the bridge's close, which awaits a thumbnail being made, always settles.
 */
export async function makeThumbnail(segment: string, out: string, logger: Logger, timeoutMs = 10_000): Promise<void> {
  const tmp = `${out}.tmp.jpg`;
  const proc = FfmpegProcess.spawn(
    { input: segment, inputOptions: ['-hide_banner', '-loglevel', 'error'], outputOptions: thumbnailOutputOptions(), output: tmp },
    { name: 'thumbnail', stopTimeoutMs: 1000, logger, startLogLevel: 'debug' },
  );
  const timer = setTimeout(() => void proc.stop(), timeoutMs);
  const exit = await proc.exited.finally(() => clearTimeout(timer));
  if (exit.requested) throw new Error(`no thumbnail within ${timeoutMs} ms`);
  if (exit.code !== 0) throw new Error(exit.error ?? `ffmpeg exited (code ${exit.code}, signal ${exit.signal})`);
  fs.renameSync(tmp, out);
}
