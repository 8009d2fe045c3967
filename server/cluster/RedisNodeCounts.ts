/**
 * Counts that every node keeps for itself in Redis and that are read as one sum: one hash per key (a stream's
 * audience, a client address's sockets), one field per node instance (RedisInstances) holding that node's
 * count. The sum counts only the instances alive in the registry, so a dead node's share stops counting
 * within the registry's staleness (5 s) without anyone deleting it. Which instances are alive is read from
 * the registry's hash inside the same script, on Redis's clock (never a list cached on a node, which could
 * miss a node that just joined and let two nodes admit past a maximum together).
 *
 * Every write is one Lua script (atomic: no read-modify-write race between nodes): set this node's count,
 * or add to it unless the sum would exceed a maximum, then sum the alive fields, and optionally PUBLISH the
 * new sum on a channel, in the same script, so that every node hears the sums in the order Redis computed
 * them (a later change never arrives before an earlier one).
 *
 * Guards, and why:
 * - A write that fails (Redis unreachable) marks the key dirty; the owner's tick rewrites this node's
 *   absolute count when Redis is back (`flush`), so an outage leaves no count wrong for longer than it lasts.
 * - Each hash expires TTL_MS after its last write, and `flush(true)` rewrites every non-zero own count well
 *   within it: fields of nodes that died are forgotten with the hash once nobody writes it.
 * - Keys are hashed into the Redis key (SHA-256, 32 hex digits): client addresses and ids of any shape make
 *   keys of one bounded shape.
 */
import crypto from 'node:crypto';
import type { Redis } from './redisClient.js';
import type { RedisInstances } from './RedisInstances.js';

const TTL_MS = 60_000;

// The instances (`<node id>:<startedAt>`) whose registry entry (NodeRegistry: "<ms>|<json>") is younger
// than \`aliveMs\`, as a set.
const ALIVE = `
local function aliveInstances(nodesKey, aliveMs)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local all = redis.call('HGETALL', nodesKey)
  local alive = {}
  for i = 1, #all, 2 do
    local at, json = string.match(all[i + 1], '^(%d+)|(.*)$')
    if at and now - tonumber(at) < aliveMs then
      local ok, info = pcall(cjson.decode, json)
      if ok and type(info) == 'table' and type(info.startedAt) == 'number' then
        alive[all[i] .. ':' .. string.format('%.0f', info.startedAt)] = true
      end
    end
  end
  return alive
end`;

// KEYS[1] hash, KEYS[2] the registry's hash. ARGV: 1 own instance, 2 'set'|'add', 3 value, 4 max (-1: none),
// 5 ttl ms, 6 channel ('' none), 7 message prefix, 8 alive ms. Returns { 1 written | 0 refused, sum }.
const WRITE = `${ALIVE}
local alive = aliveInstances(KEYS[2], tonumber(ARGV[8]))
alive[ARGV[1]] = true
local function sum()
  local all = redis.call('HGETALL', KEYS[1])
  local t = 0
  for i = 1, #all, 2 do
    if alive[all[i]] then t = t + tonumber(all[i + 1]) end
  end
  return t
end
local v = tonumber(ARGV[3])
if ARGV[2] == 'add' then
  local max = tonumber(ARGV[4])
  if v > 0 and max >= 0 and sum() + v > max then return { 0, sum() } end
  v = (tonumber(redis.call('HGET', KEYS[1], ARGV[1])) or 0) + v
end
if v > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', v))
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local total = sum()
if ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[6], ARGV[7] .. '|' .. string.format('%d', total) .. '|' .. ARGV[1]) end
return { 1, total }`;

// KEYS[1] the registry's hash, KEYS[2…] hashes. ARGV[1] alive ms. Returns each hash's sum.
const SUMS = `${ALIVE}
local alive = aliveInstances(KEYS[1], tonumber(ARGV[1]))
local out = {}
for k = 2, #KEYS do
  local all = redis.call('HGETALL', KEYS[k])
  local t = 0
  for i = 1, #all, 2 do
    if alive[all[i]] then t = t + tonumber(all[i + 1]) end
  end
  out[k - 1] = t
end
return out`;

