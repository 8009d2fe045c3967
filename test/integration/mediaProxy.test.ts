/**
 * The HLS forward between nodes (server/cluster/mediaProxy.ts) over real HTTP: node A (the proxy in front
 * of a local handler that answers "local") and node B (the holder, an HTTP server that records what reached
 * it). Where files are is given through the proxy's narrow MediaHolders interface (in the product: the
 * origin leases and the registry in Redis, the catalogue's recording node; see mediaHolders.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HOP_HEADER, mediaProxy, type MediaHolders } from '../../server/cluster/mediaProxy.js';
import { createLogger } from '../../server/log/logger.js';
import { until } from '../helpers/until.js';

const STREAM = 'Stream000001';
const SESSION = 'Session00001';

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
  closedEarly: boolean;
}

let holder: http.Server;
let holderUrl: string;
let proxy: http.Server;
let proxyUrl: string;
const seen: Seen[] = [];
const where = {
  local: new Set<string>(),
  recording: new Map<string, string>(),
  origin: new Map<string, string>(),
  alive: new Map<string, string>(),
};

const listen = async (s: http.Server) => {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  holder = http.createServer((req, res) => {
    const entry: Seen = { url: req.url!, headers: req.headers, closedEarly: false };
    seen.push(entry);
    res.on('close', () => (entry.closedEarly = !res.writableFinished));
    if (req.url!.includes('_HLS_msn=999')) return; // a blocking request that never completes
    if (req.url!.includes('missing')) {
      res.writeHead(404, { 'Cache-Control': 'no-store', 'Content-Type': 'application/json' });
      return res.end('{"error":"not_found"}');
    }
    res.writeHead(200, { 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': 'public, max-age=1', ETag: '"abc"', Connection: 'keep-alive' });
    res.end(`#EXTM3U holder ${req.url}`);
  });
  holderUrl = await listen(holder);
  where.alive.set('node-b', holderUrl);

  const holders: MediaHolders = {
    selfId: 'node-a',
    holdsLocally: (s, sess) => where.local.has(`${s}/${sess ?? ''}`),
    recordingNode: async (id) => where.recording.get(id),
    originNode: async (s) => where.origin.get(s),
    nodeUrl: async (id) => where.alive.get(id),
  };
  const app = express();
  app.set('trust proxy', true);
  app.use('/hls', mediaProxy({ holders, logger: createLogger('silent'), timeoutMs: 5_000 }));
  app.use('/hls', (_req, res) => void res.status(404).send('local'));
  proxy = http.createServer(app);
  proxyUrl = await listen(proxy);
});

afterAll(async () => {
  for (const s of [holder, proxy]) {
    s?.closeAllConnections();
    await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }
});

beforeEach(() => {
  seen.length = 0;
  where.local.clear();
  where.recording.clear();
  where.origin.clear();
  where.alive.set('node-b', holderUrl);
});

describe('HLS requests for files another node holds', () => {
  it("forwards a live playlist to the stream's origin, query included, and passes its answer back unchanged", async () => {
    where.origin.set(STREAM, 'node-b');
    const res = await fetch(`${proxyUrl}/hls/${STREAM}/master.m3u8?token=abc.def`, { headers: { cookie: 'secret=1', authorization: 'Bearer x', 'if-none-match': '"old"' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(`#EXTM3U holder /hls/${STREAM}/master.m3u8?token=abc.def`);
    expect(res.headers.get('cache-control')).toBe('public, max-age=1');
    expect(res.headers.get('etag')).toBe('"abc"');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers[HOP_HEADER]).toBe('node-a');
    expect(seen[0]!.headers['if-none-match']).toBe('"old"');
    expect(seen[0]!.headers.cookie).toBeUndefined();
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });

  it("sends a session's files to the recording's node, else to the origin", async () => {
    where.recording.set(SESSION, 'node-b');
    where.origin.set(STREAM, 'node-gone');
    expect((await fetch(`${proxyUrl}/hls/${STREAM}/${SESSION}/r0_s3.m4s`)).status).toBe(200);
    where.recording.clear();
    where.origin.set(STREAM, 'node-b');
    expect((await fetch(`${proxyUrl}/hls/${STREAM}/${SESSION}/r0.m3u8?_HLS_msn=4&_HLS_part=1`)).status).toBe(200);
    expect(seen.map((s) => s.url)).toEqual([`/hls/${STREAM}/${SESSION}/r0_s3.m4s`, `/hls/${STREAM}/${SESSION}/r0.m3u8?_HLS_msn=4&_HLS_part=1`]);
  });

  it('passes the holder’s errors back as they are', async () => {
    where.origin.set(STREAM, 'node-b');
    const res = await fetch(`${proxyUrl}/hls/${STREAM}/${SESSION}/missing.m4s`);
    expect(res.status).toBe(404);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('serves locally what this node holds, and what no node holds', async () => {
    where.origin.set(STREAM, 'node-b');
    where.local.add(`${STREAM}/`);
    where.local.add(`${STREAM}/${SESSION}`);
    expect(await (await fetch(`${proxyUrl}/hls/${STREAM}/master.m3u8`)).text()).toBe('local');
    expect(await (await fetch(`${proxyUrl}/hls/${STREAM}/${SESSION}/r0_s1.m4s`)).text()).toBe('local');
    where.local.clear();
    where.origin.clear();
    expect(await (await fetch(`${proxyUrl}/hls/${STREAM}/master.m3u8`)).text()).toBe('local');
    where.origin.set(STREAM, 'node-a'); // this node is the origin (its files just not there): no forward to itself
    expect(await (await fetch(`${proxyUrl}/hls/${STREAM}/master.m3u8`)).text()).toBe('local');
    expect(seen).toEqual([]);
  });

  it('never forwards a request that was already forwarded, nor anything but GET and HEAD, nor paths outside the patterns', async () => {
    where.origin.set(STREAM, 'node-b');
    expect(await (await fetch(`${proxyUrl}/hls/${STREAM}/master.m3u8`, { headers: { [HOP_HEADER]: 'node-c' } })).text()).toBe('local');
    expect((await fetch(`${proxyUrl}/hls/${STREAM}/master.m3u8`, { method: 'POST' })).status).toBe(404);
    expect(await (await fetch(`${proxyUrl}/hls/${STREAM}/%2e%2e%2f%2e%2e%2fetc%2fpasswd`)).text()).toBe('local');
    expect(await (await fetch(`${proxyUrl}/hls/short/master.m3u8`)).text()).toBe('local');
    expect(seen).toEqual([]);
  });

  it('answers locally when the holder is not alive, and 503 no-store when it does not answer', async () => {
    where.origin.set(STREAM, 'node-b');
    where.alive.delete('node-b');
    expect(await (await fetch(`${proxyUrl}/hls/${STREAM}/master.m3u8`)).text()).toBe('local');
    where.alive.set('node-b', 'http://127.0.0.1:1'); // alive in the registry, but nothing listens
    const res = await fetch(`${proxyUrl}/hls/${STREAM}/master.m3u8`);
    expect(res.status).toBe(503);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('releases the request at the holder when the client goes away', async () => {
    where.origin.set(STREAM, 'node-b');
    const ac = new AbortController();
    const pending = fetch(`${proxyUrl}/hls/${STREAM}/${SESSION}/r0.m3u8?_HLS_msn=999&_HLS_part=0`, { signal: ac.signal }).catch(() => 'aborted');
    await until('the request to reach the holder', () => seen.length === 1, 5_000);
    ac.abort();
    expect(await pending).toBe('aborted');
    await until('the holder to see its request closed', () => seen[0]!.closedEarly, 5_000);
  });
});
