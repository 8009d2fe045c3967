/**
 * answerPlaylistRequest: one media-playlist request, from query to status, headers and body, with the rules
 * of blockingReload.ts and cacheRules.ts. The HTTP layer only copies the result onto its response (and
 * passes an AbortSignal that fires when the client goes away).
 *
 *   400  bad or contradictory directives, or a request too far ahead
 *   503  the asked part (or, any request, the rendition's first part) did not appear within 3 × target duration
 * Every request first waits for the rendition's first part (waitForFirstPart): the master playlist is out
 * as soon as the first rendition has a part, a few ms before the others may have theirs.
 *   200  the playlist (a delta update for `_HLS_skip`), once the asked segment/part exists
 *   undefined  the request was aborted while waiting: nothing to send
 */
import { parseDeliveryDirectives, checkAdvance, hasFirstPart, waitForFirstPart, waitForPlaylist, type WaitOptions } from './blockingReload.js';
import { cacheControl } from './cacheRules.js';
import type { PlaylistSource } from './RenditionPackager.js';
import { writeMediaPlaylist, type RenditionReport } from './playlistWriter.js';

export const PLAYLIST_CONTENT_TYPE = 'application/vnd.apple.mpegurl';

export interface PlaylistResponse {
  status: 200 | 400 | 503;
  headers: Record<string, string>;
  body: string;
}

export interface PlaylistRequestOptions extends WaitOptions {
  /** The other renditions' reports, read when the answer is written (after the wait). */
  renditionReports?: () => RenditionReport[];
  /** Query carried on to every URI (a private stream's token). */
  uriQuery?: string;
  private?: boolean;
}

export async function answerPlaylistRequest(
  source: PlaylistSource,
  query: unknown,
  options: PlaylistRequestOptions = {},
): Promise<PlaylistResponse | undefined> {
  const ctx = { targetDuration: source.targetDuration, private: options.private ?? false };
  const error = (status: 400 | 503, body: string): PlaylistResponse => ({
    status,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': cacheControl({ kind: 'error' }, ctx) },
    body,
  });
  const parsed = parseDeliveryDirectives(query);
  if (!parsed.ok) return error(400, parsed.reason);
  const d = parsed.directives;
  const tooFar = checkAdvance(source, d);
  if (tooFar) return error(400, tooFar);
  const waitOptions: WaitOptions = {};
  if (options.timeoutMs !== undefined) waitOptions.timeoutMs = options.timeoutMs;
  if (options.signal) waitOptions.signal = options.signal;
  if (!hasFirstPart(source)) {
    const first = await waitForFirstPart(source, waitOptions);
    if (first === 'aborted') return undefined;
    if (first === 'timeout') return error(503, 'the rendition has no part yet');
  }
  const outcome = await waitForPlaylist(source, d, waitOptions);
  if (outcome === 'aborted') return undefined;
  if (outcome === 'timeout') return error(503, 'the requested part did not appear in time');
  const body = writeMediaPlaylist(source, {
    skip: d.skip,
    renditionReports: options.renditionReports?.() ?? [],
    ...(options.uriQuery ? { query: options.uriQuery } : {}),
  });
  return {
    status: 200,
    headers: {
      'Content-Type': PLAYLIST_CONTENT_TYPE,
      'Cache-Control': cacheControl({ kind: 'media', directives: d, ended: source.ended }, { ...ctx, targetDuration: source.targetDuration }),
    },
    body,
  };
}
