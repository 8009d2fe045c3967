/**
 * What OnAir shares of a page (oEmbed, Open Graph and Twitter card tags): a live stream's watch page or a
 * recording's page, described once and rendered by oembed.ts and headTags.ts. Only public and unlisted
 * streams are described (whoever has an unlisted link may share it); a private one is described as nothing,
 * so that neither its title nor its existence leaks through a link preview.
 */
import type { Visibility } from '../../shared/api.js';

export interface Shareable {
  kind: 'stream' | 'recording';
  /** The stream's or the recording's id. */
  id: string;
  title: string;
  description: string;
  author: string;
  /** The page people open (/watch/:id, /video/:id), absolute. */
  pageUrl: string;
  /** What an iframe shows: the chromeless player for a stream, the recording's page for a recording. */
  embedUrl: string;
  /** Absolute; the live thumbnail while live, else the newest recording's poster. */
  thumbnail?: { url: string; width: number; height: number };
  live: boolean;
}

/** What the sharing routes need to know: narrow, so tests and the store switch do not touch them. */
export interface SharingCatalogue {
  stream(id: string): Promise<{ id: string; title: string; description: string; ownerUsername: string; visibility: Visibility; status: string } | undefined>;
  recording(id: string): Promise<{ id: string; streamId: string; title: string; description: string; ownerUsername: string; visibility: Visibility; status: string } | undefined>;
  /** The stream's newest finished recording's id. */
  latestRecording(streamId: string): Promise<string | undefined>;
  /** Does the stream have a live thumbnail now (it is live and HLS made one)? */
  hasLiveThumbnail(streamId: string): boolean;
}

/** The live thumbnail and posters: 360 lines high (server/hls/thumbnail.ts), 16:9 sources assumed. */
const THUMB = { width: 640, height: 360 };

export async function describeStream(c: SharingCatalogue, id: string, base: string): Promise<Shareable | undefined> {
  const s = await c.stream(id);
  if (!s || s.visibility === 'private') return undefined;
  const live = s.status === 'live';
  const e = encodeURIComponent(s.id);
  let thumbnail: Shareable['thumbnail'];
  if (c.hasLiveThumbnail(s.id)) thumbnail = { url: `${base}/hls/${e}/thumb.jpg`, ...THUMB };
  else {
    const rec = await c.latestRecording(s.id);
    if (rec) thumbnail = { url: `${base}/hls/${e}/${encodeURIComponent(rec)}/poster.jpg`, ...THUMB };
  }
  return {
    kind: 'stream',
    id: s.id,
    title: s.title,
    description: s.description,
    author: s.ownerUsername,
    pageUrl: `${base}/watch/${e}`,
    embedUrl: `${base}/embed/${e}`,
    live,
    ...(thumbnail ? { thumbnail } : {}),
  };
}

export async function describeRecording(c: SharingCatalogue, id: string, base: string): Promise<Shareable | undefined> {
  const r = await c.recording(id);
  if (!r || r.visibility === 'private' || r.status === 'recording') return undefined;
  const e = encodeURIComponent(r.id);
  return {
    kind: 'recording',
    id: r.id,
    title: r.title,
    description: r.description,
    author: r.ownerUsername,
    pageUrl: `${base}/video/${e}`,
    embedUrl: `${base}/video/${e}`,
    live: false,
    thumbnail: { url: `${base}/hls/${encodeURIComponent(r.streamId)}/${e}/poster.jpg`, ...THUMB },
  };
}
