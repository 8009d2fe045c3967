/**
 * Who may do what, refused everywhere it is checked: forged and misused tokens on the API, the socket
 * handshake, viewer:join, /hls, /whep and recordings; stream keys of other streams on /whip; one
 * broadcaster against another's stream (stop, rename, publish, touch its media); and secrets that must
 * never leave the server: passwords, keys and tokens in the logs (captured at debug level), stream keys
 * in anything a viewer receives.
 */
import jwt from 'jsonwebtoken';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, ISSUER } from '../../server/auth/tokens.js';
import { connect, goLive, type TestSocket } from '../helpers/signalingClient.js';
import { ADMIN, startTestServer, type TestServer } from '../helpers/testServer.js';

let s: TestServer;
let secret: string;
const logLines: string[] = [];
const open: TestSocket[] = [];
const sock = async (token?: string) => {
  const c = await connect(s.url, token);
  open.push(c);
  return c;
};
/** Every secret this file sees; none may appear in a log line. */
const secrets = new Set<string>([ADMIN.password]);
const PASSWORDS = { ann: 'ann-secret-password-1', bob: 'bob-secret-password-2' };

let admin: string;
let ann: string;
let bob: string;
let annId: string;
type Stream = { id: string; streamKey: string };
let annPub: Stream;
let annPriv: Stream;
let annOtherPriv: Stream;
let bobStream: Stream;
let viewerToken: string;
let otherViewerToken: string;
let privRecording: string;

const api = async (method: string, p: string, opts: Parameters<TestServer['api']>[2] = {}) => {
  const r = await s.api(method, p, opts);
  for (const st of [r.body, ...(Array.isArray(r.body?.streams) ? r.body.streams : [])]) if (typeof st?.streamKey === 'string') secrets.add(st.streamKey);
  if (typeof r.body?.token === 'string') secrets.add(r.body.token);
  return r;
};
const createStream = async (token: string, body: Record<string, unknown>): Promise<Stream> => {
  const r = await api('POST', '/api/streams', { token, body });
  expect(r.status).toBe(201);
  return r.body;
};
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** Tokens that must be refused wherever a token of `audience` for `sub` is expected. */
function forgeries(audience: string, sub: string, claims: Record<string, unknown>): [string, string][] {
  const good = { ...claims, sub, aud: audience, iss: ISSUER, iat: now(), exp: now() + 600 };
  const sign = (payload: object, key: string, alg: jwt.Algorithm = 'HS256') => jwt.sign(payload, key, { algorithm: alg });
  const real = sign(good, secret);
  const [h, , sig] = real.split('.');
  return [
    ['another secret', sign(good, 'another-secret-another-secret-another-secret')],
    ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(good)}.`],
    ['alg none, signature kept', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(good)}.${sig}`],
    ['HS512 with the real secret', sign(good, secret, 'HS512')],
    ['expired', sign({ ...good, iat: now() - 7200, exp: now() - 3600 }, secret)],
    ['no expiry', sign({ ...claims, sub, aud: audience, iss: ISSUER }, secret)],
    ['wrong audience', sign({ ...good, aud: audience === AUDIENCE.access ? AUDIENCE.viewer : AUDIENCE.access }, secret)],
    ['wrong issuer', sign({ ...good, iss: 'someone-else' }, secret)],
    ['payload changed after signing', `${h}.${b64({ ...good, sub: 'someone-else', role: 'admin' })}.${sig}`],
    ['not yet valid', sign({ ...good, nbf: now() + 3600 }, secret)],
    ['garbage', 'a.b.c'],
  ];
}

