/**
 * Serving HLS for players and CDNs, under /hls:
 *   /hls/:streamId/master.m3u8                     the live session's master playlist
 *   /hls/:streamId/thumb.jpg                       the live thumbnail (refreshed every ~30 s)
 *   /hls/:streamId/:sessionId/master.m3u8          a session's (recording's) master playlist
 *   /hls/:streamId/:sessionId/r<n>.m3u8            a rendition: while live, the LL-HLS playlist from the
 *                                                  packager (blocking reload: _HLS_msn, _HLS_part, _HLS_skip),
 *                                                  reaching back ONAIR_DVR_MINUTES (rewind: llhls/DvrWindow);
 *                                                  once ended, the whole session as a VOD playlist from disk
 *   /hls/:streamId/:sessionId/r<n>_i<k>.mp4        init segments (disk)
 *   /hls/:streamId/:sessionId/r<n>_s<msn>.m4s      full segments (disk)
 *   /hls/:streamId/:sessionId/r<n>_p<id>.m4s       parts (live only, from memory; the hinted next part waits)
 *   /hls/:streamId/:sessionId/e<k>/r<n>_<seq>.ts   segments of sessions recorded before LL-HLS
 *   /hls/:streamId/:sessionId/poster.jpg           the recording's poster
 * Live LL-HLS answers and their Cache-Control come from server/llhls (playlistResponse, cacheRules): a
 * blocking request's URL is its own cache key, so a CDN collapses its viewers into one origin request. A
 * waiting request is released when its client goes away (the response's 'close').
 * HLS viewers are counted (HlsViewerSessions) by the `session` query parameter of their playlist requests
 * while live: the master playlist carries it on to its rendition URIs (and is then private to that viewer).
 * Every path part is matched by a strict pattern, so nothing outside the HLS folder can be named, and a file
 * whose real path (symbolic links resolved) leads outside is not served. Playlists
 * are cached about half a segment while live; segments are immutable. Private streams need a viewer token
 * (`?token=`), which the playlists carry on to every URI they list.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Router, type Request, type Response } from 'express';
import { canWatch } from '../auth/access.js';
import type { Tokens } from '../auth/tokens.js';
import { ID_PATTERN } from '../../shared/api.js';
import { ApiError } from '../http/ApiError.js';
import type { StreamStore } from '../store/sql/StreamStore.js';
import { waitForPart } from '../llhls/blockingReload.js';
import { cacheControl } from '../llhls/cacheRules.js';
import { answerPlaylistRequest } from '../llhls/playlistResponse.js';
import { dvrView } from '../llhls/DvrWindow.js';
import { renditionReportOf, type RenditionReport } from '../llhls/playlistWriter.js';
import { parseResourceName } from '../llhls/uris.js';
import type { HlsService } from './HlsService.js';
import { hlsSessionSchema, type HlsViewerSessions } from './HlsViewerSessions.js';
import { journalFile, type LiveLadder } from './LiveLadder.js';
import { masterPlaylist, readManifest, renditionPlaylist } from './sessionFiles.js';

/** Stream and session ids inside the path patterns: shared/api.ts's pattern without its anchors. */
const ID = ID_PATTERN.source.replace(/^\^|\$$/g, '');
const PLAYLIST = 'application/vnd.apple.mpegurl';

