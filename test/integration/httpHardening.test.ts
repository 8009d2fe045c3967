/**
 * HTTP hardening: oversized bodies, path traversal on /hls, /video and /assets (raw paths, as a hostile
 * client sends them: encoded, double-encoded, backslashes, NUL, absolute), symbolic links in the HLS
 * folder that lead outside it, helmet's security headers with the pages' own CSP, and CORS only where
 * intended.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

let s: TestServer;
let ann: string;
let streamId: string;
let secret: string;
const OUTSIDE_MARKER = 'outside-the-hls-folder-marker';

/** A request with the path exactly as given (fetch would normalize it), and optional raw body. */
function raw(method: string, p: string, opts: { headers?: Record<string, string | number>; body?: Buffer | string } = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: s.port, method, path: p, headers: opts.headers ?? {}, agent: false }, (res) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    // The server may answer (413) and close before the whole body is written.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    req.end(opts.body);
  });
}

const expectJsonError = (r: { status: number; headers: http.IncomingHttpHeaders; text: string }, status: number | number[], what: string) => {
  expect([status].flat(), `${what}: ${r.status} ${r.text.slice(0, 200)}`).toContain(r.status);
  expect(r.headers['content-type'], what).toMatch(/^application\/json/);
  const body = JSON.parse(r.text) as { error: string; message: string };
  expect(typeof body.error, what).toBe('string');
  expect(typeof body.message, what).toBe('string');
};

beforeAll(async () => {
  s = await startTestServer({ ONAIR_HLS: 'off' });
  ann = await s.broadcaster('ann');
  streamId = (await s.api('POST', '/api/streams', { token: ann, body: { title: 'Hardening' } })).body.id;
  secret = fs.readFileSync(path.join(s.dataDir, 'jwt-secret'), 'utf8').trim();
});
afterAll(async () => s?.close());

