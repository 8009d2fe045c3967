/**
 * The web pages: / (directory), /studio (broadcast), /watch/:id (player), /video/:id (a recording),
 * /embed/:id (chromeless player for iframes), /admin (the operator's console), and their static assets from
 * dist/public. Only /embed and /video (the iframe of a recording's oEmbed) may be framed by other sites
 * (ONAIR_EMBED_ORIGINS); every other page says frame-ancestors 'self'.
 *
 * /watch/:id and /video/:id of a public or unlisted stream get their sharing tags in <head> (the oEmbed
 * discovery link, Open Graph and Twitter cards: server/sharing), written into the page's HTML, escaped. The
 * HTML files are read once and kept (they change only with a new build, i.e. a restart).
 */
import fs from 'node:fs';
import path from 'node:path';
import express, { Router, type Request, type Response } from 'express';
import { recordingIdSchema, streamIdSchema } from '../../../shared/apiSchemas.js';
import { PUBLIC_DIR } from '../../paths.js';
import { headTags } from '../../sharing/headTags.js';
import { describeRecording, describeStream, type Shareable, type SharingCatalogue } from '../../sharing/shareable.js';
import { ApiError } from '../ApiError.js';
import { baseUrl } from '../baseUrl.js';

const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob: mediastream:",
  "connect-src 'self' ws: wss:",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
];

export interface PageRoutesOptions {
  embedOrigins: string[];
  /** Streams and recordings described in the pages' sharing tags; without it the pages are sent as built. */
  sharing?: { catalogue: SharingCatalogue; publicUrl: string | undefined };
}

export function pageRoutes(opts: PageRoutesOptions): Router {
  const r = Router();
  const headers = (res: Response, frameAncestors: string) => {
    res.setHeader('Content-Security-Policy', [...PAGE_CSP, `frame-ancestors ${frameAncestors}`].join('; '));
    res.setHeader('Cache-Control', 'no-cache');
  };
  const send = (res: Response, page: string, frameAncestors: string) => {
    headers(res, frameAncestors);
    res.sendFile(path.join(PUBLIC_DIR, page));
  };
  const html = new Map<string, string>();
  /** The page with the sharing tags of `item` in place of its generic <title>. */
  const sendShared = (req: Request, res: Response, page: string, frameAncestors: string, item: Shareable | undefined) => {
    if (!item) return send(res, page, frameAncestors);
    let text = html.get(page);
    if (text === undefined) html.set(page, (text = fs.readFileSync(path.join(PUBLIC_DIR, page), 'utf8')));
    const base = baseUrl(req, opts.sharing?.publicUrl);
    const oembed = `${base}/oembed?url=${encodeURIComponent(item.pageUrl)}&format=json`;
    headers(res, frameAncestors);
    res.type('html').send(text.replace('<title>OnAir</title>', headTags(item, oembed)));
  };
  const embedAncestors = opts.embedOrigins.includes('*') ? '*' : ["'self'", ...opts.embedOrigins].join(' ');
  /** Framed by other sites: helmet says SAMEORIGIN everywhere; with listed origins it stays (browsers that know
   * frame-ancestors follow it instead), framing by anyone drops it. Other sites may embed the page as a cross-origin resource. */
  const frameable = (res: Response) => {
    if (opts.embedOrigins.includes('*')) res.removeHeader('X-Frame-Options');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
  };
  const checkId = (id: string | undefined) => {
    if (!streamIdSchema.safeParse(id).success) throw new ApiError('not_found', 'no such stream');
  };

  r.get('/', (_req, res) => send(res, 'index.html', "'self'"));
  r.get('/studio', (_req, res) => send(res, 'studio.html', "'self'"));
  r.get('/admin', (_req, res) => send(res, 'admin.html', "'self'"));
  r.get('/watch/:id', async (req, res) => {
    checkId(req.params.id);
    const sharing = opts.sharing;
    const item = sharing ? await describeStream(sharing.catalogue, req.params.id, baseUrl(req, sharing.publicUrl)) : undefined;
    sendShared(req, res, 'watch.html', "'self'", item);
  });
  r.get('/video/:id', async (req, res) => {
    if (!recordingIdSchema.safeParse(req.params.id).success) throw new ApiError('not_found', 'no such recording');
    const sharing = opts.sharing;
    const item = sharing ? await describeRecording(sharing.catalogue, req.params.id, baseUrl(req, sharing.publicUrl)) : undefined;
    frameable(res);
    sendShared(req, res, 'video.html', embedAncestors, item);
  });
  r.get('/embed/:id', (req, res) => {
    checkId(req.params.id);
    frameable(res);
    send(res, 'embed.html', embedAncestors);
  });
  r.use('/assets', (req, _res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiError('method_not_allowed', 'assets are read-only', { headers: { Allow: 'GET, HEAD' } });
    next();
  });
  r.use('/assets', express.static(path.join(PUBLIC_DIR, 'assets'), { maxAge: '1h', fallthrough: false, index: false, redirect: false }));
  return r;
}
