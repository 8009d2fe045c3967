/**
 * The LL-HLS media playlist rules of RFC 8216bis (HLS 2nd edition) that OnAir's packager must keep, as a
 * checker written independently of server/llhls/playlistWriter.ts: it reads the playlist text line by line
 * and returns every violation it finds (an empty list means conforming), plus what it read, so tests can
 * also check numbering. Used by test/unit/llhls*.test.ts and test/integration/llhls*.test.ts.
 */

export interface ReadPart {
  uri: string;
  duration: number;
  independent: boolean;
}

export interface ReadSegment {
  msn: number;
  discontinuitySeq: number;
  /** undefined for the open segment (parts only). */
  uri?: string;
  duration?: number;
  parts: ReadPart[];
  map?: string;
  programDateTime?: string;
  discontinuity: boolean;
}

export interface ReadPlaylist {
  version: number;
  targetDuration: number;
  partTarget?: number;
  serverControl: Record<string, string>;
  mediaSequence: number;
  discontinuitySequence: number;
  skipped: number;
  segments: ReadSegment[];
  preloadHints: Array<Record<string, string>>;
  renditionReports: Array<Record<string, string>>;
  ended: boolean;
}

/** Attribute list: KEY=VALUE,KEY="quoted, value" (RFC 8216bis 4.2). */
export function attributes(list: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)(?:,|$)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(list)) && m[0] !== '') out[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  return out;
}

const DECIMAL = /^\d+(\.\d+)?$/;
const INTEGER = /^\d+$/;