beforeAll(async () => {
  s = await startTestServer({ ONAIR_HLS: 'off', LOG_LEVEL: 'debug' }, undefined, { logTo: { write: (line: string) => void logLines.push(line) } });
  secret = fs.readFileSync(path.join(s.dataDir, 'jwt-secret'), 'utf8').trim();
  secrets.add(secret);
  admin = (await api('POST', '/api/auth/login', { body: ADMIN })).body.token;
  for (const [username, password] of Object.entries(PASSWORDS)) {
    secrets.add(password);
    expect((await api('POST', '/api/users', { token: admin, body: { username, password, role: 'broadcaster' } })).status).toBe(201);
  }
  ann = (await api('POST', '/api/auth/login', { body: { username: 'ann', password: PASSWORDS.ann } })).body.token;
  bob = (await api('POST', '/api/auth/login', { body: { username: 'bob', password: PASSWORDS.bob } })).body.token;
  annId = (await api('GET', '/api/me', { token: ann })).body.id;
  annPub = await createStream(ann, { title: 'Ann public' });
  annPriv = await createStream(ann, { title: 'Ann private', visibility: 'private' });
  annOtherPriv = await createStream(ann, { title: 'Ann other private', visibility: 'private' });
  bobStream = await createStream(bob, { title: 'Bob public' });
  viewerToken = (await api('POST', `/api/streams/${annPriv.id}/viewer-token`, { token: ann })).body.token;
  otherViewerToken = (await api('POST', `/api/streams/${annOtherPriv.id}/viewer-token`, { token: ann })).body.token;
  // A finished recording of the private stream.
  const { recordings } = s.catalogue;
  privRecording = 'RecPrivate01';
  await recordings.start(privRecording, annPriv.id);
  await recordings.finish(privRecording, { status: 'ready', durationSeconds: 60, renditions: [360], sizeBytes: 1000 });
  await recordings.start('RecPublic001', annPub.id);
  await recordings.finish('RecPublic001', { status: 'ready', durationSeconds: 60, renditions: [360], sizeBytes: 1000 });
});

afterAll(async () => {
  open.splice(0).forEach((c) => c.disconnect());
  await s?.close();
});

describe('forged and misused access tokens', () => {
  it('are refused by the API and at the socket handshake', async () => {
    for (const [name, token] of [...forgeries(AUDIENCE.access, annId, { role: 'broadcaster', username: 'ann' }), ['a viewer token', viewerToken] as [string, string]]) {
      const r = await s.api('GET', '/api/me', { token });
      expect(r.status, name).toBe(401);
      expect(r.body.error, name).toBe('unauthorized');
      expect((await s.api('POST', '/api/streams', { token, body: { title: 'x' } })).status, name).toBe(401);
      await expect(connect(s.url, token), name).rejects.toThrow(/^unauthorized/);
    }
    // Control: the real token works in both places.
    expect((await s.api('GET', '/api/me', { token: ann })).status).toBe(200);
    (await sock(ann)).disconnect();
  });
});

