/**
 * OnAir's composition root: opens the store, starts the worker pool, wires the live layer, signaling and
 * HTTP, and closes them in order. `startOnAir` is what `main.ts` runs and what integration tests start.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/config.js';
import type { Logger } from './log/logger.js';
import { loadOrCreateJwtSecret } from './auth/jwtSecret.js';
import { LoginThrottle } from './auth/LoginThrottle.js';
import { Tokens } from './auth/tokens.js';
import { createHttpApp } from './http/httpApp.js';
import type { Services } from './http/Services.js';
import { Broadcasts } from './live/Broadcasts.js';
import { WorkerPool } from './media/WorkerPool.js';
import { Metrics } from './metrics/Metrics.js';
import { bootstrapAdmin } from './store/bootstrapAdmin.js';
import { openDatabase, type Db } from './store/Database.js';
import { StreamStore } from './store/StreamStore.js';
import { UserStore } from './store/UserStore.js';
import { SignalingServer } from './signaling/SignalingServer.js';
import { pageRoutes } from './http/routes/pageRoutes.js';

export interface OnAir {
  /** http://host:port the server listens on. */
  url: string;
  port: number;
  services: Services;
  pool: WorkerPool;
  broadcasts: Broadcasts;
  db: Db;
  close(): Promise<void>;
}

export async function startOnAir(config: Config, logger: Logger): Promise<OnAir> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const db = openDatabase(path.join(config.dataDir, 'onair.db'));
  const users = new UserStore(db);
  const streams = new StreamStore(db);
  const interrupted = streams.endAllLive();
  if (interrupted > 0) logger.warn({ streams: interrupted }, 'streams left live by the previous run were marked ended');
  await bootstrapAdmin(users, config.adminUser, config.adminPassword, logger);

  const tokens = new Tokens(loadOrCreateJwtSecret(config.dataDir, config.jwtSecret), {
    accessSeconds: config.accessTokenTtlSeconds,
    viewerSeconds: config.viewerTokenTtlSeconds,
  });

  let pool: WorkerPool;
  try {
    pool = await WorkerPool.create({
      size: config.workers,
      listenIp: config.rtcListenIp,
      announcedIp: config.announcedIp,
      firstPort: config.rtcPort,
      logger: logger.child({ component: 'workers' }),
    });
  } catch (err) {
    db.close();
    throw err;
  }
  const broadcasts = new Broadcasts({ pool, streams, logger, graceMs: config.reconnectGraceMs });
  const metrics = new Metrics({
    workersAlive: () => pool.aliveCount,
    streamsLive: () => broadcasts.liveCount,
    viewers: () => broadcasts.totalViewers,
  });

  const services: Services = {
    config,
    logger,
    tokens,
    loginThrottle: { byUser: new LoginThrottle({ freeAttempts: 3 }), byAddress: new LoginThrottle({ freeAttempts: 20 }) },
    users,
    streams,
    live: broadcasts,
    metrics,
    readiness: () => {
      const checks = { workers: pool.aliveCount === pool.size, database: db.open };
      return { ready: Object.values(checks).every(Boolean), checks };
    },
  };

  const app = createHttpApp(services, { mounts: [['/', pageRoutes({ embedOrigins: config.embedOrigins })]] });
  const server = http.createServer(app);
  const signaling = new SignalingServer(server, { services, broadcasts, pool, logger });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: NodeJS.ErrnoException) => {
    pool.close();
    db.close();
    throw err.code === 'EADDRINUSE' ? new Error(`port ${config.port} is in use: set PORT to a free port`) : err;
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      logger.info('shutting down');
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      broadcasts.endAll('the server is shutting down');
      await signaling.close();
      server.closeAllConnections();
      await serverClosed;
      pool.close();
      db.close();
      logger.info('stopped');
    })());

  return { url, port, services, pool, broadcasts, db, close };
}