export function checkLlhlsPlaylist(text: string): { violations: string[]; playlist: ReadPlaylist } {
  const v: string[] = [];
  const lines = text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  if (lines[0] !== '#EXTM3U') v.push('the first line is not #EXTM3U');
  if (!text.endsWith('\n')) v.push('the playlist does not end with a newline');
  const once = (tag: string): string | undefined => {
    const found = lines.filter((l) => l.startsWith(`${tag}:`) || l === tag);
    if (found.length > 1) v.push(`${tag} appears ${found.length} times`);
    const line = found[0];
    return line === undefined ? undefined : line.slice(tag.length + 1);
  };
  const num = (tag: string, value: string | undefined, re: RegExp): number => {
    if (value === undefined || !re.test(value)) {
      v.push(`${tag} is missing or not a number: ${value}`);
      return NaN;
    }
    return Number(value);
  };

  const version = num('EXT-X-VERSION', once('#EXT-X-VERSION'), INTEGER);
  const targetDuration = num('EXT-X-TARGETDURATION', once('#EXT-X-TARGETDURATION'), INTEGER);
  const serverControl = attributes(once('#EXT-X-SERVER-CONTROL') ?? '');
  const partInf = once('#EXT-X-PART-INF');
  const partTarget = partInf === undefined ? undefined : num('PART-TARGET', attributes(partInf)['PART-TARGET'], DECIMAL);
  const mediaSequence = num('EXT-X-MEDIA-SEQUENCE', once('#EXT-X-MEDIA-SEQUENCE') ?? '0', INTEGER);
  const discontinuitySequence = num('EXT-X-DISCONTINUITY-SEQUENCE', once('#EXT-X-DISCONTINUITY-SEQUENCE') ?? '0', INTEGER);
  const ended = lines.includes('#EXT-X-ENDLIST');
  const independentSegments = lines.includes('#EXT-X-INDEPENDENT-SEGMENTS');

  // Server control (4.4.3.8): blocking reload, part hold back ≥ 3 × part target (2× is the MUST, 3× the
  // SHOULD OnAir keeps), skip until ≥ 6 × target duration.
  if (serverControl['CAN-BLOCK-RELOAD'] !== 'YES') v.push('EXT-X-SERVER-CONTROL lacks CAN-BLOCK-RELOAD=YES');
  const phb = Number(serverControl['PART-HOLD-BACK']);
  if (partTarget !== undefined && !(phb >= 3 * partTarget - 1e-9)) v.push(`PART-HOLD-BACK ${phb} < 3 × PART-TARGET ${partTarget}`);
  if (serverControl['CAN-SKIP-UNTIL'] !== undefined && !(Number(serverControl['CAN-SKIP-UNTIL']) >= 6 * targetDuration)) {
    v.push('CAN-SKIP-UNTIL < 6 × target duration');
  }

  const skipLine = once('#EXT-X-SKIP');
  const skipped = skipLine === undefined ? 0 : num('SKIPPED-SEGMENTS', attributes(skipLine)['SKIPPED-SEGMENTS'], INTEGER);
  if (skipLine !== undefined && version < 9) v.push('EXT-X-SKIP needs EXT-X-VERSION 9');
  if (lines.some((l) => l.startsWith('#EXT-X-MAP')) && version < 6) v.push('EXT-X-MAP needs EXT-X-VERSION 6');
  if (lines.some((l) => l.startsWith('#EXT-X-PART:')) && partInf === undefined) v.push('EXT-X-PART without EXT-X-PART-INF');

  const segments: ReadSegment[] = [];
  const preloadHints: Array<Record<string, string>> = [];
  const renditionReports: Array<Record<string, string>> = [];
  let msn = mediaSequence + skipped;
  let dseq = discontinuitySequence;
  let cur: ReadSegment = { msn, discontinuitySeq: dseq, parts: [], discontinuity: false };
  let currentMap: string | undefined;
  let pendingInf: number | undefined;
  let sawSegmentTag = false;
  for (const line of lines.slice(1)) {
    if (pendingInf !== undefined) {
      if (line.startsWith('#') || line === '') v.push(`EXTINF not followed by a URI: ${line}`);
      cur.uri = line;
      cur.duration = pendingInf;
      cur.map = currentMap;
      segments.push(cur);
      msn += 1;
      cur = { msn, discontinuitySeq: dseq, parts: [], discontinuity: false };
      pendingInf = undefined;
      continue;
    }
    const [tag, value = ''] = line.split(/:(.*)/s, 2) as [string, string?];
    switch (tag) {
      case '#EXT-X-SKIP':
        if (sawSegmentTag) v.push('EXT-X-SKIP after a media segment tag');
        break;
      case '#EXT-X-DISCONTINUITY':
        sawSegmentTag = true;
        dseq += 1;
        cur.discontinuitySeq = dseq;
        cur.discontinuity = true;
        break;
      case '#EXT-X-MAP': {
        sawSegmentTag = true;
        const a = attributes(value);
        if (!a.URI) v.push('EXT-X-MAP without URI');
        currentMap = a.URI;
        break;
      }
      case '#EXT-X-PROGRAM-DATE-TIME':
        sawSegmentTag = true;
        if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value)) v.push(`bad PROGRAM-DATE-TIME ${value}`);
        cur.programDateTime = value;
        break;
      case '#EXT-X-PART': {
        sawSegmentTag = true;
        const a = attributes(value);
        if (!a.URI) v.push('EXT-X-PART without URI');
        if (!a.DURATION || !DECIMAL.test(a.DURATION)) v.push('EXT-X-PART without a decimal DURATION');
        if (a.INDEPENDENT !== undefined && a.INDEPENDENT !== 'YES') v.push('INDEPENDENT is not YES');
        cur.parts.push({ uri: a.URI ?? '', duration: Number(a.DURATION), independent: a.INDEPENDENT === 'YES' });
        break;
      }
      case '#EXTINF': {
        sawSegmentTag = true;
        const d = value.split(',')[0]!;
        if (!DECIMAL.test(d)) v.push(`EXTINF duration ${d} is not a decimal`);
        pendingInf = Number(d);
        break;
      }
      case '#EXT-X-PRELOAD-HINT': {
        const a = attributes(value);
        if (a.TYPE !== 'PART' && a.TYPE !== 'MAP') v.push(`PRELOAD-HINT TYPE ${a.TYPE}`);
        if (!a.URI) v.push('PRELOAD-HINT without URI');
        preloadHints.push(a);
        break;
      }
      case '#EXT-X-RENDITION-REPORT': {
        const a = attributes(value);
        if (!a.URI || !INTEGER.test(a['LAST-MSN'] ?? '') || !INTEGER.test(a['LAST-PART'] ?? '')) v.push(`bad RENDITION-REPORT ${value}`);
        renditionReports.push(a);
        break;
      }
      default:
        if (!line.startsWith('#') && line !== '') v.push(`a URI without EXTINF: ${line}`);
    }
  }
  if (cur.parts.length > 0) {
    cur.map = currentMap;
    segments.push(cur);
  }

  // Per segment: EXTINF rounds to ≤ target duration (4.4.3.1); the parts of a segment add up to it; each part
  // ≤ PART-TARGET, and ≥ 85 % of it unless INDEPENDENT or the segment's last (4.4.4.9); a map in effect.
  for (const s of segments) {
    if (s.duration !== undefined && Math.round(s.duration) > targetDuration) v.push(`segment ${s.msn}: EXTINF ${s.duration} rounds above TARGETDURATION`);
    if (!s.map) v.push(`segment ${s.msn} has no EXT-X-MAP in effect`);
    if (s.uri !== undefined && s.parts.length > 0) {
      const sum = s.parts.reduce((t, p) => t + p.duration, 0);
      if (Math.abs(sum - s.duration!) > 0.001) v.push(`segment ${s.msn}: parts add up to ${sum}, EXTINF says ${s.duration}`);
    }
    if (independentSegments && s.parts.length > 0 && !s.parts[0]!.independent) v.push(`segment ${s.msn} does not start with an independent part`);
    s.parts.forEach((p, i) => {
      if (partTarget === undefined) return;
      if (p.duration > partTarget + 1e-9) v.push(`segment ${s.msn} part ${i}: ${p.duration} > PART-TARGET ${partTarget}`);
      // The last listed part of the open segment may yet end it, so it is exempt too.
      if (!p.independent && i < s.parts.length - 1 && p.duration < 0.85 * partTarget) v.push(`segment ${s.msn} part ${i}: ${p.duration} < 85 % of PART-TARGET`);
    });
  }
  // Preload hints (4.4.5.3): at most one per TYPE; none once the playlist ended.
  if (preloadHints.filter((h) => h.TYPE === 'PART').length > 1) v.push('more than one PRELOAD-HINT of TYPE=PART');
  if (ended && preloadHints.length > 0) v.push('PRELOAD-HINT after EXT-X-ENDLIST');
  if (!ended && partInf !== undefined && preloadHints.length === 0) v.push('a live LL playlist without PRELOAD-HINT');

  return {
    violations: v,
    playlist: {
      version, targetDuration, partTarget, serverControl, mediaSequence, discontinuitySequence, skipped,
      segments, preloadHints, renditionReports, ended,
    },
  };
}
