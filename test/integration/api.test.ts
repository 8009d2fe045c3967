import jwt from 'jsonwebtoken';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, ISSUER } from '../../server/auth/tokens.js';
import { ADMIN, startTestServer, type TestServer } from '../helpers/testServer.js';

let s: TestServer;
let admin: string;
let ann: string;
let bob: string;

beforeAll(async () => {
  s = await startTestServer();
  admin = await s.login();
  ann = await s.broadcaster('ann');
  bob = await s.broadcaster('bob');
});
afterAll(async () => s?.close());

const createStream = async (token: string, body: Record<string, unknown> = { title: 'A stream' }) => {
  const r = await s.api('POST', '/api/streams', { token, body });
  expect(r.status).toBe(201);
  return r.body;
};

describe('health, readiness, metrics', () => {
  it('answers /healthz and /readyz with the checks', async () => {
    expect((await s.api('GET', '/healthz')).body).toEqual({ status: 'ok' });
    const ready = await s.api('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { workers: true, database: true } });
  });

  it('serves Prometheus metrics', async () => {
    const r = await s.api('GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain');
    expect(r.body).toMatch(/^onair_mediasoup_workers 1$/m);
    expect(r.body).toMatch(/^onair_streams_live 0$/m);
    expect(r.body).toMatch(/^onair_viewers 0$/m);
    expect(r.body).toContain('onair_process_resident_memory_bytes');
  });

  it('gives every response a request id, and echoes a sane incoming one', async () => {
    expect((await s.api('GET', '/healthz')).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect((await s.api('GET', '/healthz', { headers: { 'x-request-id': 'abc-123' } })).headers.get('x-request-id')).toBe('abc-123');
    expect((await s.api('GET', '/healthz', { headers: { 'x-request-id': 'bad id\u00e9!' } })).headers.get('x-request-id')).not.toContain('bad');
  });
});

describe('POST /api/auth/login', () => {
  it('returns a token and the user', async () => {
    const r = await s.api('POST', '/api/auth/login', { body: ADMIN });
    expect(r.status).toBe(200);
    expect(r.body.user).toMatchObject({ username: 'admin', role: 'admin' });
    expect(typeof r.body.token).toBe('string');
    expect(Date.parse(r.body.expiresAt)).toBeGreaterThan(Date.now());
  });

  it('refuses wrong credentials with 401 {error, message}', async () => {
    for (const body of [{ username: 'admin', password: 'nope-nope' }, { username: 'ghost', password: 'whatever1' }]) {
      const r = await s.api('POST', '/api/auth/login', { body });
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ error: 'unauthorized', message: 'wrong username or password' });
    }
  });

  it('validates the body', async () => {
    for (const body of [{}, { username: 'admin' }, { username: 5, password: 'x' }, { username: 'a', password: 'b', extra: 1 }, [1, 2]]) {
      const r = await s.api('POST', '/api/auth/login', { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error).toBe('validation_failed');
    }
  });

  it('slows down repeated failures with 429 and Retry-After', async () => {
    let last;
    for (let i = 0; i < 5; i++) last = await s.api('POST', '/api/auth/login', { body: { username: 'carol-target', password: 'guess-guess' } });
    expect(last!.status).toBe(429);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(last!.body.error).toBe('too_many_requests');
  });

  it('answers malformed JSON, non-JSON bodies and oversized bodies clearly', async () => {
    for (const raw of ['{"username": ', '"just a string"', '42']) {
      const bad = await s.api('POST', '/api/auth/login', { body: raw, headers: { 'content-type': 'application/json' } });
      expect(bad.status, raw).toBe(400);
      expect(bad.body.error, raw).toBe('bad_request');
    }
    const form = await s.api('POST', '/api/auth/login', { body: 'username=a&password=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    expect(form.body.error).toBe('unsupported_media_type');
    const huge = await s.api('POST', '/api/auth/login', { body: { username: 'admin', password: 'x'.repeat(200_000) } });
    expect(huge.status).toBe(413);
    expect(huge.body.error).toBe('payload_too_large');
  });
});

describe('tokens on protected routes', () => {
  const forged = (opts: jwt.SignOptions, secret = 'another-secret-another-secret-another') =>
    jwt.sign({ role: 'admin', username: 'admin' }, secret, { subject: 'x', issuer: ISSUER, audience: AUDIENCE.access, expiresIn: 60, ...opts });

  it('refuses missing, malformed, forged, expired and wrong-audience tokens with 401', async () => {
    const secret = fs.readFileSync(path.join(s.dataDir, 'jwt-secret'), 'utf8').trim();
    const adminId = (await s.api('GET', '/api/me', { token: admin })).body.id;
    const cases: [string, Record<string, string>][] = [
      ['none', {}],
      ['scheme', { authorization: 'Basic abc' }],
      ['garbage', { authorization: 'Bearer not-a-token' }],
      ['other secret', { authorization: `Bearer ${forged({ subject: adminId })}` }],
      ['expired', { authorization: `Bearer ${jwt.sign({ role: 'admin', username: 'admin', exp: 1000 }, secret, { subject: adminId, issuer: ISSUER, audience: AUDIENCE.access })}` }],
      ['wrong audience', { authorization: `Bearer ${forged({ subject: adminId, audience: AUDIENCE.viewer }, secret)}` }],
      ['no exp', { authorization: `Bearer ${jwt.sign({ role: 'admin', username: 'admin' }, secret, { subject: adminId, issuer: ISSUER, audience: AUDIENCE.access })}` }],
      ['deleted user', { authorization: `Bearer ${forged({ subject: 'no-such-user' }, secret)}` }],
    ];
    for (const [name, headers] of cases) {
      const r = await s.api('POST', '/api/streams', { headers, body: { title: 'x' } });
      expect(r.status, name).toBe(401);
      expect(r.body.error, name).toBe('unauthorized');
    }
    // The real secret, right audience: accepted.
    const good = await s.api('GET', '/api/me', { headers: { authorization: `Bearer ${forged({ subject: adminId }, secret)}` } });
    expect(good.status).toBe(200);
  });
});

describe('POST /api/users', () => {
  it('lets an admin create a broadcaster who can then sign in', async () => {
    const r = await s.api('POST', '/api/users', { token: admin, body: { username: 'dave', password: 'dave-password', role: 'broadcaster' } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ username: 'dave', role: 'broadcaster' });
    expect(r.body.password).toBeUndefined();
    expect(await s.login('dave', 'dave-password')).toBeTruthy();
  });

  it('refuses non-admins, duplicates and bad fields', async () => {
    expect((await s.api('POST', '/api/users', { token: ann, body: { username: 'eve', password: 'eve-password' } })).status).toBe(403);
    expect((await s.api('POST', '/api/users', { body: { username: 'eve', password: 'eve-password' } })).status).toBe(401);
    const dup = await s.api('POST', '/api/users', { token: admin, body: { username: 'ANN', password: 'ann-password' } });
    expect(dup.status).toBe(409);
    for (const body of [
      { username: 'x', password: 'long-enough' },
      { username: 'eve', password: 'short' },
      { username: 'eve space', password: 'long-enough' },
      { username: 'eve', password: 'long-enough', role: 'root' },
      { username: 'eve', password: 'long-enough', __proto__: { role: 'admin' }, isAdmin: true },
    ]) {
      const r = await s.api('POST', '/api/users', { token: admin, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
  });
});

describe('streams', () => {
  it('creates a stream with defaults, its secret key and its URLs', async () => {
    const r = await s.api('POST', '/api/streams', { token: ann, body: { title: '  Morning show ', tags: ['Talk', 'talk', 'news'] } });
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe(`/api/streams/${r.body.id}`);
    expect(r.body).toMatchObject({ title: 'Morning show', description: '', tags: ['talk', 'news'], visibility: 'public', status: 'idle', viewerCount: 0, viewers: { webrtc: 0, whep: 0, hls: 0 } });
    expect(r.body.id).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(r.body.streamKey).toMatch(/^sk_/);
    expect(r.body.urls).toEqual({
      watch: `${s.url}/watch/${r.body.id}`,
      embed: `${s.url}/embed/${r.body.id}`,
      hls: `${s.url}/hls/${r.body.id}/master.m3u8`,
      whip: `${s.url}/whip/${r.body.id}`,
      whep: `${s.url}/whep/${r.body.id}`,
    });
  });

  it('validates stream bodies', async () => {
    for (const body of [
      {},
      { title: '' },
      { title: 'x'.repeat(141) },
      { title: 'ok', visibility: 'secret' },
      { title: 'ok', tags: 'not-an-array' },
      { title: 'ok', tags: Array.from({ length: 11 }, (_, i) => `t${i}`) },
      { title: 'ok', tags: ['has space'] },
      { title: 'ok', status: 'live' },
      { title: 'ok', streamKey: 'mine' },
    ]) {
      const r = await s.api('POST', '/api/streams', { token: ann, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error).toBe('validation_failed');
      expect(r.body.message).toMatch(/^invalid stream/);
    }
  });

  it('lists public streams only, without keys, with filters', async () => {
    const pub = await createStream(bob, { title: 'Chess night', tags: ['chess'], description: 'blitz games' });
    await createStream(bob, { title: 'Chess private', tags: ['chess'], visibility: 'private' });
    await createStream(bob, { title: 'Chess unlisted', tags: ['chess'], visibility: 'unlisted' });
    const r = await s.api('GET', '/api/streams?tag=chess');
    expect(r.status).toBe(200);
    expect(r.body.total).toBe(1);
    expect(r.body.streams[0]).toMatchObject({ id: pub.id, owner: { username: 'bob' }, status: 'idle', viewerCount: 0, viewers: { webrtc: 0, whep: 0, hls: 0 } });
    expect(r.body.streams[0].streamKey).toBeUndefined();
    expect(JSON.stringify(r.body)).not.toContain('sk_');
    expect((await s.api('GET', '/api/streams?q=blitz')).body.total).toBe(1);
    expect((await s.api('GET', '/api/streams?status=live&tag=chess')).body.total).toBe(0);
    for (const q of ['status=bogus', 'limit=0', 'limit=1000', 'offset=-1', 'tag=has%20space', 'unknown=1', `q=${'x'.repeat(300)}`]) {
      const bad = await s.api('GET', `/api/streams?${q}`);
      expect(bad.status, q).toBe(400);
    }
  });

  it('shows a stream: keys to its owner and admins only, private ones only with a viewer token', async () => {
    const st = await createStream(ann, { title: 'Private rehearsal', visibility: 'private' });
    expect((await s.api('GET', `/api/streams/${st.id}`)).status).toBe(403);
    expect((await s.api('GET', `/api/streams/${st.id}`, { token: bob })).status).toBe(403);
    expect((await s.api('GET', `/api/streams/${st.id}`, { token: ann })).body.streamKey).toBe(st.streamKey);
    expect((await s.api('GET', `/api/streams/${st.id}`, { token: admin })).body.streamKey).toBe(st.streamKey);

    expect((await s.api('POST', `/api/streams/${st.id}/viewer-token`, { token: bob })).status).toBe(403);
    const vt = await s.api('POST', `/api/streams/${st.id}/viewer-token`, { token: ann });
    expect(vt.status).toBe(200);
    const asViewer = await s.api('GET', `/api/streams/${st.id}?token=${encodeURIComponent(vt.body.token)}`);
    expect(asViewer.status).toBe(200);
    expect(asViewer.body.streamKey).toBeUndefined();
    expect((await s.api('GET', `/api/streams/${st.id}`, { token: vt.body.token })).status).toBe(200);

    // A viewer token of another stream does not open this one.
    const other = await createStream(ann, { title: 'Other private', visibility: 'private' });
    expect((await s.api('GET', `/api/streams/${other.id}`, { token: vt.body.token })).status).toBe(403);
  });

  it('answers unknown and malformed ids with 404 / 400', async () => {
    expect((await s.api('GET', '/api/streams/AAAAAAAAAAAA')).status).toBe(404);
    const bad = await s.api('GET', '/api/streams/..%2F..%2Fetc');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('validation_failed');
  });

  it('lets the owner or an admin edit, and nobody else', async () => {
    const st = await createStream(ann, { title: 'Before' });
    const r = await s.api('PATCH', `/api/streams/${st.id}`, { token: ann, body: { title: 'After', tags: ['x'] } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ title: 'After', tags: ['x'], description: '' });
    expect((await s.api('PATCH', `/api/streams/${st.id}`, { token: bob, body: { title: 'Hijack' } })).status).toBe(403);
    expect((await s.api('PATCH', `/api/streams/${st.id}`, { token: admin, body: { visibility: 'unlisted' } })).body.visibility).toBe('unlisted');
    expect((await s.api('PATCH', `/api/streams/${st.id}`, { token: ann, body: {} })).status).toBe(400);
    expect((await s.api('PATCH', `/api/streams/${st.id}`, { token: ann, body: { status: 'live' } })).status).toBe(400);
    expect((await s.api('GET', `/api/streams/${st.id}`)).body.title).toBe('After');
  });

  it('rotates the key (owner only)', async () => {
    const st = await createStream(ann);
    expect((await s.api('POST', `/api/streams/${st.id}/rotate-key`, { token: bob })).status).toBe(403);
    const r = await s.api('POST', `/api/streams/${st.id}/rotate-key`, { token: ann });
    expect(r.status).toBe(200);
    expect(r.body.streamKey).toMatch(/^sk_/);
    expect(r.body.streamKey).not.toBe(st.streamKey);
  });

  it('deletes (owner or admin only)', async () => {
    const st = await createStream(ann);
    expect((await s.api('DELETE', `/api/streams/${st.id}`, { token: bob })).status).toBe(403);
    expect((await s.api('DELETE', `/api/streams/${st.id}`)).status).toBe(401);
    expect((await s.api('DELETE', `/api/streams/${st.id}`, { token: ann })).status).toBe(204);
    expect((await s.api('GET', `/api/streams/${st.id}`)).status).toBe(404);
    expect((await s.api('DELETE', `/api/streams/${st.id}`, { token: ann })).status).toBe(404);
  });

  it('lists the caller\'s own streams with keys', async () => {
    const mine = await s.api('GET', '/api/streams/mine', { token: bob });
    expect(mine.status).toBe(200);
    expect(mine.body.streams.length).toBeGreaterThanOrEqual(3);
    expect(mine.body.streams.every((x: { owner: { username: string }; streamKey: string }) => x.owner.username === 'bob' && x.streamKey.startsWith('sk_'))).toBe(true);
  });
});

describe('GET /api/media/capabilities', () => {
  it('gives anyone the routers\' RTP capabilities, the same as a viewer:join', async () => {
    const r = await s.api('GET', '/api/media/capabilities');
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('public, max-age=60');
    const caps = (r.body as { routerRtpCapabilities: { codecs: { mimeType: string }[] } }).routerRtpCapabilities;
    expect(caps.codecs.map((c) => c.mimeType)).toEqual(expect.arrayContaining(['audio/opus', 'video/VP8', 'video/H264']));
    expect(caps).toEqual(JSON.parse(JSON.stringify(s.pool.rtpCapabilities)));
  });
});

describe('unknown routes', () => {
  it('answers 404 JSON under /api', async () => {
    const r = await s.api('GET', '/api/nothing/here');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error: 'not_found', message: 'no route GET /api/nothing/here' });
  });
});

describe('restart', () => {
  it('keeps accounts, streams and the signing secret across a restart of the server', async () => {
    const st = await createStream(ann, { title: 'Survives restarts', tags: ['durable'] });
    await s.close();
    s = await startTestServer({}, s.dataDir);
    // The old token still verifies: the generated secret was kept in the data dir.
    const r = await s.api('GET', `/api/streams/${st.id}`, { token: ann });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ title: 'Survives restarts', tags: ['durable'], streamKey: st.streamKey });
    expect(await s.login('bob', 'bob-password')).toBeTruthy();
  });
});
