/**
 * LL-HLS playlists as text (RFC 8216bis, "HLS 2nd edition"), written from a PlaylistSource. Pure functions.
 *
 * writeMediaPlaylist(source, { skip, renditionReports, query }) — a live media playlist:
 *   EXT-X-VERSION:9 (EXT-X-SKIP needs 9), TARGETDURATION, SERVER-CONTROL (CAN-BLOCK-RELOAD=YES,
 *   PART-HOLD-BACK = 3 × part target, CAN-SKIP-UNTIL = 6 × target duration), PART-INF, MEDIA-SEQUENCE,
 *   DISCONTINUITY-SEQUENCE, INDEPENDENT-SEGMENTS (the packager starts every segment on a keyframe), then per
 *   segment DISCONTINUITY / MAP / PROGRAM-DATE-TIME before its EXT-X-PARTs and EXTINF; EXT-X-PART
 *   (DURATION, URI, INDEPENDENT=YES) for the segments that start within 3 target durations of the end (the
 *   spec's "SHOULD remove" age) and for the open segment; EXT-X-PRELOAD-HINT (TYPE=PART) for the next part;
 *   EXT-X-RENDITION-REPORT for each other rendition; EXT-X-ENDLIST once ended.
 *   With `skip` (`_HLS_skip=YES`), the leading segments that end at least CAN-SKIP-UNTIL before the end of
 *   the playlist are replaced by EXT-X-SKIP:SKIPPED-SEGMENTS=n (a delta update); MAP and PROGRAM-DATE-TIME
 *   are repeated on the first listed segment so it stands alone.
 * writeVodPlaylist(name, history, inits) — the whole session, EXT-X-PLAYLIST-TYPE:VOD, no parts.
 * writeMasterPlaylist(variants) — one EXT-X-STREAM-INF per rendition; variantOf() fills one from the
 *   rendition's init segment (CODECS and RESOLUTION as ffmpeg wrote them) and its bitrates.
 * renditionReportOf(source) — the LAST-MSN / LAST-PART another rendition's playlist reports for this one.
 *
 * `query` (e.g. "token=…") is appended to every URI, so private streams carry their token on.
 */
import type { InitSection } from './cmafTypes.js';
import type { HistoryEntry, PlaylistSource, SegmentEntry } from './RenditionPackager.js';
import { initUri, partUri, playlistUri, segmentUri } from './uris.js';

export const LL_HLS_VERSION = 9;

export interface RenditionReport {
  uri: string;
  lastMsn: number;
  lastPart: number;
}

export interface MediaPlaylistOptions {
  /** `_HLS_skip=YES`: write a delta update. */
  skip?: boolean;
  renditionReports?: RenditionReport[];
  /** Query string (without '?') appended to each URI. */
  query?: string;
}

/** Seconds as HLS decimals: 5 places, trailing zeros kept short. */
const sec = (s: number, places = 5): string => s.toFixed(places);
const pdt = (ms: number): string => new Date(ms).toISOString();

export const partHoldBack = (partTarget: number): number => Math.round(3 * partTarget * 1000) / 1000;
export const canSkipUntil = (targetDuration: number): number => 6 * targetDuration;

/** Leading segments a delta update may skip: those ending at least CAN-SKIP-UNTIL before the playlist's end. */
export function skippableSegments(source: PlaylistSource): number {
  const segments = source.segments;
  const end = segments.reduce((t, s) => t + s.duration, 0) + (source.building?.duration ?? 0);
  const boundary = canSkipUntil(source.targetDuration);
  let ends = 0;
  let n = 0;
  for (const s of segments) {
    ends += s.duration;
    if (end - ends >= boundary) n += 1;
    else break;
  }
  return n;
}

