/** The express application: health and metrics, the JSON API under /api, the web pages, JSON errors. */
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { DEFAULTS } from '../config/defaults.js';
import { ApiError } from './ApiError.js';
import { apiNotFound, errorHandler } from './middleware/errors.js';
import { requestLog } from './middleware/requestLog.js';
import { authRoutes } from './routes/authRoutes.js';
import { healthRoutes } from './routes/healthRoutes.js';
import { streamRoutes } from './routes/streamRoutes.js';
import { userRoutes } from './routes/userRoutes.js';
import type { Services } from './Services.js';

/** Bodies on POST/PUT/PATCH under /api must be JSON. */
function requireJson(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  if (hasBody && ['POST', 'PUT', 'PATCH'].includes(req.method) && !req.is('application/json')) {
    throw new ApiError('unsupported_media_type', 'send the body as application/json');
  }
  next();
}

export interface HttpAppParts {
  /** Routers mounted before the API's 404 (pages, media endpoints), by path. */
  mounts?: [string, Router | express.RequestHandler][];
}

export function createHttpApp(s: Services, parts: HttpAppParts = {}): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.set('query parser', 'simple');
  app.use(requestLog(s.logger));
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'strict-origin-when-cross-origin');
    next();
  });
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
  api.use(apiNotFound);
  app.use('/api', api);

  for (const [path, handler] of parts.mounts ?? []) app.use(path, handler);
  app.use(errorHandler);
  return app;
}
