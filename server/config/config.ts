/**
 * OnAir's configuration: read once from the environment, validated, with clear errors.
 * Each variable is documented in .env.example; defaults live in ./defaults.ts.
 */
import path from 'node:path';
import net from 'node:net';
import { z } from 'zod';
import { DEFAULTS } from './defaults.js';
import { parseLadder } from '../hls/ladder.js';
import { INGEST_ENV, toIngestConfig, type IngestConfig } from '../ingest/ingestConfig.js';
import { WEBHOOK_ENV, toWebhookConfig, webhookConfigProblem, type WebhookConfig } from '../webhooks/webhookConfig.js';
import { RESTREAM_ENV, toRestreamConfig, type RestreamConfig } from '../restream/restreamConfig.js';
import { databaseUrlSchema, maskDatabaseUrl } from '../store/sql/catalogue.js';
import { ClusterSettingsError, describeClusterSettings, parseClusterSettings, type ClusterSettings } from '../cluster/ClusterSettings.js';
import { isAddressOrSubnet } from '../http/clientAddress.js';

const port = (name: string) =>
  z.coerce
    .number({ invalid_type_error: `${name} must be a number` })
    .int(`${name} must be an integer`)
    .min(0, `${name} must be 0-65535`)
    .max(65535, `${name} must be 0-65535`);