export function writeMediaPlaylist(source: PlaylistSource, options: MediaPlaylistOptions = {}): string {
  const q = options.query ? `?${options.query}` : '';
  const uri = (u: string): string => `${u}${q}`;
  const td = source.targetDuration;
  const lines: string[] = [
    '#EXTM3U',
    `#EXT-X-VERSION:${LL_HLS_VERSION}`,
    `#EXT-X-TARGETDURATION:${td}`,
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=${sec(canSkipUntil(td), 1)},PART-HOLD-BACK=${sec(partHoldBack(source.partTarget), 3)}`,
    `#EXT-X-PART-INF:PART-TARGET=${sec(source.partTarget, 3)}`,
  ];
  const all: SegmentEntry[] = [...source.segments, ...(source.building ? [source.building] : [])];
  const first = all[0];
  lines.push(`#EXT-X-MEDIA-SEQUENCE:${first?.msn ?? source.nextMsn}`);
  lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${first?.discontinuitySeq ?? 0}`);
  lines.push('#EXT-X-INDEPENDENT-SEGMENTS');

  const skipped = options.skip ? skippableSegments(source) : 0;
  if (skipped > 0) lines.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped}`);

  const end = all.reduce((t, s) => t + s.duration, 0);
  const partsFrom = 3 * td;
  let start = 0;
  let previous: SegmentEntry | undefined = skipped > 0 ? all[skipped - 1] : undefined;
  all.forEach((s, i) => {
    const segStart = start;
    start += s.duration;
    if (i < skipped) return;
    if (previous && previous.discontinuitySeq !== s.discontinuitySeq) lines.push('#EXT-X-DISCONTINUITY');
    if (i === skipped || previous?.initId !== s.initId) lines.push(`#EXT-X-MAP:URI="${uri(initUri(source.name, s.initId))}"`);
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${pdt(s.programDateTime)}`);
    if (!s.complete || end - segStart <= partsFrom) {
      for (const p of s.parts) {
        lines.push(`#EXT-X-PART:DURATION=${sec(p.duration)},URI="${uri(partUri(source.name, p.id))}"${p.independent ? ',INDEPENDENT=YES' : ''}`);
      }
    }
    if (s.complete) lines.push(`#EXTINF:${sec(s.duration)},`, uri(segmentUri(source.name, s.msn)));
    previous = s;
  });

  if (source.ended) {
    lines.push('#EXT-X-ENDLIST');
  } else {
    lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${uri(partUri(source.name, source.nextPartId))}"`);
    for (const r of options.renditionReports ?? []) {
      lines.push(`#EXT-X-RENDITION-REPORT:URI="${uri(r.uri)}",LAST-MSN=${r.lastMsn},LAST-PART=${r.lastPart}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** What this rendition's last segment and part are, for the other renditions' EXT-X-RENDITION-REPORT. */
export function renditionReportOf(source: PlaylistSource): RenditionReport | undefined {
  const last = source.building ?? source.segments.at(-1);
  if (!last || last.parts.length === 0) return undefined;
  return { uri: playlistUri(source.name), lastMsn: last.msn, lastPart: last.parts.length - 1 };
}

export function writeVodPlaylist(name: string, history: readonly HistoryEntry[], options: { query?: string } = {}): string {
  const q = options.query ? `?${options.query}` : '';
  const td = Math.max(1, ...history.map((h) => Math.round(h.duration)));
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    `#EXT-X-TARGETDURATION:${td}`,
    '#EXT-X-PLAYLIST-TYPE:VOD',
    `#EXT-X-MEDIA-SEQUENCE:${history[0]?.msn ?? 0}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${history[0]?.discontinuitySeq ?? 0}`,
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  let previous: HistoryEntry | undefined;
  for (const h of history) {
    if (previous && previous.discontinuitySeq !== h.discontinuitySeq) lines.push('#EXT-X-DISCONTINUITY');
    if (previous?.initId !== h.initId) lines.push(`#EXT-X-MAP:URI="${initUri(name, h.initId)}${q}"`);
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${pdt(h.programDateTime)}`, `#EXTINF:${sec(h.duration)},`, `${segmentUri(name, h.msn)}${q}`);
    previous = h;
  }
  lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

export interface Variant {
  name: string;
  /** Peak bits per second (BANDWIDTH). */
  bandwidth: number;
  averageBandwidth?: number;
  /** RFC 6381 codec strings, e.g. ['avc1.4d401f', 'mp4a.40.2']. */
  codecs: string[];
  width?: number;
  height?: number;
  frameRate?: number;
}

/**
 * A variant from its init segment and bitrates: BANDWIDTH is the peak (video maxrate, 1.1 × the target, as
 * the ladder encodes, plus audio), AVERAGE-BANDWIDTH the targets; 2 % for the fMP4 boxes on both.
 */
export function variantOf(name: string, init: InitSection, rates: { videoKbps: number; audioKbps?: number; frameRate?: number }): Variant {
  const audio = init.tracks.some((t) => t.handler === 'soun') ? (rates.audioKbps ?? 128) : 0;
  const v: Variant = {
    name,
    bandwidth: Math.round((rates.videoKbps * 1.1 + audio) * 1000 * 1.02),
    averageBandwidth: Math.round((rates.videoKbps + audio) * 1000 * 1.02),
    codecs: init.tracks.map((t) => t.codec).filter(Boolean),
  };
  if (init.primary.width && init.primary.height) {
    v.width = init.primary.width;
    v.height = init.primary.height;
  }
  if (rates.frameRate) v.frameRate = rates.frameRate;
  return v;
}

export function writeMasterPlaylist(variants: readonly Variant[], options: { query?: string } = {}): string {
  const q = options.query ? `?${options.query}` : '';
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const v of variants) {
    const attrs = [`BANDWIDTH=${Math.round(v.bandwidth)}`];
    if (v.averageBandwidth) attrs.push(`AVERAGE-BANDWIDTH=${Math.round(v.averageBandwidth)}`);
    const codecs = v.codecs.filter(Boolean);
    if (codecs.length > 0) attrs.push(`CODECS="${codecs.join(',')}"`);
    if (v.width && v.height) attrs.push(`RESOLUTION=${v.width}x${v.height}`);
    if (v.frameRate) attrs.push(`FRAME-RATE=${v.frameRate.toFixed(3)}`);
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, `${playlistUri(v.name)}${q}`);
  }
  return `${lines.join('\n')}\n`;
}
