/**
 * deploy/nginx/onair.conf, run by Debian's nginx (test/helpers/nginxHttp.ts: the production file with test
 * addresses, TLS off) in front of three small HTTP servers standing in for OnAir nodes: each answers with
 * its name and counts what reached it. What the load balancer must do for a cluster, checked on the real
 * nginx: the sticky cookie (set when missing, followed when present), WHIP's offer and session resource on
 * one node, a websocket upgrade passed through, /internal never forwarded, a dead node skipped (GET and
 * POST) without the client seeing an error, and HLS objects fetched from the nodes once for many clients.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNginxHttp, type NginxHttp } from '../helpers/nginxHttp.js';

interface FakeNode {
  name: string;
  address: string;
  server: http.Server;
  /** Requests that reached it: "METHOD /path". */
  seen: string[];
}

async function fakeNode(name: string): Promise<FakeNode> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => {
      const hls = req.url?.startsWith('/hls/');
      // HLS objects answer slowly, so that concurrent clients overlap at nginx's cache lock.
      setTimeout(
        () => {
          res.setHeader('Cache-Control', hls ? 'public, max-age=31536000, immutable' : 'no-store');
          res.setHeader('X-Node', name);
          res.end(name);
        },
        hls ? 300 : 0,
      );
    });
  });
  server.on('upgrade', (req, socket) => {
    seen.push(`UPGRADE ${req.url}`);
    socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\nX-Node: ${name}\r\n\r\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { name, server, seen, address: `127.0.0.1:${(server.address() as net.AddressInfo).port}` };
}

let nodes: FakeNode[];
let nginx: NginxHttp;

beforeAll(async () => {
  nodes = await Promise.all(['a', 'b', 'c'].map(fakeNode));
  nginx = await startNginxHttp(nodes.map((n) => n.address));
});

afterAll(async () => {
  await nginx?.stop();
  for (const n of nodes ?? []) n.server.closeAllConnections();
  await Promise.all((nodes ?? []).map((n) => new Promise<void>((resolve) => n.server.close(() => resolve()))));
});

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => fetch(`${nginx.url}${path}`, { method, headers });

describe('nginx in front of the nodes (deploy/nginx/onair.conf)', () => {
  it('sets the sticky cookie on a first answer and follows it afterwards', async () => {
    const first = await get('/');
    expect(first.status).toBe(200);
    const cookie = /onair_node=([^;]+)/.exec(first.headers.get('set-cookie') ?? '')?.[1];
    expect(cookie).toMatch(/^[0-9a-f]{32}$/);
    const answered = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const res = await get('/api/streams', { cookie: `onair_node=${cookie}` });
      answered.add(await res.text());
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    expect(answered.size).toBe(1);
    // Different cookies spread over the nodes.
    const spread = new Set<string>();
    for (let i = 0; i < 40; i++) spread.add(await (await get('/', { cookie: `onair_node=k${i}` })).text());
    expect(spread.size).toBe(3);
  });

  it('sends a WHIP offer and its session resource to one node', async () => {
    const offer = await fetch(`${nginx.url}/whip/stream1`, { method: 'POST', body: 'v=0', headers: { 'content-type': 'application/sdp' } });
    const node = await offer.text();
    for (let i = 0; i < 5; i++) expect(await (await get(`/whip/stream1/sessions/s${i}`, {}, 'DELETE')).text()).toBe(node);
  });

  it('passes a websocket upgrade through', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect(nginx.port, '127.0.0.1', () =>
        s.write('GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: live.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nCookie: onair_node=x\r\n\r\n'),
      );
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('end', () => resolve(got));
      s.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 101/);
    expect(nodes.some((n) => n.seen.includes('UPGRADE /socket.io/?EIO=4&transport=websocket'))).toBe(true);
  });

  it('never forwards /internal', async () => {
    const res = await get('/internal/pipes', {}, 'POST');
    expect(res.status).toBe(404);
    expect(nodes.flatMap((n) => n.seen).filter((r) => r.includes('/internal'))).toEqual([]);
  });

  it('fetches an HLS object from the nodes once for 100 clients at once', async () => {
    const answers = await Promise.all(Array.from({ length: 100 }, () => get('/hls/s1/sess/r0_s7.m4s').then((r) => r.text())));
    expect(answers.every((a) => ['a', 'b', 'c'].includes(a))).toBe(true);
    expect(nodes.flatMap((n) => n.seen).filter((r) => r === 'GET /hls/s1/sess/r0_s7.m4s')).toHaveLength(1);
    const logged = nginx.accessLog().filter((e) => e.uri === '/hls/s1/sess/r0_s7.m4s');
    expect(logged).toHaveLength(100);
    expect(logged.filter((e) => e.cache !== 'HIT')).toHaveLength(1);
  });

  it('skips a dead node: the same cookie and the same WHIP stream are answered by another node', async () => {
    const cookie = { cookie: 'onair_node=failover' };
    const before = await (await get('/api/x', cookie)).text();
    const whipBefore = await (await get('/whip/stream2', {}, 'POST')).text();
    const dead = nodes.find((n) => n.name === before)!;
    dead.server.closeAllConnections();
    await new Promise<void>((resolve) => dead.server.close(() => resolve()));

    const after = await get('/api/x', cookie);
    expect(after.status).toBe(200);
    expect(await after.text()).not.toBe(before);
    const post = await get('/api/y', cookie, 'POST');
    expect(post.status).toBe(200);
    expect(await post.text()).not.toBe(before);
    const whipAfter = await (await get('/whip/stream2', {}, 'POST')).text();
    if (whipBefore === before) expect(whipAfter).not.toBe(before);
    else expect(whipAfter).toBe(whipBefore);
  });
});