const ip = (name: string) => z.string().refine((v) => net.isIP(v) !== 0, `${name} must be an IPv4 or IPv6 address`);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const envSchema = z.object({
  HOST: ip('HOST').default(DEFAULTS.host),
  PORT: port('PORT').default(DEFAULTS.port),
  ONAIR_DATA_DIR: z.string().min(1).default(DEFAULTS.dataDir),
  // The catalogue on PostgreSQL (cluster mode); unset: SQLite in the data dir. The message never echoes the
  // value (it holds the password).
  ONAIR_DATABASE_URL: z
    .string()
    .refine((u) => databaseUrlSchema.safeParse(u).success, 'ONAIR_DATABASE_URL must be a URL such as postgres://onair:<password>@db.internal:5432/onair')
    .optional(),
  ONAIR_JWT_SECRET: z.string().min(32, 'ONAIR_JWT_SECRET must be at least 32 characters').optional(),
  ONAIR_PUBLIC_URL: z
    .string()
    .url('ONAIR_PUBLIC_URL must be an absolute URL such as https://live.example.com')
    .refine((u) => /^https?:$/.test(new URL(u).protocol), 'ONAIR_PUBLIC_URL must be http(s)')
    .optional(),
  ONAIR_ANNOUNCED_IP: ip('ONAIR_ANNOUNCED_IP').default(DEFAULTS.announcedIp),
  ONAIR_RTC_LISTEN_IP: ip('ONAIR_RTC_LISTEN_IP').default(DEFAULTS.rtcListenIp),
  ONAIR_RTC_PORT: port('ONAIR_RTC_PORT').default(DEFAULTS.rtcPort),
  ONAIR_WORKERS: z.coerce
    .number({ invalid_type_error: 'ONAIR_WORKERS must be a number' })
    .int()
    .min(1, 'ONAIR_WORKERS must be at least 1')
    .max(256)
    .default(DEFAULTS.workers),
  ONAIR_ADMIN_USER: z.string().min(3).max(32).default(DEFAULTS.adminUser),
  ONAIR_ADMIN_PASSWORD: z.string().min(8, 'ONAIR_ADMIN_PASSWORD must be at least 8 characters').optional(),
  ONAIR_RECONNECT_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(DEFAULTS.reconnectGraceMs),
  ONAIR_EMBED_ORIGINS: z
    .string()
    .default('*')
    .transform((v) => v.split(/[\s,]+/).filter(Boolean))
    .refine((list) => list.every((o) => o === '*' || /^https?:\/\/[^\s/;'"]+$/.test(o)), 'ONAIR_EMBED_ORIGINS: "*" or origins like https://blog.example.com, separated by commas'),
  ONAIR_TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((v) => v.split(/[\s,]+/).filter(Boolean))
    .refine((list) => list.every(isAddressOrSubnet), 'ONAIR_TRUSTED_PROXIES: addresses or subnets (10.0.0.5, 172.18.0.0/16, fd00::/8), separated by commas'),
  ONAIR_HLS: z.enum(['on', 'off']).default('on'),
  ONAIR_HLS_LADDER: z
    .string()
    .default(DEFAULTS.hlsLadder)
    .transform((v, ctx) => {
      try {
        return parseLadder(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `ONAIR_HLS_LADDER: ${(err as Error).message}` });
        return z.NEVER;
      }
    }),
  ONAIR_HLS_SEGMENT_SECONDS: z.coerce.number().int().min(1).max(10).default(DEFAULTS.hlsSegmentSeconds),
  ONAIR_HLS_PRESET: z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium']).default(DEFAULTS.hlsPreset),
  ONAIR_HLS_PART_MS: z.coerce.number().int().min(100).max(1000).default(DEFAULTS.hlsPartMs),
  ONAIR_HLS_LIVE_WINDOW: z.coerce.number().int().min(3).max(100).default(DEFAULTS.hlsLiveWindow),
  // Rewind: up to a day back (each minute is ~60 playlist lines per rendition); fractions allowed (0.5: 30 s).
  ONAIR_DVR_MINUTES: z.coerce.number().min(0).max(1440).default(DEFAULTS.dvrMinutes),
  ONAIR_MAX_WEBRTC_VIEWERS: z.coerce.number().int().min(0).max(1_000_000).default(DEFAULTS.maxWebrtcViewers),
  ONAIR_MAX_SOCKETS_PER_ADDRESS: z.coerce
    .number({ invalid_type_error: 'ONAIR_MAX_SOCKETS_PER_ADDRESS must be a number' })
    .int('ONAIR_MAX_SOCKETS_PER_ADDRESS must be an integer')
    .min(1, 'ONAIR_MAX_SOCKETS_PER_ADDRESS must be at least 1')
    .max(1_000_000)
    .default(DEFAULTS.maxSocketsPerAddress),
  ONAIR_CHAT_MESSAGES_PER_ADDRESS: z.coerce
    .number({ invalid_type_error: 'ONAIR_CHAT_MESSAGES_PER_ADDRESS must be a number' })
    .min(0.01, 'ONAIR_CHAT_MESSAGES_PER_ADDRESS must be above 0')
    .max(1_000_000)
    .default(DEFAULTS.chatMessagesPerAddress),
  LOG_LEVEL: z.enum(LOG_LEVELS).default(DEFAULTS.logLevel),
  MEDIASOUP_WORKER_BIN: z.string().min(1).optional(),
  ...INGEST_ENV,
  ...RESTREAM_ENV,
  ...WEBHOOK_ENV,
});

export interface Config extends RestreamConfig {
  host: string;
  port: number;
  dataDir: string;
  /** ONAIR_DATABASE_URL: the catalogue on PostgreSQL; undefined: SQLite (`onair.db` in the data dir). Logged masked. */
  databaseUrl: string | undefined;
  /** From ONAIR_JWT_SECRET; when unset, the app generates one and keeps it in the data dir. */
  jwtSecret: string | undefined;
  /** Base of the absolute URLs OnAir hands out; derived from the request when unset. */
  publicUrl: string | undefined;
  announcedIp: string;
  rtcListenIp: string;
  /** First WebRtcServer port (worker i listens on rtcPort + i, UDP and TCP); 0 lets each worker pick. */
  rtcPort: number;
  workers: number;
  adminUser: string;
  adminPassword: string | undefined;
  /** Origins allowed to frame /embed/:id ("*" = any). */
  embedOrigins: string[];
  /** Reverse proxies (besides loopback) whose X-Forwarded-For names the client (server/http/clientAddress.ts). */
  trustedProxies: string[];
  /** How long a broadcast waits for a dropped broadcaster before it ends. */
  reconnectGraceMs: number;
  hls: {
    enabled: boolean;
    ladder: number[];
    segmentSeconds: number;
    /** LL-HLS part length (ONAIR_HLS_PART_MS). */
    partSeconds: number;
    preset: string;
    liveWindow: number;
    /** Rewind in live streams (ONAIR_DVR_MINUTES), seconds; 0: off (server/llhls/DvrWindow.ts). */
    dvrSeconds: number;
    portMin: number;
    portMax: number;
  };
  /** WebRTC viewers per stream; beyond, viewers are told to use HLS. */
  maxWebrtcViewers: number;
  /** Signaling sockets open at once from one client address; the next are refused until one closes. */
  maxSocketsPerAddress: number;
  /** Chat messages per second from one client address (bursts of three times as many). */
  chatMessagesPerAddress: number;
  logLevel: (typeof LOG_LEVELS)[number];
  workerBin: string | undefined;
  /** RTMP and SRT ingest ports (null: off). */
  ingest: IngestConfig;
  /** The server-wide webhook and the rules for every hook (server/webhooks). */
  webhooks: WebhookConfig;
  accessTokenTtlSeconds: number;
  viewerTokenTtlSeconds: number;
  /** Cluster mode (ONAIR_REDIS_URL set, docs/cluster.md); undefined on one machine. */
  cluster: ClusterSettings | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; throws ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, as in most .env files.
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(clean);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.ONAIR_RTC_PORT !== 0 && e.ONAIR_RTC_PORT + e.ONAIR_WORKERS - 1 > 65535) {
    throw new ConfigError('invalid configuration:\n  ONAIR_RTC_PORT: too high for ONAIR_WORKERS consecutive ports');
  }
  const webhookProblem = webhookConfigProblem(e);
  if (webhookProblem) throw new ConfigError(`invalid configuration:\n  ${webhookProblem}`);
  let cluster: ClusterSettings | undefined;
  try {
    cluster = parseClusterSettings(clean);
  } catch (err) {
    if (err instanceof ClusterSettingsError) throw new ConfigError(err.message);
    throw err;
  }
  return {
    host: e.HOST,
    port: e.PORT,
    dataDir: path.resolve(e.ONAIR_DATA_DIR),
    databaseUrl: e.ONAIR_DATABASE_URL,
    jwtSecret: e.ONAIR_JWT_SECRET,
    publicUrl: e.ONAIR_PUBLIC_URL?.replace(/\/+$/, ''),
    announcedIp: e.ONAIR_ANNOUNCED_IP,
    rtcListenIp: e.ONAIR_RTC_LISTEN_IP,
    rtcPort: e.ONAIR_RTC_PORT,
    workers: e.ONAIR_WORKERS,
    adminUser: e.ONAIR_ADMIN_USER,
    adminPassword: e.ONAIR_ADMIN_PASSWORD,
    reconnectGraceMs: e.ONAIR_RECONNECT_GRACE_MS,
    embedOrigins: e.ONAIR_EMBED_ORIGINS,
    trustedProxies: e.ONAIR_TRUSTED_PROXIES,
    hls: {
      enabled: e.ONAIR_HLS === 'on',
      ladder: e.ONAIR_HLS_LADDER,
      segmentSeconds: e.ONAIR_HLS_SEGMENT_SECONDS,
      preset: e.ONAIR_HLS_PRESET,
      partSeconds: e.ONAIR_HLS_PART_MS / 1000,
      liveWindow: e.ONAIR_HLS_LIVE_WINDOW,
      dvrSeconds: Math.round(e.ONAIR_DVR_MINUTES * 60),
      portMin: DEFAULTS.hlsPortMin,
      portMax: DEFAULTS.hlsPortMax,
    },
    maxWebrtcViewers: e.ONAIR_MAX_WEBRTC_VIEWERS,
    maxSocketsPerAddress: e.ONAIR_MAX_SOCKETS_PER_ADDRESS,
    chatMessagesPerAddress: e.ONAIR_CHAT_MESSAGES_PER_ADDRESS,
    logLevel: e.LOG_LEVEL,
    workerBin: e.MEDIASOUP_WORKER_BIN,
    ingest: toIngestConfig(e),
    ...toRestreamConfig(e),
    webhooks: toWebhookConfig(e),
    accessTokenTtlSeconds: DEFAULTS.accessTokenTtlSeconds,
    viewerTokenTtlSeconds: DEFAULTS.viewerTokenTtlSeconds,
    cluster,
  };
}

const SECRET_KEYS: ReadonlySet<keyof Config> = new Set(['jwtSecret', 'adminPassword', 'restreamSecret']);

/** The configuration with secrets masked, for the start-up log. */
export function describeConfig(config: Config): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => [
      k,
      SECRET_KEYS.has(k as keyof Config) && v
        ? '<redacted>'
        : k === 'databaseUrl' && typeof v === 'string'
          ? maskDatabaseUrl(v)
          : k === 'webhooks' && config.webhooks.secret
          ? { ...config.webhooks, secret: '<redacted>' }
          : k === 'cluster' && config.cluster
            ? describeClusterSettings(config.cluster)
            : v,
    ]),
  );
}
