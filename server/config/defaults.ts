/** Every default value of OnAir's configuration, in one place (documented in .env.example). */
import os from 'node:os';

export const DEFAULTS = {
  host: '0.0.0.0',
  port: 8080,
  dataDir: './data',
  announcedIp: '127.0.0.1',
  rtcListenIp: '0.0.0.0',
  rtcPort: 40000,
  workers: Math.max(1, os.availableParallelism()),
  adminUser: 'admin',
  logLevel: 'info',
  reconnectGraceMs: 15_000,
  /** Lifetime of API access tokens. */
  accessTokenTtlSeconds: 12 * 3600,
  /** Lifetime of viewer tokens for private streams. */
  viewerTokenTtlSeconds: 24 * 3600,
  /** Largest JSON body the API accepts. */
  jsonBodyLimit: '64kb',
} as const;
