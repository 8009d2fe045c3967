/**
 * Cluster mode's settings, parsed from the environment by one pure function (the lead merges them into
 * server/config/config.ts). Cluster mode is on exactly when ONAIR_REDIS_URL is set; without it this returns
 * undefined and OnAir runs on one machine as before (no Redis, no internal API, no pipes between nodes).
 *
 * Why each rule:
 * - ONAIR_CLUSTER_SECRET ≥ 32 characters: it is the HMAC key of every node-to-node request (InternalApi);
 *   a short one could be guessed offline from one captured request.
 * - ONAIR_NODE_URL is what other nodes call (internal API): an absolute http(s) URL without path, query or
 *   credentials, so that a node's request path is exactly what the other node signs and checks.
 * - ONAIR_PIPE_ANNOUNCED_IP (the address other nodes send media to) defaults to ONAIR_NODE_URL's host when that
 *   is an IP literal; a host name cannot be used (mediasoup connects pipe transports to IPs, and the registry
 *   compares addresses), so then it must be given.
 * - ONAIR_PIPE_PORT_MIN/MAX: the only ports pipe transports listen on, so a firewall can open exactly them
 *   between nodes; the registry refuses media addresses outside a node's announced range.
 * - ONAIR_NODE_ID defaults to a hash of ONAIR_NODE_URL: stable across restarts, so a restarting node finds
 *   (and ends) its own streams and no others.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import { z } from 'zod';

export interface ClusterSettings {
  redisUrl: string;
  /** The shared HMAC key of the internal API. Never logged (see describeClusterSettings). */
  secret: string;
  /** Where other nodes reach this node's internal API, without a trailing slash. */
  nodeUrl: string;
  nodeId: string;
  pipe: {
    /** The address pipe transports listen on. */
    listenIp: string;
    /** The address other nodes send media to (registered in the NodeRegistry). */
    announcedIp: string;
    portMin: number;
    portMax: number;
  };
}

export const CLUSTER_DEFAULTS = {
  pipeListenIp: '0.0.0.0',
  pipePortMin: 32000,
  pipePortMax: 32999,
} as const;

export class ClusterSettingsError extends Error {
  override name = 'ClusterSettingsError';
}

const port = (name: string) =>
  z.coerce
    .number({ invalid_type_error: `${name} must be a number` })
    .int(`${name} must be an integer`)
    .min(1024, `${name} must be 1024-65535`)
    .max(65535, `${name} must be 1024-65535`);

const ip = (name: string) => z.string().refine((v) => net.isIP(v) !== 0, `${name} must be an IPv4 or IPv6 address`);

/** The URL, or undefined (zod runs every refinement, also after `.url()` failed). */
const urlOf = (u: string): URL | undefined => {
  try {
    return new URL(u);
  } catch {
    return undefined;
  }
};

/** Letters, digits and dashes: a node id is part of Redis keys and log lines. */
export const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;

const envSchema = z.object({
  ONAIR_REDIS_URL: z
    .string()
    .url('ONAIR_REDIS_URL must be a URL such as redis://10.0.0.5:6379')
    .refine((u) => /^rediss?:$/.test(urlOf(u)?.protocol ?? ''), 'ONAIR_REDIS_URL must start with redis:// or rediss://'),
  ONAIR_CLUSTER_SECRET: z
    .string({ required_error: 'ONAIR_CLUSTER_SECRET is required in cluster mode (the same on every node)' })
    .min(32, 'ONAIR_CLUSTER_SECRET must be at least 32 characters'),
  ONAIR_NODE_URL: z
    .string({ required_error: 'ONAIR_NODE_URL is required in cluster mode (where other nodes reach this one)' })
    .url('ONAIR_NODE_URL must be an absolute URL such as http://10.0.0.11:8080')
    .refine((u) => /^https?:$/.test(urlOf(u)?.protocol ?? ''), 'ONAIR_NODE_URL must be http(s)')
    .refine((u) => {
      const url = urlOf(u);
      return !url || ((url.pathname === '/' || url.pathname === '') && !url.search && !url.hash && !url.username && !url.password);
    }, 'ONAIR_NODE_URL must be scheme://host[:port] only (no path, query or credentials)'),
  ONAIR_NODE_ID: z.string().regex(NODE_ID, 'ONAIR_NODE_ID: letters, digits and dashes, at most 63').optional(),
  ONAIR_PIPE_LISTEN_IP: ip('ONAIR_PIPE_LISTEN_IP').default(CLUSTER_DEFAULTS.pipeListenIp),
  ONAIR_PIPE_ANNOUNCED_IP: ip('ONAIR_PIPE_ANNOUNCED_IP').optional(),
  ONAIR_PIPE_PORT_MIN: port('ONAIR_PIPE_PORT_MIN').default(CLUSTER_DEFAULTS.pipePortMin),
  ONAIR_PIPE_PORT_MAX: port('ONAIR_PIPE_PORT_MAX').default(CLUSTER_DEFAULTS.pipePortMax),
});

/** `node-` and 12 hex digits of SHA-256(node URL): the same URL gives the same id after a restart. */
export function deriveNodeId(nodeUrl: string): string {
  return `node-${crypto.createHash('sha256').update(nodeUrl).digest('hex').slice(0, 12)}`;
}

/**
 * Cluster settings from the environment; undefined when ONAIR_REDIS_URL is unset (one machine). Throws
 * ClusterSettingsError listing every bad variable.
 */
export function parseClusterSettings(env: NodeJS.ProcessEnv = process.env): ClusterSettings | undefined {
  // Empty strings count as unset, as in config.ts.
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  if (clean.ONAIR_REDIS_URL === undefined) return undefined;
  const parsed = envSchema.safeParse(clean);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
  if (!parsed.success) throw new ClusterSettingsError(`invalid cluster configuration:\n${problems.join('\n')}`);
  const e = parsed.data;
  const nodeUrl = new URL(e.ONAIR_NODE_URL).origin;
  const urlHost = new URL(nodeUrl).hostname.replace(/^\[(.*)\]$/, '$1');
  const announcedIp = e.ONAIR_PIPE_ANNOUNCED_IP ?? (net.isIP(urlHost) !== 0 ? urlHost : undefined);
  if (!announcedIp) problems.push('  ONAIR_PIPE_ANNOUNCED_IP: required when ONAIR_NODE_URL names a host rather than an IP address');
  if (e.ONAIR_PIPE_PORT_MIN > e.ONAIR_PIPE_PORT_MAX) problems.push('  ONAIR_PIPE_PORT_MAX: must not be below ONAIR_PIPE_PORT_MIN');
  if (problems.length > 0 || !announcedIp) throw new ClusterSettingsError(`invalid cluster configuration:\n${problems.join('\n')}`);
  return {
    redisUrl: e.ONAIR_REDIS_URL,
    secret: e.ONAIR_CLUSTER_SECRET,
    nodeUrl,
    nodeId: e.ONAIR_NODE_ID ?? deriveNodeId(nodeUrl),
    pipe: { listenIp: e.ONAIR_PIPE_LISTEN_IP, announcedIp, portMin: e.ONAIR_PIPE_PORT_MIN, portMax: e.ONAIR_PIPE_PORT_MAX },
  };
}

/** The settings with the secret and the Redis password masked, for the start-up log. */
export function describeClusterSettings(s: ClusterSettings): Record<string, unknown> {
  const redis = new URL(s.redisUrl);
  if (redis.password) redis.password = '<redacted>';
  return { ...s, redisUrl: redis.toString(), secret: '<redacted>' };
}