describe('oversized bodies', () => {
  it('answers 413 JSON for bodies over the limit, declared or streamed', async () => {
    const big = JSON.stringify({ title: 'x', description: 'y'.repeat(100_000) });
    expectJsonError(await raw('POST', '/api/streams', { headers: { authorization: `Bearer ${ann}`, 'content-type': 'application/json' }, body: big }), 413, 'declared length');
    // Chunked: no length up front, the parser counts as it reads.
    const chunked = await new Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }>((resolve) => {
      const req = http.request(
        { host: '127.0.0.1', port: s.port, method: 'PATCH', path: `/api/streams/${streamId}`, agent: false, headers: { authorization: `Bearer ${ann}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
        },
      );
      req.on('error', () => undefined);
      for (let i = 0; i < 20; i++) req.write(`${i === 0 ? '{"description":"' : ''}${'z'.repeat(10_000)}`);
      req.end('"}');
    });
    expectJsonError(chunked, 413, 'chunked');
    // A huge declared length is refused before any byte of it is read.
    expectJsonError(await raw('POST', '/api/auth/login', { headers: { 'content-type': 'application/json', 'content-length': 10_000_000_000 }, body: '{}' }), 413, 'huge declared length');
    // WHIP offers have their own limit.
    expectJsonError(
      await raw('POST', `/whip/${streamId}`, { headers: { authorization: `Bearer ${ann}`, 'content-type': 'application/sdp' }, body: `v=0\r\n${'a=x\r\n'.repeat(20_000)}` }),
      413,
      'WHIP offer',
    );
    expect((await s.api('GET', '/healthz')).status).toBe(200);
  });
});

describe('path traversal', () => {
  const ATTEMPTS = [
    '../../../../../../etc/passwd',
    '..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
    '%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '%2e%2e%2f%2e%2e%2f%2e%2e%2fjwt-secret',
    '%252e%252e%252f%252e%252e%252fjwt-secret',
    '..%5c..%5c..%5cjwt-secret',
    '..\\..\\..\\jwt-secret',
    '%5c..%5c..%5conair.db',
    '/etc/passwd',
    '%2fetc%2fpasswd',
    '//etc/passwd',
    '..%00/jwt-secret',
    'onair.css%00.js',
    '%00',
    '..%c0%af..%c0%afetc%c0%afpasswd',
    '.%2e/.%2e/jwt-secret',
    `${'..%2f'.repeat(3)}jwt-secret`,
  ];

  it('never serves a file outside /hls, /video and /assets, however the path is written', async () => {
    const prefixes = ['/assets/', '/hls/', `/hls/${streamId}/`, `/hls/${streamId}/AAAAAAAAAAAA/`, '/video/', '/watch/', '/embed/'];
    for (const prefix of prefixes) {
      for (const attempt of ATTEMPTS) {
        const r = await raw('GET', prefix + attempt);
        const what = `${prefix}${attempt}`;
        expect(r.text, what).not.toContain('root:');
        expect(r.text, what).not.toContain(secret);
        expect(r.text, what).not.toContain('SQLite format');
        // A page route may normalize the path back onto a page (as a browser would): never a file outside.
        if (r.status === 200) expect(r.headers['content-type'], what).toMatch(/^text\/html/);
        else expectJsonError(r, [400, 403, 404], what);
      }
    }
    // Control: a real asset is served.
    const css = await raw('GET', '/assets/onair.css');
    expect(css.status).toBe(200);
  });

  it('does not follow symbolic links in the HLS folder that lead outside it', async () => {
    const outside = path.join(s.dataDir, 'outside');
    fs.mkdirSync(path.join(outside, 'e0'), { recursive: true });
    fs.writeFileSync(path.join(outside, 'secret.txt'), OUTSIDE_MARKER);
    fs.writeFileSync(path.join(outside, 'session.json'), JSON.stringify({ streamId, sessionId: 'LinkedDir000', epochs: ['e0'], renditions: [360], segmentSeconds: 1, ended: true }));
    fs.writeFileSync(path.join(outside, 'e0', 'master.m3u8'), `#EXTM3U\n#${OUTSIDE_MARKER}\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=640x360\nr0.m3u8\n`);
    fs.writeFileSync(path.join(outside, 'e0', 'r0_1.ts'), OUTSIDE_MARKER);

    const session = path.join(s.dataDir, 'hls', streamId, 'SessionLinks');
    fs.mkdirSync(path.join(session, 'e0'), { recursive: true });
    fs.writeFileSync(path.join(session, 'thumb.jpg'), 'a real thumbnail');
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(session, 'poster.jpg'));
    fs.symlinkSync(path.join(s.dataDir, 'jwt-secret'), path.join(session, 'e0', 'r0_1.ts'));
    fs.symlinkSync('../../../../outside/secret.txt', path.join(session, 'e0', 'r0_2.ts'));
    fs.symlinkSync('../thumb.jpg', path.join(session, 'e0', 'r0_3.ts')); // inside: fine
    fs.symlinkSync(outside, path.join(s.dataDir, 'hls', streamId, 'LinkedDir000'));

    for (const p of [
      `/hls/${streamId}/SessionLinks/poster.jpg`,
      `/hls/${streamId}/SessionLinks/e0/r0_1.ts`,
      `/hls/${streamId}/SessionLinks/e0/r0_2.ts`,
      `/hls/${streamId}/LinkedDir000/master.m3u8`,
      `/hls/${streamId}/LinkedDir000/r0.m3u8`,
      `/hls/${streamId}/LinkedDir000/e0/r0_1.ts`,
      `/hls/${streamId}/LinkedDir000/poster.jpg`,
    ]) {
      const r = await raw('GET', p);
      expect(r.text, p).not.toContain(OUTSIDE_MARKER);
      expect(r.text, p).not.toContain(secret);
      expectJsonError(r, 404, p);
    }
    // Control: files (and links) that stay inside are served.
    expect((await raw('GET', `/hls/${streamId}/SessionLinks/thumb.jpg`)).text).toBe('a real thumbnail');
    expect((await raw('GET', `/hls/${streamId}/SessionLinks/e0/r0_3.ts`)).text).toBe('a real thumbnail');
  });
});

describe('security headers', () => {
  const get = async (p: string, headers: Record<string, string> = {}) => {
    const r = await fetch(s.url + p, { headers });
    await r.arrayBuffer();
    return r.headers;
  };
  const csp = (h: Headers) => Object.fromEntries((h.get('content-security-policy') ?? '').split(/;\s*/).map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]));

  it('sets the basics on every response, HSTS only over HTTPS', async () => {
    for (const p of ['/api/streams', '/healthz', '/', `/hls/${streamId}/master.m3u8`, '/nothing']) {
      const h = await get(p);
      expect(h.get('x-content-type-options'), p).toBe('nosniff');
      expect(h.get('referrer-policy'), p).toBe('strict-origin-when-cross-origin');
      expect(h.get('x-powered-by'), p).toBeNull();
      expect(h.get('strict-transport-security'), p).toBeNull();
      expect(h.get('x-frame-options'), p).toBe('SAMEORIGIN');
      expect(csp(h)['frame-ancestors'], p).toBe("'self'");
    }
    // Behind a TLS proxy on this host.
    expect((await get('/healthz', { 'x-forwarded-proto': 'https' })).get('strict-transport-security')).toMatch(/^max-age=\d+/);
    // Anything that is not a page may load nothing.
    expect(csp(await get('/api/streams'))['default-src']).toBe("'none'");
  });

  it("keeps each page's CSP: own scripts, media from blob:/mediastream:, websockets; only /embed and /video (a recording's oEmbed iframe) may be framed elsewhere", async () => {
    for (const p of ['/', '/studio', `/watch/${streamId}`]) {
      const h = await get(p);
      const c = csp(h);
      expect(c['script-src'], p).toBe("'self'");
      expect(c['media-src'], p).toBe("'self' blob: mediastream:");
      expect(c['connect-src'], p).toContain('ws:');
      expect(c['frame-ancestors'], p).toBe("'self'");
      expect(h.get('x-frame-options'), p).toBe('SAMEORIGIN');
    }
    for (const p of [`/embed/${streamId}`, '/video/AAAAAAAAAAAA']) {
      const embed = await get(p);
      expect(csp(embed)['frame-ancestors'], p).toBe('*');
      expect(csp(embed)['script-src'], p).toBe("'self'");
      expect(embed.get('x-frame-options'), p).toBeNull();
      expect(embed.get('cross-origin-resource-policy'), p).toBe('cross-origin');
    }
  });

  it('lets only listed origins frame /embed when ONAIR_EMBED_ORIGINS is set', async () => {
    await s.close();
    s = await startTestServer({ ONAIR_HLS: 'off', ONAIR_EMBED_ORIGINS: 'https://blog.example' }, s.dataDir);
    const embed = await get(`/embed/${streamId}`);
    expect(csp(embed)['frame-ancestors']).toBe("'self' https://blog.example");
    expect(embed.get('x-frame-options')).not.toBe('DENY');
    expect(csp(await get(`/watch/${streamId}`))['frame-ancestors']).toBe("'self'");
  });
});

describe('CORS', () => {
  const EVIL = 'https://evil.example';

  it('opens /hls (and /whip, /whep) to every origin', async () => {
    const r = await fetch(`${s.url}/hls/${streamId}/master.m3u8`, { headers: { origin: EVIL } });
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    const pre = await fetch(`${s.url}/hls/${streamId}/master.m3u8`, { method: 'OPTIONS', headers: { origin: EVIL, 'access-control-request-method': 'GET' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-methods')).toContain('GET');
    expect((await fetch(`${s.url}/whep/${streamId}`, { method: 'OPTIONS', headers: { origin: EVIL } })).headers.get('access-control-allow-origin')).toBe('*');
  });

  it('gives the API, the pages and the socket no CORS headers for a foreign origin', async () => {
    const ann2 = await s.login('ann', 'ann-password');
    for (const [method, p] of [
      ['GET', '/api/streams'],
      ['GET', '/api/streams/mine'],
      ['OPTIONS', '/api/streams'],
      ['OPTIONS', '/api/auth/login'],
      ['GET', '/'],
      ['GET', '/socket.io/?EIO=4&transport=polling'],
    ] as const) {
      const r = await fetch(s.url + p, {
        method,
        headers: { origin: EVIL, authorization: `Bearer ${ann2}`, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
      await r.arrayBuffer();
      expect(r.headers.get('access-control-allow-origin'), `${method} ${p}`).toBeNull();
      expect(r.headers.get('access-control-allow-credentials'), `${method} ${p}`).toBeNull();
    }
  });
});
