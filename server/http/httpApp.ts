/** The express application: health and metrics, the JSON API under /api, the web pages, JSON errors. */
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { DEFAULTS } from '../config/defaults.js';
import { ApiError } from './ApiError.js';
import { apiNotFound, errorHandler } from './middleware/errors.js';
import { requestLog } from './middleware/requestLog.js';
import { authRoutes } from './routes/authRoutes.js';
import { healthRoutes } from './routes/healthRoutes.js';
import { streamRoutes } from './routes/streamRoutes.js';
import { userRoutes } from './routes/userRoutes.js';
import type { Services } from './Services.js';

/**
 * A declared Content-Length over what any route takes is refused before reading a byte, and the connection
 * closed: body-parser would read (and discard) the whole declared body before answering 413.
 */
function refuseLargeBodies(req: Request, res: Response, next: NextFunction): void {
  if (Number(req.get('content-length') ?? 0) > DEFAULTS.maxBodyBytes) {
    res.setHeader('Connection', 'close');
    throw new ApiError('payload_too_large', `request body is too large (the limit is ${DEFAULTS.maxBodyBytes} bytes)`);
  }
  next();
}

/** Bodies on POST/PUT/PATCH under /api must be JSON. */
function requireJson(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  if (hasBody && ['POST', 'PUT', 'PATCH'].includes(req.method) && !req.is('application/json')) {
    throw new ApiError('unsupported_media_type', 'send the body as application/json');
  }
  next();
}

/**
 * helmet's headers on every response. Its Content-Security-Policy here is the one of everything that is not
 * a page (JSON, media, errors): nothing may load, framed by this origin only. The pages set their own
 * (pageRoutes); /hls and /embed widen Cross-Origin-Resource-Policy and framing for other sites. HSTS only
 * over HTTPS (a TLS proxy on this host saying X-Forwarded-Proto: https), as self-hosted servers often start
 * on plain http.
 */
function securityHeaders(): express.RequestHandler[] {
  return [
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { 'default-src': ["'none'"], 'frame-ancestors': ["'self'"], 'base-uri': ["'none'"], 'form-action': ["'none'"] },
      },
      referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
      strictTransportSecurity: false,
      xFrameOptions: { action: 'sameorigin' },
    }),
    (req, res, next) => {
      if (req.secure) res.setHeader('Strict-Transport-Security', 'max-age=15552000');
      next();
    },
  ];
}

export interface HttpAppParts {
  /** More API routers, under /api/<path>. */
  api?: [string, Router][];
  /** Routers mounted at the top level (pages, media endpoints), by path. */
  mounts?: [string, Router | express.RequestHandler][];
}

export function createHttpApp(s: Services, parts: HttpAppParts = {}): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', s.trustProxy);
  app.set('query parser', 'simple');
  app.use(requestLog(s.logger));
  app.use((req, _res, next) => {
    if (req.httpVersion === '1.1' && !req.headers.host) throw new ApiError('bad_request', 'an HTTP/1.1 request needs a Host header');
    next();
  });
  app.use(refuseLargeBodies);
  app.use(securityHeaders());
  app.use(healthRoutes(s));

  const api = Router();
  api.use(requireJson);
  api.use(express.json({ limit: DEFAULTS.jsonBodyLimit, strict: true }));
  api.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  api.use('/auth', authRoutes(s));
  api.use(userRoutes(s));
  api.use('/streams', streamRoutes(s));
  for (const [path, router] of parts.api ?? []) api.use(path, router);
  api.use(apiNotFound);
  app.use('/api', api);

  for (const [path, handler] of parts.mounts ?? []) app.use(path, handler);
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found', message: 'no such page' });
  });
  app.use(errorHandler);
  return app;
}
