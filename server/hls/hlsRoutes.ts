/**
 * Serving HLS for players and CDNs, under /hls:
 *   /hls/:streamId/master.m3u8                     the live session's master playlist
 *   /hls/:streamId/thumb.jpg                       the live thumbnail (refreshed every ~30 s)
 *   /hls/:streamId/:sessionId/master.m3u8          a session's (recording's) master playlist
 *   /hls/:streamId/:sessionId/r<n>.m3u8            a rendition: live window while live, whole session once ended
 *   /hls/:streamId/:sessionId/e<k>/r<n>_<seq>.ts   segments
 *   /hls/:streamId/:sessionId/poster.jpg           the recording's poster
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
import type { StreamStore } from '../store/StreamStore.js';
import type { HlsService } from './HlsService.js';
import { masterPlaylist, readManifest, renditionPlaylist } from './sessionFiles.js';

/** Stream and session ids inside the path patterns: shared/api.ts's pattern without its anchors. */
const ID = ID_PATTERN.source.replace(/^\^|\$$/g, '');
const PLAYLIST = 'application/vnd.apple.mpegurl';

export function hlsRoutes(opts: { hls: HlsService; streams: StreamStore; tokens: Tokens; liveWindow: number }): Router {
  const { hls, streams, tokens } = opts;
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
  const access = (req: Request, streamId: string): { query: string; shared: boolean } => {
    const stream = streams.byId(streamId);
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

  r.get(new RegExp(`^/(${ID})/master\\.m3u8$`), (req, res) => {
    const streamId = req.params[0]!;
    const { query, shared } = access(req, streamId);
    const bridge = hls.liveSession(streamId);
    const master = bridge && masterPlaylist(bridge.dir, bridge.manifest, `${bridge.manifest.sessionId}/`, query);
    if (!master) throw new ApiError('not_found', 'this stream has no live HLS now (not live, or starting: retry in a second)');
    sendPlaylist(req, res, master, liveMaxAge(bridge.manifest.segmentSeconds), shared);
  });

  r.get(new RegExp(`^/(${ID})/thumb\\.jpg$`), (req, res) => {
    const streamId = req.params[0]!;
    const { shared } = access(req, streamId);
    const bridge = hls.liveSession(streamId);
    const file = bridge ? inHlsRoot(path.join(bridge.dir, 'thumb.jpg')) : undefined;
    if (!file) throw new ApiError('not_found', 'no thumbnail yet');
    res.setHeader('Cache-Control', `${shared ? 'public' : 'private'}, max-age=10`);
    res.sendFile(file, { dotfiles: 'allow', lastModified: true, etag: true });
  });

  r.get(new RegExp(`^/(${ID})/(${ID})/(master|r\\d{1,2})\\.m3u8$`), (req, res) => {
    const [streamId, sessionId, name] = [req.params[0]!, req.params[1]!, req.params[2]!];
    const { query, shared } = access(req, streamId);
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

  r.get(new RegExp(`^/(${ID})/(${ID})/(e\\d{1,4}/r\\d{1,2}_\\d{1,9}\\.ts|poster\\.jpg|thumb\\.jpg)$`), (req, res) => {
    const [streamId, sessionId, file] = [req.params[0]!, req.params[1]!, req.params[2]!];
    const { shared } = access(req, streamId);
    const real = inHlsRoot(path.join(hls.sessionDir(streamId, sessionId), file));
    if (!real) throw new ApiError('not_found', 'no such file');
    const isSegment = file.endsWith('.ts');
    res.setHeader('Cache-Control', isSegment ? `${shared ? 'public' : 'private'}, max-age=31536000, immutable` : `${shared ? 'public' : 'private'}, max-age=60`);
    if (isSegment) res.type('video/mp2t');
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
