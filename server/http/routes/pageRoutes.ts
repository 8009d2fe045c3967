/**
 * The web pages: / (directory), /studio (broadcast), /watch/:id (player), /video/:id (a recording),
 * /embed/:id (chromeless player for iframes), and their static assets from dist/public. Only /embed may be framed by other sites
 * (ONAIR_EMBED_ORIGINS); every other page says frame-ancestors 'self'.
 */
import path from 'node:path';
import express, { Router, type Response } from 'express';
import { streamIdSchema } from '../../../shared/apiSchemas.js';
import { PUBLIC_DIR } from '../../paths.js';
import { ApiError } from '../ApiError.js';

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

export function pageRoutes(opts: { embedOrigins: string[] }): Router {
  const r = Router();
  const send = (res: Response, page: string, frameAncestors: string) => {
    res.setHeader('Content-Security-Policy', [...PAGE_CSP, `frame-ancestors ${frameAncestors}`].join('; '));
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(path.join(PUBLIC_DIR, page));
  };
  const embedAncestors = opts.embedOrigins.includes('*') ? '*' : ["'self'", ...opts.embedOrigins].join(' ');
  const checkId = (id: string | undefined) => {
    if (!streamIdSchema.safeParse(id).success) throw new ApiError('not_found', 'no such stream');
  };

  r.get('/', (_req, res) => send(res, 'index.html', "'self'"));
  r.get('/studio', (_req, res) => send(res, 'studio.html', "'self'"));
  r.get('/watch/:id', (req, res) => (checkId(req.params.id), send(res, 'watch.html', "'self'")));
  r.get('/video/:id', (req, res) => (checkId(req.params.id), send(res, 'video.html', "'self'")));
  r.get('/embed/:id', (req, res) => {
    checkId(req.params.id);
    // helmet says SAMEORIGIN everywhere; with listed origins it stays (browsers that know frame-ancestors
    // follow it instead), framing by anyone drops it. Other sites may embed the page as a cross-origin resource.
    if (opts.embedOrigins.includes('*')) res.removeHeader('X-Frame-Options');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    send(res, 'embed.html', embedAncestors);
  });
  r.use('/assets', (req, _res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiError('method_not_allowed', 'assets are read-only', { headers: { Allow: 'GET, HEAD' } });
    next();
  });
  r.use('/assets', express.static(path.join(PUBLIC_DIR, 'assets'), { maxAge: '1h', fallthrough: false, index: false, redirect: false }));
  return r;
}