describe('viewer tokens of private streams', () => {
  /** Every place a viewer token opens a private stream: the outcome for `token`. */
  const places = async (streamId: string, token: string | undefined) => {
    const q = token ? `?token=${encodeURIComponent(token)}` : '';
    const c = await sock();
    const join = await c.request('viewer:join', { streamId, ...(token ? { token } : {}) });
    c.disconnect();
    const whep = await fetch(`${s.url}/whep/${streamId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: 'v=0\r\n',
    });
    return {
      api: (await s.api('GET', `/api/streams/${streamId}${q}`)).status,
      socket: join.ok ? 'ok' : join.error,
      hls: (await s.api('GET', `/hls/${streamId}/master.m3u8${q}`)).status,
      whep: whep.status,
    };
  };

  it('open only their own stream: forged, expired, other-stream and access-audience tokens are refused everywhere', async () => {
    const refused = { api: 403, socket: 'forbidden', hls: 403, whep: 403 };
    const cases: [string, string][] = [
      ...forgeries(AUDIENCE.viewer, annPriv.id, {}),
      ['a viewer token of another stream', otherViewerToken],
      ["bob's access token (not the owner)", bob],
    ];
    for (const [name, token] of cases) {
      expect(await places(annPriv.id, token), name).toEqual(refused);
      const rec = await s.api('GET', `/api/recordings/${privRecording}?token=${encodeURIComponent(token)}`);
      expect(rec.status, `recording: ${name}`).toBe(403);
    }
    expect(await places(annPriv.id, undefined)).toEqual({ api: 403, socket: 'unauthorized', hls: 403, whep: 401 });
    expect((await s.api('GET', `/api/recordings/${privRecording}`)).status).toBe(403);

    // Control: the right token opens every place (HLS: no live session, so 404 past the check; WHEP: the
    // check passes and the offer is refused as malformed or the stream as not live).
    const ok = await places(annPriv.id, viewerToken);
    expect(ok).toMatchObject({ api: 200, socket: 'ok', hls: 404 });
    expect([400, 409]).toContain(ok.whep);
    expect((await s.api('GET', `/api/recordings/${privRecording}?token=${encodeURIComponent(viewerToken)}`)).status).toBe(200);
    // The other stream's token opens the other stream, and only that one.
    expect((await places(annOtherPriv.id, otherViewerToken)).api).toBe(200);
  });
});

describe('stream keys and publishing', () => {
  const whip = (streamId: string, bearer?: string) =>
    fetch(`${s.url}/whip/${streamId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: 'v=0\r\n',
    });

  it("refuses another stream's key, viewer tokens and other broadcasters on /whip", async () => {
    expect((await whip(annPub.id)).status).toBe(401);
    expect((await whip(annPub.id, bobStream.streamKey)).status).toBe(401);
    expect((await whip(annPub.id, annPriv.streamKey)).status).toBe(401);
    expect((await whip(annPriv.id, viewerToken)).status).toBe(401);
    for (const [name, forged] of forgeries(AUDIENCE.access, annId, { role: 'broadcaster', username: 'ann' })) {
      expect((await whip(annPub.id, forged)).status, name).toBe(401);
    }
    expect((await whip(annPub.id, bob)).status).toBe(403);
    // Control: the stream's own key and its owner's token get past the check (to the malformed offer).
    expect((await whip(annPub.id, annPub.streamKey)).status).toBe(400);
    expect((await whip(annPub.id, ann)).status).toBe(400);
  });

  it("keeps one broadcaster away from another's stream: no stop, rename, delete, publish or touching its media", async () => {
    const annSock = await sock(ann);
    const live = await goLive(annSock, annPub.id);
    const bobSock = await sock(bob);

    // Publish into it, even with its resume key.
    expect(await bobSock.request('broadcast:start', { streamId: annPub.id })).toMatchObject({ ok: false, error: 'forbidden' });
    expect(await bobSock.request('broadcast:start', { streamId: annPub.id, resumeKey: live.start.resumeKey })).toMatchObject({ ok: false, error: 'forbidden' });
    // End it: bob's socket broadcasts nothing, so there is nothing of his to stop.
    expect(await bobSock.request('broadcast:stop', {})).toMatchObject({ ok: false, error: 'bad_request' });
    // Its transport and producer are not bob's, even by id, even while bob broadcasts his own stream.
    await goLive(bobSock, bobStream.id);
    expect(await bobSock.request('produce', { transportId: live.transportId, kind: 'video', rtpParameters: {}, source: 'camera' })).toMatchObject({ ok: false, error: 'not_found' });
    expect(await bobSock.request('producer:close', { producerId: live.producerId })).toMatchObject({ ok: false, error: 'not_found' });
    expect(await bobSock.request('transport:connect', { transportId: live.transportId, dtlsParameters: { role: 'client', fingerprints: [] } })).toMatchObject({
      ok: false,
      error: 'not_found',
    });
    // Stopping his own broadcast leaves ann's alone.
    expect(await bobSock.request('broadcast:stop', {})).toMatchObject({ ok: true });
    // The API: rename, delete, rotate, viewer tokens.
    for (const [method, p, body] of [
      ['PATCH', `/api/streams/${annPub.id}`, { title: 'Hijacked' }],
      ['DELETE', `/api/streams/${annPub.id}`, undefined],
      ['POST', `/api/streams/${annPub.id}/rotate-key`, undefined],
      ['POST', `/api/streams/${annPriv.id}/viewer-token`, undefined],
      ['DELETE', `/api/recordings/${privRecording}`, undefined],
    ] as const) {
      expect((await s.api(method, p, { token: bob, ...(body ? { body } : {}) })).status, `${method} ${p}`).toBe(403);
    }

    const b = s.broadcasts.get(annPub.id)!;
    expect(b.ended).toBe(false);
    expect(b.publisher).not.toBeNull();
    expect(b.producer(live.producerId)?.closed).toBe(false);
    expect((await s.api('GET', `/api/streams/${annPub.id}`)).body).toMatchObject({ title: 'Ann public', status: 'live' });
    expect(await annSock.request('broadcast:stop', {})).toMatchObject({ ok: true });
  });
});

describe('secrets stay secret', () => {
  it('never sends a stream key to viewers: join, events, lists, streams, recordings', async () => {
    const keys = () => [annPub, annPriv, annOtherPriv, bobStream].map((x) => x.streamKey);
    const seen: string[] = [];
    const viewer = await sock();
    viewer.onAny((event: string, ...args: unknown[]) => seen.push(JSON.stringify([event, args])));
    seen.push(JSON.stringify(await viewer.request('viewer:join', { streamId: bobStream.id })));
    const privViewer = await sock();
    privViewer.onAny((event: string, ...args: unknown[]) => seen.push(JSON.stringify([event, args])));
    seen.push(JSON.stringify(await privViewer.request('viewer:join', { streamId: annPriv.id, token: viewerToken })));
    // A broadcast with metadata changes and a rotated key while viewers watch.
    const bobSock = await sock(bob);
    await goLive(bobSock, bobStream.id);
    await api('PATCH', `/api/streams/${bobStream.id}`, { token: bob, body: { title: 'Renamed live' } });
    bobStream = (await api('POST', `/api/streams/${bobStream.id}/rotate-key`, { token: bob })).body;
    await api('PATCH', `/api/streams/${annPriv.id}`, { token: ann, body: { description: 'changed' } });
    await bobSock.request('broadcast:stop', {});
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.some((e) => e.includes('stream:updated'))).toBe(true);
    expect(seen.some((e) => e.includes('broadcast:producers'))).toBe(true);

    for (const token of [undefined, viewerToken, bob]) {
      for (const p of ['/api/streams', `/api/streams/${annPub.id}`, '/api/recordings', `/api/recordings/RecPublic001`]) {
        const r = await s.api('GET', p, token ? { token } : {});
        expect(r.status, p).toBe(200);
        seen.push(JSON.stringify(r.body));
      }
    }
    for (const token of [viewerToken]) {
      const r = await s.api('GET', `/api/streams/${annPriv.id}`, { token });
      expect(r.status).toBe(200);
      seen.push(JSON.stringify(r.body), JSON.stringify((await s.api('GET', `/api/streams/${annPriv.id}?token=${encodeURIComponent(token)}`)).body));
    }
    seen.push(JSON.stringify((await s.api('GET', `/api/recordings/${privRecording}?token=${encodeURIComponent(viewerToken)}`)).body));
    const all = seen.join('\n');
    for (const key of keys()) expect(all).not.toContain(key);
    expect(all).not.toMatch(/"streamKey"|sk_/);
    // Control: the owner does get the key.
    expect((await s.api('GET', `/api/streams/${annPub.id}`, { token: ann })).body.streamKey).toBe(annPub.streamKey);
  });

  it('never logs a password, stream key, token or the signing secret (debug level, every flow above)', async () => {
    // Failed logins and a bad password change attempt, too: the body is where the password is.
    await s.api('POST', '/api/auth/login', { body: { username: 'ann', password: 'wrong-guess-password' } });
    await s.api('POST', '/api/auth/login', { body: { username: PASSWORDS.bob, password: PASSWORDS.bob } });
    await s.api('POST', '/api/users', { token: admin, body: { username: 'ann', password: PASSWORDS.ann } });
    await s.api('POST', '/api/users', { token: admin, body: { username: 'x', password: 'short' } });
    await s.api('POST', '/api/users', { token: admin, body: { username: 'carol', password: 'carol-secret-password' } });
    secrets.add('carol-secret-password');
    secrets.add('wrong-guess-password');
    await s.api('GET', `/api/streams/mine`, { token: ann });
    await s.api('GET', `/hls/${annPriv.id}/master.m3u8?token=${encodeURIComponent(viewerToken)}`);
    await fetch(`${s.url}/whip/${annPub.id}`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${annPub.streamKey}` }, body: 'v=0\r\n' });
    for (const t of [admin, ann, bob, viewerToken, otherViewerToken]) secrets.add(t);

    const log = logLines.join('');
    expect(logLines.length).toBeGreaterThan(50);
    expect(log).toContain('user created');
    expect(log).toContain('stream created');
    expect(log).toContain('"path":"/api/auth/login"');
    const leaked = [...secrets].filter((x) => log.includes(x));
    expect(leaked.map((x) => `${x.slice(0, 6)}…`)).toEqual([]);
  });
});