export interface RedisNodeCountsOptions {
  redis: Redis;
  instances: RedisInstances;
  /** Key prefix of the hashes, e.g. "onair:audience:". */
  keyPrefix: string;
  /** Where each write publishes `<message prefix>|<sum>|<instance>` (none when undefined). */
  channel?: string;
}

export class RedisNodeCounts {
  readonly #o: RedisNodeCountsOptions;
  /** This node's non-zero counts, by key. */
  readonly #own = new Map<string, number>();
  /** Keys whose last write failed: this node's count there is to be rewritten. */
  readonly #dirty = new Set<string>();

  constructor(o: RedisNodeCountsOptions) {
    this.#o = o;
  }

  /** The Redis key of `key`. */
  redisKey(key: string): string {
    return this.#o.keyPrefix + crypto.createHash('sha256').update(key).digest('hex').slice(0, 32);
  }

  own(key: string): number {
    return this.#own.get(key) ?? 0;
  }

  /** The keys this node counts (non-zero). */
  ownKeys(): string[] {
    return [...this.#own.keys()];
  }

  /** Sets this node's count of `key`; resolves with the sum over alive nodes. `message` prefixes the publish. */
  async set(key: string, value: number, message = key): Promise<number> {
    this.#remember(key, value);
    const [, sum] = await this.#write(key, 'set', value, -1, message);
    return sum;
  }

  /**
   * Adds `delta` to this node's count of `key`, refused (resolves false) when `delta` > 0 and the sum would
   * exceed `max`. Rejects when Redis is unreachable (the key is marked dirty: this node's count is rewritten
   * by the next flush).
   */
  async add(key: string, delta: number, max = -1): Promise<boolean> {
    if (delta < 0) this.#remember(key, this.own(key) + delta);
    const [written] = await this.#write(key, 'add', delta, max, key);
    if (written === 1 && delta > 0) this.#remember(key, this.own(key) + delta);
    return written === 1;
  }

  /** Sums over alive nodes, one per key. */
  async sums(keys: string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    const { redis, instances } = this.#o;
    const reply = (await redis.eval(SUMS, keys.length + 1, instances.nodesKey, ...keys.map((k) => this.redisKey(k)), instances.aliveMs)) as number[];
    return reply.map(Number);
  }

  /** Rewrites this node's count of the dirty keys (`all`: of every key it counts, to keep their hashes). */
  async flush(all = false): Promise<void> {
    const keys = all ? new Set([...this.#dirty, ...this.#own.keys()]) : new Set(this.#dirty);
    for (const key of keys) await this.#write(key, 'set', this.own(key), -1, undefined).catch(() => undefined);
  }

  async #write(key: string, mode: 'set' | 'add', value: number, max: number, message: string | undefined): Promise<[number, number]> {
    const { redis, instances, channel } = this.#o;
    try {
      const reply = (await redis.eval(
        WRITE,
        2,
        this.redisKey(key),
        instances.nodesKey,
        instances.self,
        mode,
        value,
        max,
        TTL_MS,
        channel !== undefined && message !== undefined ? channel : '',
        message ?? '',
        instances.aliveMs,
      )) as [number, number];
      // A refused add changed nothing: whatever was dirty still is.
      if (reply[0] === 1 && mode === 'set') this.#dirty.delete(key);
      return [Number(reply[0]), Number(reply[1])];
    } catch (err) {
      // The script may have run with its reply lost: this node's absolute count is rewritten later either way.
      this.#dirty.add(key);
      throw err;
    }
  }

  #remember(key: string, value: number): void {
    if (value > 0) this.#own.set(key, value);
    else this.#own.delete(key);
  }
}
