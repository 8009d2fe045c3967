/**
 * The cluster's nodes, in one Redis hash (LiveKit's rule, `pkg/routing/redisrouter.go`): each node writes its
 * entry (URL, media address, pipe port range, load) every second, and counts as alive only while its entry is
 * younger than 5 s. A node that dies simply stops writing; no one has to notice it going.
 *
 * Lifetime: from `start()` (first heartbeat awaited, so a node is listed before it serves) to `stop()` (timer
 * cleared, own entry removed so that others stop counting on it at once).
 *
 * Guards, and why:
 * - The time of an entry is Redis's clock (`TIME` inside the Lua scripts that write and read), never a
 *   node's: nodes' clocks may disagree by seconds, which would make a live node look dead or a dead one alive.
 * - Entries read back are validated with zod: a malformed entry (another version, a hand edit) is ignored.
 * - `isRegisteredAddress` is the check a node makes before it sends media anywhere: only to an alive node's
 *   announced address, inside its announced pipe port range. A forged internal request cannot make a node
 *   stream to an arbitrary host.
 * - A failed heartbeat (Redis down) is logged and retried on the next tick; nothing else stops.
 * - Entries silent for PRUNE_AFTER_MS are deleted by the next heartbeat of any node (compare-and-delete in the
 *   script), so the hash does not grow with every node that ever ran.
 */
import net from 'node:net';
import { z } from 'zod';
import type { Logger } from '../log/logger.js';
import type { Redis } from './redisClient.js';

/** A node counts as alive while its entry is younger than this (LiveKit: 5 s). */
export const NODE_ALIVE_MS = 5_000;
export const HEARTBEAT_MS = 1_000;
const PRUNE_AFTER_MS = 60_000;

const nodeLoadSchema = z.object({
  streams: z.number().int().min(0),
  viewers: z.number().int().min(0),
  workers: z.number().int().min(0),
});
export type NodeLoad = z.infer<typeof nodeLoadSchema>;

const nodeInfoSchema = z.object({
  id: z.string().min(1).max(63),
  url: z.string().url(),
  /** Where other nodes send media (pipe transports). */
  address: z.string().refine((v) => net.isIP(v) !== 0),
  pipePorts: z.object({ min: z.number().int().min(1).max(65535), max: z.number().int().min(1).max(65535) }),
  load: nodeLoadSchema,
  startedAt: z.number().int(),
});
export type NodeInfo = z.infer<typeof nodeInfoSchema>;

/** An entry as read back: the node's info and when (Redis clock, ms) it last wrote it. */
export interface NodeEntry extends NodeInfo {
  at: number;
  /** How old the entry was when read. */
  ageMs: number;
}

// KEYS[1] hash; ARGV[1] node id; ARGV[2] entry JSON; ARGV[3] prune age. Writes "<ms>|<json>".
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', now) .. '|' .. ARGV[2])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local at = tonumber(string.match(all[i + 1], '^(%d+)|'))
  if at == nil or now - at > tonumber(ARGV[3]) then redis.call('HDEL', KEYS[1], all[i]) end
end
return now`;

// KEYS[1] hash. Returns { now, field, value, field, value… }.
const READ = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
table.insert(all, 1, string.format('%d', now))
return all`;

export interface NodeRegistryOptions {
  redis: Redis;
  /** This node, without its load (read from `load()` at each heartbeat). */
  self: Omit<NodeInfo, 'load' | 'startedAt'>;
  load: () => NodeLoad;
  logger: Logger;
  /** Key prefix (tests give each test its own). Default "onair:". */
  prefix?: string;
  heartbeatMs?: number;
  aliveMs?: number;
}

export class NodeRegistry {
  readonly #opts: NodeRegistryOptions;
  readonly #key: string;
  readonly #startedAt = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  #stopped = false;

  constructor(opts: NodeRegistryOptions) {
    this.#opts = opts;
    this.#key = `${opts.prefix ?? 'onair:'}nodes`;
  }

  get nodeId(): string {
    return this.#opts.self.id;
  }

  /** Writes the first heartbeat (throws when Redis is unreachable), then one every second. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.heartbeat();
    clearInterval(this.#timer);
    this.#timer = setInterval(() => {
      // One heartbeat at a time: a slow Redis does not pile them up.
      if (this.#beating) return;
      this.#beating = this.heartbeat()
        .catch((err: Error) => this.#opts.logger.warn({ err: err.message }, 'node heartbeat failed; retrying'))
        .finally(() => (this.#beating = undefined));
    }, this.#opts.heartbeatMs ?? HEARTBEAT_MS);
    this.#timer.unref();
  }

  /** Stops the heartbeat and removes this node's entry (best effort: Redis may be gone). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#beating;
    await this.#opts.redis.hdel(this.#key, this.#opts.self.id).catch(() => undefined);
  }

  /** Writes this node's entry now. */
  async heartbeat(): Promise<void> {
    if (this.#stopped) return;
    const info: NodeInfo = nodeInfoSchema.parse({ ...this.#opts.self, load: this.#opts.load(), startedAt: this.#startedAt });
    await this.#opts.redis.eval(HEARTBEAT, 1, this.#key, info.id, JSON.stringify(info), PRUNE_AFTER_MS);
  }

  /** Every node whose entry is younger than 5 s (this one included), least loaded first. */
  async aliveNodes(): Promise<NodeEntry[]> {
    const reply = (await this.#opts.redis.eval(READ, 1, this.#key)) as string[];
    const now = Number(reply[0]);
    const aliveMs = this.#opts.aliveMs ?? NODE_ALIVE_MS;
    const nodes: NodeEntry[] = [];
    for (let i = 1; i + 1 < reply.length; i += 2) {
      const entry = parseEntry(reply[i + 1]!, now);
      if (entry && entry.id === reply[i] && entry.ageMs < aliveMs) nodes.push(entry);
    }
    return nodes.sort((a, b) => a.load.viewers + a.load.streams - (b.load.viewers + b.load.streams));
  }

  /** The alive node `id`, if any. */
  async node(id: string): Promise<NodeEntry | undefined> {
    return (await this.aliveNodes()).find((n) => n.id === id);
  }

  /**
   * Whether `ip:port` is an alive node's media address (its announced address, a port in its pipe range);
   * with `nodeId`, that node's in particular. The only addresses a node sends media to.
   */
  async isRegisteredAddress(ip: string, port: number, nodeId?: string): Promise<boolean> {
    const want = normalizeIp(ip);
    if (!want || !Number.isInteger(port)) return false;
    return (await this.aliveNodes()).some(
      (n) => (nodeId === undefined || n.id === nodeId) && normalizeIp(n.address) === want && port >= n.pipePorts.min && port <= n.pipePorts.max,
    );
  }
}

function parseEntry(raw: string, now: number): NodeEntry | undefined {
  const bar = raw.indexOf('|');
  if (bar < 0) return undefined;
  const at = Number(raw.slice(0, bar));
  let json: unknown;
  try {
    json = JSON.parse(raw.slice(bar + 1));
  } catch {
    return undefined;
  }
  const info = nodeInfoSchema.safeParse(json);
  if (!info.success || !Number.isFinite(at)) return undefined;
  return { ...info.data, at, ageMs: now - at };
}

/** One spelling per address: IPv4-mapped IPv6 as IPv4, IPv6 lower-case and expanded by the URL parser. */
export function normalizeIp(ip: string): string | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const v = mapped ? mapped[1]! : ip;
  const family = net.isIP(v);
  if (family === 4) return v;
  if (family === 6) return new URL(`http://[${v}]/`).hostname.toLowerCase();
  return undefined;
}
