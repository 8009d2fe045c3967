/**
 * The stream key in an SRT caller's stream id: the key itself (`srt://HOST:PORT?streamid=KEY`), or SRT's
 * access-control form that OBS users know from other servers (`#!::r=KEY,m=publish`, `#!::r=live/KEY`).
 * Percent-encoding is undone. A caller asking to receive (`m=request`, or any mode other than publish) is not a publisher: null.
 */
export function keyOfStreamId(raw: string): string | null {
  // ffmpeg 5.1 passes a percent-encoded streamid on as it is; a key never holds a '%'.
  let streamId = raw;
  if (raw.includes('%')) {
    try {
      streamId = decodeURIComponent(raw);
    } catch {
      return null;
    }
  }
  if (!streamId.startsWith('#!::')) return streamId || null;
  const fields = new Map<string, string>();
  for (const pair of streamId.slice(4).split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0) fields.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  const mode = fields.get('m');
  if (mode !== undefined && mode !== 'publish') return null;
  const resource = fields.get('r');
  if (!resource) return null;
  return resource.startsWith('live/') ? resource.slice(5) : resource;
}
