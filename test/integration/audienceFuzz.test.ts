/**
 * Hostile input to issue 14's routes (fast-check, fixed seed; AUDIENCE_FUZZ_SEED=<n> for another run), on a
 * real server: /oembed queries, the HLS `session` parameter, the admin API's ids and bodies (as an admin and
 * as a broadcaster). Every answer is a JSON error with a known code (or a success), never a 500; no account
 * changes unless an admin sent a valid body; the server keeps answering.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../shared/errors.js';
import { encode, hostileString, mutated } from '../helpers/hostile.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

const SEED = Number(process.env.AUDIENCE_FUZZ_SEED ?? 20_261_130);

let s: TestServer;
let admin: string;
let bob: string;
let bobId: string;
let streamId: string;

beforeAll(async () => {
  s = await startTestServer({ ONAIR_HLS: 'off' });
  admin = await s.login();
  bob = await s.broadcaster('bob');
  bobId = (await s.api('GET', '/api/me', { token: bob })).body.id;
  streamId = (await s.api('POST', '/api/streams', { token: bob, body: { title: 'fuzzed' } })).body.id;
}, 90_000);
afterAll(async () => s?.close());

/** A JSON error with a known code, or a success. */
function expectProper(r: { status: number; body: unknown }, what: string, allowed: number[] = []): void {
  if (allowed.includes(r.status)) return;
  expect(r.status, what.slice(0, 300)).toBeLessThan(500);
  if (r.status >= 400) expect(ERROR_CODES, `${what}: ${JSON.stringify(r.body).slice(0, 200)}`).toContain((r.body as { error?: string }).error);
}

/**
 * s.api, once more if the connection was reset: node closes a connection after refusing a request it cannot
 * parse (414, 431), and the client may already have sent the next request on it.
 */
async function call(method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  try {
    return await s.api(method, path, opts);
  } catch {
    return s.api(method, path, opts);
  }
}

const users = async () => (await s.api('GET', '/api/admin/users', { token: admin })).body.users;

describe("issue 14's routes under hostile input", () => {
  it('/oembed: any url, format and sizes are a proper answer; only this server\'s public pages are described', async () => {
    const urls = fc.oneof(
      hostileString(),
      fc.constantFrom(`/watch/${streamId}`, `watch/${streamId}`, `//evil.example/watch/${streamId}`, 'http://[::1]/watch/x', `http://127.0.0.1:1/watch/${streamId}`, 'data:text/html,<script>', 'http://a\u0000b/watch/x'),
      fc.tuple(fc.constantFrom('watch', 'embed', 'video', 'studio', '..', '%2e%2e', 'api/streams'), hostileString()).map(([p, id]) => `${s.url}/${p}/${encode(id)}`),
    );
    const extras = fc.oneof(fc.constant(''), fc.constantFrom('&format=json', '&format=xml', '&format=', '&maxwidth=0', '&maxheight=99999999', '&maxwidth=1.5', '&maxwidth=-1', '&url=x', '&__proto__=1'), hostileString().map((q) => `&${encode(q)}=${encode(q)}`));
    await fc.assert(
      fc.asyncProperty(urls, extras, async (url, extra) => {
        const r = await call('GET', `/oembed?url=${encode(url)}${extra}`);
        // 501: format=xml (the spec's answer); 431/414: a URL too long for node's parser, refused before OnAir.
        expectProper(r, `${url} ${extra}`, extra.includes('format=xml') ? [501, 414, 431] : [414, 431]);
        if (r.status === 200) {
          expect(url.startsWith(s.url)).toBe(true);
          expect(r.body.type).toBe('video');
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  }, 120_000);

  it('the HLS session parameter: malformed ones are a 400, never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostileString(), fc.string({ minLength: 60, maxLength: 80 })), async (session) => {
        const r = await call('GET', `/hls/${streamId}/master.m3u8?session=${encode(session)}`);
        // HLS is off: the stream has no live HLS (404) once the session is well formed. 414/431: too long for
        // node's parser, refused before OnAir.
        expect([400, 404, 414, 431], session.slice(0, 100)).toContain(r.status);
      }),
      { seed: SEED, numRuns: 200 },
    );
  }, 120_000);

  it('the admin API: hostile ids and bodies get proper errors; a broadcaster changes nothing', async () => {
    const before = await users();
    const ids = fc.oneof(fc.constant(bobId), fc.constantFrom('..', '%2e%2e', '%00', 'a'.repeat(300), '__proto__', 'constructor'), hostileString().map(encode));
    const bodies = fc.oneof(mutated({ role: 'admin', disabled: true }), mutated({ password: 'a-long-password' }), hostileString(), fc.constant(null));
    const inputs = fc.oneof(
      fc.tuple(ids, bodies).map(([id, body]) => ({ method: 'PATCH', path: `/api/admin/users/${id}`, body })),
      fc.tuple(ids, bodies).map(([id, body]) => ({ method: 'POST', path: `/api/admin/users/${id}/password`, body })),
      fc.tuple(ids, bodies).map(([id, body]) => ({ method: 'POST', path: `/api/admin/streams/${id}/end`, body })),
      fc.tuple(fc.constantFrom('GET', 'DELETE', 'PUT'), fc.constantFrom('/api/admin/users', '/api/admin/server', '/api/admin/streams/live', '/api/admin/nope')).map(([method, path]) => ({ method, path, body: undefined })),
    );
    await fc.assert(
      fc.asyncProperty(inputs, async ({ method, path, body }) => {
        const asBob = await call(method, path, { token: bob, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
        expectProper(asBob, `bob ${method} ${path}`, [413, 414, 431]);
        // Refused (403; 401 once a valid admin body below disabled him), or not an admin route at all (404), or
        // a body that is not JSON (400) before any route.
        expect([400, 401, 403, 404, 413, 414, 431], `bob ${method} ${path}`.slice(0, 200)).toContain(asBob.status);
        const asAdmin = await call(method, path, { token: admin, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
        expectProper(asAdmin, `admin ${method} ${path} ${JSON.stringify(body)?.slice(0, 100)}`, [413, 414, 431]);
        // The admin may not lock themselves out, whatever the body.
        const me = (await users()).find((u: { username: string }) => u.username === 'admin');
        expect(me).toMatchObject({ role: 'admin', disabled: false });
      }),
      { seed: SEED, numRuns: 200 },
    );
    // Bob's account may have been changed by valid admin bodies only: put it back and compare the rest.
    const after = await users();
    expect(after.map((u: { id: string }) => u.id)).toEqual(before.map((u: { id: string }) => u.id));
    expect((await s.api('GET', '/readyz')).status).toBe(200);
  }, 180_000);
});
