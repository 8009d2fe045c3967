/** GET /healthz (the process answers), GET /readyz (workers up, the catalogue answers), GET /metrics (Prometheus). */
import { Router } from 'express';
import type { Services } from '../Services.js';

export function healthRoutes(s: Services): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const { ready, checks } = await s.readiness();
    res.set('Cache-Control', 'no-store').status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });
  r.get('/metrics', async (_req, res) => {
    res.set('Content-Type', s.metrics.registry.contentType).set('Cache-Control', 'no-store').send(await s.metrics.registry.metrics());
  });
  return r;
}
