/**
 * HLS playlists as OnAir serves them, composed from what ffmpeg wrote. Each ffmpeg run ("epoch": the first,
 * and one more after each restart) writes its own folder; a rendition's playlist is the epochs' segments in
 * order, with #EXT-X-DISCONTINUITY between epochs. Live viewers get a sliding window with the right media and
 * discontinuity sequence numbers; the full list is the recording (VOD), with #EXT-X-ENDLIST once ended.
 * Pure functions: text in, text out.
 */

export interface Segment {
  /** Relative to the session folder: "<epoch>/<file>". */
  uri: string;
  duration: number;
}

export interface MediaPlaylist {
  targetDuration: number;
  segments: { file: string; duration: number }[];
  ended: boolean;
}

export function parseMediaPlaylist(text: string): MediaPlaylist {
  const segments: { file: string; duration: number }[] = [];
  let targetDuration = 1;
  let pending: number | undefined;
  let ended = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-TARGETDURATION:')) targetDuration = Number(line.slice(22)) || 1;
    else if (line.startsWith('#EXTINF:')) pending = Number.parseFloat(line.slice(8));
    else if (line === '#EXT-X-ENDLIST') ended = true;
    else if (line && !line.startsWith('#') && pending !== undefined) {
      segments.push({ file: line, duration: pending });
      pending = undefined;
    }
  }
  return { targetDuration, segments, ended };
}

export interface ComposeOptions {
  /** Each epoch's folder name and its parsed playlist, in order. */
  epochs: { dir: string; playlist: MediaPlaylist }[];
  /** Live: how many segments to keep. Undefined: all (VOD / event). */
  window?: number | undefined;
  ended: boolean;
  /** Appended to every URI (e.g. "?token=…" for private streams). */
  query?: string;
}

export function composeMediaPlaylist(o: ComposeOptions): string {
  const all: (Segment & { discontinuity: boolean })[] = [];
  o.epochs.forEach((e, n) => {
    e.playlist.segments.forEach((s, i) => all.push({ uri: `${e.dir}/${s.file}`, duration: s.duration, discontinuity: n > 0 && i === 0 && all.length > 0 }));
  });
  const start = o.window !== undefined && !o.ended ? Math.max(0, all.length - o.window) : 0;
  const shown = all.slice(start);
  const discontinuitiesBefore = all.slice(0, start).filter((s) => s.discontinuity).length;
  // RFC 8216: each EXTINF, rounded to the nearest integer, must not exceed the target duration. Rounding (not
  // ceiling) matters: players keep liveSyncDurationCount × target behind the live edge, so 1.03 s segments
  // must say 1, not 2.
  // (ffmpeg's own TARGETDURATION is a ceiling, so it is not reused.)
  const target = Math.max(1, ...all.map((s) => Math.round(s.duration)));
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', `#EXT-X-TARGETDURATION:${target}`, `#EXT-X-MEDIA-SEQUENCE:${start}`];
  if (discontinuitiesBefore > 0) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${discontinuitiesBefore}`);
  lines.push(o.window === undefined || o.ended ? `#EXT-X-PLAYLIST-TYPE:${o.ended ? 'VOD' : 'EVENT'}` : '#EXT-X-INDEPENDENT-SEGMENTS');
  if (o.window === undefined || o.ended) lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  for (const s of shown) {
    if (s.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXTINF:${s.duration.toFixed(6)},`, `${s.uri}${o.query ?? ''}`);
  }
  if (o.ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/** Total duration of the segments of a playlist, in seconds. */
export const playlistDuration = (p: MediaPlaylist): number => p.segments.reduce((t, s) => t + s.duration, 0);

/**
 * The master playlist: ffmpeg's own (which knows BANDWIDTH, RESOLUTION, CODECS), with each variant's URI
 * pointed at OnAir's composed rendition playlist "r<i>.m3u8".
 */
export function rewriteMaster(ffmpegMaster: string, prefix = '', query = ''): string {
  let variant = 0;
  const out: string[] = [];
  let expectUri = false;
  for (const raw of ffmpegMaster.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#EXT-X-STREAM-INF:')) {
      expectUri = true;
      out.push(line);
    } else if (expectUri && !line.startsWith('#')) {
      out.push(`${prefix}r${variant++}.m3u8${query}`);
      expectUri = false;
    } else {
      out.push(line);
    }
  }
  return `${out.join('\n')}\n`;
}