export function hlsRoutes(opts: {
  hls: HlsService;
  streams: StreamStore;
  tokens: Tokens;
  liveWindow: number;
  viewers?: HlsViewerSessions;
  /** Rewind: live playlists reach this far back (server/llhls/DvrWindow.ts); 0 or unset: the live window only. */
  dvrSeconds?: number;
}): Router {
  const { hls, streams, tokens } = opts;

  /** The request's viewer session (`?session=`), counted while the request runs; undefined without one. */
  const countViewer = (req: Request, res: Response, streamId: string): string | undefined => {
    if (req.query.session === undefined) return undefined;
    const session = hlsSessionSchema.safeParse(req.query.session);
    if (!session.success) throw new ApiError('bad_request', session.error.issues[0]?.message ?? 'bad session');
    if (opts.viewers) res.on('close', opts.viewers.begin(streamId, session.data));
    return session.data;
  };
  const r = Router();

  r.use((req, res, next) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    // Players on other sites load playlists, segments and posters (helmet's default is same-origin).
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    res.setHeader('Access-Control-Expose-Headers', 'ETag, Last-Modified, Content-Length');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Range, If-None-Match, If-Modified-Since');
      res.setHeader('Access-Control-Max-Age', '86400');
      return void res.status(204).end();
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiError('not_found', 'HLS is read-only');
    next();
  });

  /** Checks access; returns the query to carry on to URIs ("" or "?token=…") and whether caches may share. */
  const access = async (req: Request, streamId: string): Promise<{ query: string; shared: boolean }> => {
    const stream = await streams.byId(streamId);
    if (!stream) throw new ApiError('not_found', 'no such stream');
    const token = typeof req.query.token === 'string' ? req.query.token : undefined;
    if (!canWatch(tokens, stream, token)) throw new ApiError('forbidden', 'this stream is private: a viewer token is needed');
    return stream.visibility === 'private' ? { query: `?token=${encodeURIComponent(token!)}`, shared: false } : { query: '', shared: true };
  };

  const sendPlaylist = (req: Request, res: Response, body: string, maxAge: number, shared: boolean) => {
    const etag = `"${crypto.createHash('sha1').update(body).digest('base64url')}"`;
    res.setHeader('Content-Type', PLAYLIST);
    res.setHeader('Cache-Control', `${shared ? 'public' : 'private'}, max-age=${maxAge}`);
    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', new Date().toUTCString());
    if (req.get('if-none-match') === etag) return void res.status(304).end();
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const liveMaxAge = (segmentSeconds: number) => Math.max(1, Math.round(segmentSeconds / 2));

  /** The packagers of a session being broadcast now (undefined once they ended: the recording is on disk). */
  const liveLadder = (streamId: string, sessionId: string): LiveLadder | undefined => {
    const ladder = hls.openSession(streamId, sessionId)?.ladder;
    return ladder && !ladder.ended ? ladder : undefined;
  };

  /** A signal that fires when the client goes away before its answer was sent. */
  const clientGone = (res: Response): AbortSignal => {
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    return ac.signal;
  };

  const sendError = (res: Response, status: number, message: string) => {
    res.setHeader('Cache-Control', 'no-store');
    res.status(status).type('text/plain').send(message);
  };

  /** A live rendition's LL-HLS playlist (asked before its first part, it waits for it: playlistResponse). */
  const sendLivePlaylist = async (req: Request, res: Response, ladder: LiveLadder, dir: string, rendition: number, query: string, shared: boolean) => {
    const packager = ladder.packagers[rendition];
    if (!packager) throw new ApiError('not_found', 'no such rendition');
    const source = dvrView(packager, { dvrSeconds: opts.dvrSeconds ?? 0, journal: path.join(dir, journalFile(rendition)) });
    const reports = (): RenditionReport[] =>
      ladder.packagers.flatMap((p) => (p === packager ? [] : [renditionReportOf(p)].filter((r): r is RenditionReport => !!r)));
    const uriQuery = query.replace(/^\?/, '');
    const answer = await answerPlaylistRequest(source, req.query, {
      signal: clientGone(res),
      renditionReports: reports,
      ...(uriQuery ? { uriQuery } : {}),
      private: !shared,
    });
    if (!answer || res.writableEnded || res.destroyed) return;
    res.status(answer.status);
    for (const [k, v] of Object.entries(answer.headers)) res.setHeader(k, v);
    if (answer.status === 200) {
      const etag = `"${crypto.createHash('sha1').update(answer.body).digest('base64url')}"`;
      res.setHeader('ETag', etag);
      if (req.get('if-none-match') === etag) return void res.status(304).end();
    }
    res.setHeader('Content-Length', Buffer.byteLength(answer.body));
    res.end(req.method === 'HEAD' ? undefined : answer.body);
  };

  /** A part: now, or once written if it is the hinted next one. */
  const sendPart = async (req: Request, res: Response, ladder: LiveLadder | undefined, rendition: number, partId: number, shared: boolean) => {
    const packager = ladder?.packagers[rendition];
    if (!packager) return sendError(res, 404, 'no such part (parts exist only while live)');
    const r = await waitForPart(packager, partId, { signal: clientGone(res) });
    if (res.writableEnded || res.destroyed) return;
    if (r.outcome !== 'ready') {
      if (r.outcome === 'too-far') sendError(res, 400, 'this part is further ahead than the next one');
      else if (r.outcome === 'timeout') sendError(res, 503, 'the part did not appear in time');
      else if (r.outcome === 'gone') sendError(res, 404, 'this part left the live window');
      return;
    }
    res.setHeader('Cache-Control', cacheControl({ kind: 'part' }, { targetDuration: packager.targetDuration, private: !shared }));
    res.setHeader('Content-Type', 'video/mp4');
    res.setHeader('Content-Length', r.part.bytes.byteLength);
    res.end(req.method === 'HEAD' ? undefined : Buffer.from(r.part.bytes.buffer, r.part.bytes.byteOffset, r.part.bytes.byteLength));
  };

  /**
   * The real path of `file` if it exists inside the HLS folder. The URL patterns cannot name anything
   * outside, but a symbolic link inside (planted, or left by a careless backup) could point there: it is
   * resolved and refused. The real path is what gets sent ('allow' dot files: the data folder itself may
   * be under one, such as ~/.onair; the URL patterns name none).
   */
  const inHlsRoot = (file: string): string | undefined => {
    try {
      const real = fs.realpathSync(file);
      return real.startsWith(fs.realpathSync(hls.root) + path.sep) ? real : undefined;
    } catch {
      return undefined;
    }
  };

  r.get(new RegExp(`^/(${ID})/master\\.m3u8$`), async (req, res) => {
    const streamId = req.params[0]!;
    const { query, shared } = await access(req, streamId);
    const bridge = hls.liveSession(streamId);
    // Served once the first rendition has a part (LiveLadder.playable); the others' playlists wait for theirs.
    if (!bridge?.ladder?.playable) throw new ApiError('not_found', 'this stream has no live HLS now (not live, or starting: retry in a second)');
    const session = countViewer(req, res, streamId);
    // The viewer's session goes on to the rendition URIs: this master is then that viewer's alone.
    const uriQuery = session ? `${query ? `${query}&` : '?'}session=${session}` : query;
    const master = masterPlaylist(bridge.dir, bridge.manifest, `${bridge.manifest.sessionId}/`, uriQuery);
    if (!master) throw new ApiError('not_found', 'this stream has no live HLS now (not live, or starting: retry in a second)');
    sendPlaylist(req, res, master, liveMaxAge(bridge.manifest.segmentSeconds), shared && !session);
  });

  r.get(new RegExp(`^/(${ID})/thumb\\.jpg$`), async (req, res) => {
    const streamId = req.params[0]!;
    const { shared } = await access(req, streamId);
    const bridge = hls.liveSession(streamId);
    const file = bridge ? inHlsRoot(path.join(bridge.dir, 'thumb.jpg')) : undefined;
    if (!file) throw new ApiError('not_found', 'no thumbnail yet');
    res.setHeader('Cache-Control', `${shared ? 'public' : 'private'}, max-age=10`);
    res.sendFile(file, { dotfiles: 'allow', lastModified: true, etag: true });
  });

  r.get(new RegExp(`^/(${ID})/(${ID})/(master|r\\d{1,2})\\.m3u8$`), async (req, res) => {
    const [streamId, sessionId, name] = [req.params[0]!, req.params[1]!, req.params[2]!];
    const { query, shared } = await access(req, streamId);
    const ladder = liveLadder(streamId, sessionId);
    if (ladder && name !== 'master') {
      countViewer(req, res, streamId);
      return sendLivePlaylist(req, res, ladder, hls.sessionDir(streamId, sessionId), Number(name.slice(1)), query, shared);
    }
    if (ladder && !ladder.playable) throw new ApiError('not_found', 'the session has no playlist yet');
    const dir = inHlsRoot(hls.sessionDir(streamId, sessionId));
    const m = dir && readManifest(dir);
    if (!dir || !m) throw new ApiError('not_found', 'no such session');
    const maxAge = m.ended ? 3600 : liveMaxAge(m.segmentSeconds);
    if (name === 'master') {
      const master = masterPlaylist(dir, m, '', query);
      if (!master) throw new ApiError('not_found', 'the session has no playlist yet');
      return sendPlaylist(req, res, master, maxAge, shared);
    }
    const rendition = Number(name.slice(1));
    if (rendition >= m.renditions.length) throw new ApiError('not_found', 'no such rendition');
    sendPlaylist(req, res, renditionPlaylist(dir, m, rendition, { window: opts.liveWindow, query }), maxAge, shared);
  });

  r.get(new RegExp(`^/(${ID})/(${ID})/(r\\d{1,2}_p\\d{1,9}\\.m4s)$`), async (req, res) => {
    const [streamId, sessionId, file] = [req.params[0]!, req.params[1]!, req.params[2]!];
    const { shared } = await access(req, streamId);
    const part = parseResourceName(file);
    if (part?.kind !== 'part') throw new ApiError('not_found', 'no such part');
    await sendPart(req, res, liveLadder(streamId, sessionId), Number(part.name.slice(1)), part.n, shared);
  });

  r.get(new RegExp(`^/(${ID})/(${ID})/(e\\d{1,4}/r\\d{1,2}_\\d{1,9}\\.ts|r\\d{1,2}_i\\d{1,9}\\.mp4|r\\d{1,2}_s\\d{1,9}\\.m4s|poster\\.jpg|thumb\\.jpg)$`), async (req, res) => {
    const [streamId, sessionId, file] = [req.params[0]!, req.params[1]!, req.params[2]!];
    const { shared } = await access(req, streamId);
    const real = inHlsRoot(path.join(hls.sessionDir(streamId, sessionId), file));
    if (!real) throw new ApiError('not_found', 'no such file');
    const isMp4 = file.endsWith('.m4s') || file.endsWith('.mp4');
    if (isMp4) res.type('video/mp4');
    const isSegment = file.endsWith('.ts') || isMp4;
    res.setHeader('Cache-Control', isSegment ? `${shared ? 'public' : 'private'}, max-age=31536000, immutable` : `${shared ? 'public' : 'private'}, max-age=60`);
    if (file.endsWith('.ts')) res.type('video/mp2t');
    res.sendFile(real, { dotfiles: 'allow', lastModified: true, etag: true }, (err) => {
      if (err && !res.headersSent) {
        res.removeHeader('Cache-Control');
        res.status(404).json({ error: 'not_found', message: 'no such file' });
      }
    });
  });

  r.use((req, _res, next) => next(new ApiError('not_found', `no HLS resource ${req.path.slice(0, 100)}`)));
  return r;
}
