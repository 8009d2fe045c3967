/**
 * The admin API (issue 14) on a real OnAir: every route refuses anonymous callers (401) and non-admins (403)
 * and changes nothing for them; for an admin, accounts (role, disable: sign-in and tokens refused at once,
 * enable: the old password works again, a new password), the guards (not oneself, not the last admin), live
 * streams with viewers by delivery (a joined socket, an HLS session), ending a broadcast, the server's state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type TestSocket } from '../helpers/signalingClient.js';
import { startRtpSource, type RtpSource } from '../helpers/rtpSource.js';
import { ADMIN, startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';

let s: TestServer;
let admin: string;
let bob: string;
let bobId: string;
const sockets: TestSocket[] = [];
let source: RtpSource | undefined;

const ROUTES: [string, string, unknown?][] = [
  ['GET', '/api/admin/users'],
  ['PATCH', '/api/admin/users/00000000-0000-0000-0000-000000000000', { role: 'admin' }],
  ['POST', '/api/admin/users/00000000-0000-0000-0000-000000000000/password', { password: 'a-new-password-1' }],
  ['GET', '/api/admin/streams/live'],
  ['POST', '/api/admin/streams/abcdefghijkl/end', {}],
  ['GET', '/api/admin/server'],
];

const users = async () => (await s.api('GET', '/api/admin/users', { token: admin })).body.users as { id: string; username: string; role: string; disabled: boolean }[];

beforeAll(async () => {
  s = await startTestServer({ ONAIR_HLS_LADDER: '360', ONAIR_HLS_PRESET: 'superfast' });
  admin = await s.login();
  bob = await s.broadcaster('bob');
  bobId = (await s.api('GET', '/api/me', { token: bob })).body.id;
}, 60_000);
afterAll(async () => {
  for (const so of sockets) so.disconnect();
  source?.stop();
  await s?.close();
});

describe('admin API: who may call it', () => {
  it('refuses callers without a token (401) and non-admins (403) on every route, changing nothing', async () => {
    const before = await users();
    for (const [method, path, body] of ROUTES) {
      const anon = await s.api(method, path, body === undefined ? {} : { body });
      expect(anon.status, `${method} ${path} anonymous`).toBe(401);
      const broadcaster = await s.api(method, path, { token: bob, ...(body === undefined ? {} : { body }) });
      expect(broadcaster.status, `${method} ${path} as a broadcaster`).toBe(403);
      expect(broadcaster.body.error).toBe('forbidden');
      const forged = await s.api(method, path, { token: `${admin.slice(0, -4)}AAAA`, ...(body === undefined ? {} : { body }) });
      expect(forged.status, `${method} ${path} with a forged token`).toBe(401);
    }
    // bob tried to make himself admin: he is not.
    const bobPatch = await s.api('PATCH', `/api/admin/users/${bobId}`, { token: bob, body: { role: 'admin' } });
    expect(bobPatch.status).toBe(403);
    expect(await users()).toEqual(before);
  });

  it('the /admin page itself is served to anyone (it holds no data; the API decides)', async () => {
    const r = await fetch(`${s.url}/admin`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
  });
});

describe('admin API: accounts', () => {
  it('lists every account with its role and state', async () => {
    const list = await users();
    expect(list.map((u) => [u.username, u.role, u.disabled])).toEqual([
      [ADMIN.username, 'admin', false],
      ['bob', 'broadcaster', false],
    ]);
  });

  it('disables an account: it cannot sign in and its tokens are refused at once; enabling restores its password', async () => {
    const carol = await s.broadcaster('carol');
    const carolId = (await s.api('GET', '/api/me', { token: carol })).body.id;
    const off = await s.api('PATCH', `/api/admin/users/${carolId}`, { token: admin, body: { disabled: true } });
    expect([off.status, off.body.disabled]).toEqual([200, true]);
    expect((await s.api('GET', '/api/me', { token: carol })).status).toBe(401);
    expect((await s.api('POST', '/api/streams', { token: carol, body: { title: 'x' } })).status).toBe(401);
    const login = await s.api('POST', '/api/auth/login', { body: { username: 'carol', password: 'carol-password' } });
    expect(login.status).toBe(401);
    // A new password keeps a disabled account disabled.
    expect((await s.api('POST', `/api/admin/users/${carolId}/password`, { token: admin, body: { password: 'carol-new-pass-1' } })).status).toBe(204);
    expect((await s.api('POST', '/api/auth/login', { body: { username: 'carol', password: 'carol-new-pass-1' } })).status).toBe(401);
    const on = await s.api('PATCH', `/api/admin/users/${carolId}`, { token: admin, body: { disabled: false } });
    expect([on.status, on.body.disabled]).toEqual([200, false]);
    expect((await s.api('POST', '/api/auth/login', { body: { username: 'carol', password: 'carol-new-pass-1' } })).status).toBe(200);
    expect((await s.api('GET', '/api/me', { token: carol })).status).toBe(200);
  });

  it('changes a role (a promoted broadcaster may use the admin API) and sets a password (the old one stops working)', async () => {
    const dave = await s.broadcaster('dave');
    const daveId = (await s.api('GET', '/api/me', { token: dave })).body.id;
    expect((await s.api('GET', '/api/admin/users', { token: dave })).status).toBe(403);
    const up = await s.api('PATCH', `/api/admin/users/${daveId}`, { token: admin, body: { role: 'admin' } });
    expect([up.status, up.body.role]).toEqual([200, 'admin']);
    const daveAgain = await s.login('dave', 'dave-password');
    expect((await s.api('GET', '/api/admin/users', { token: daveAgain })).status).toBe(200);
    expect((await s.api('PATCH', `/api/admin/users/${daveId}`, { token: admin, body: { role: 'broadcaster' } })).body.role).toBe('broadcaster');
    expect((await s.api('GET', '/api/admin/users', { token: daveAgain })).status).toBe(403);

    expect((await s.api('POST', `/api/admin/users/${daveId}/password`, { token: admin, body: { password: 'dave-second-pass' } })).status).toBe(204);
    expect((await s.api('POST', '/api/auth/login', { body: { username: 'dave', password: 'dave-password' } })).status).toBe(401);
    expect((await s.api('POST', '/api/auth/login', { body: { username: 'dave', password: 'dave-second-pass' } })).status).toBe(200);
  });

  it('an admin cannot demote or disable their own account, nor leave no active admin', async () => {
    const meId = (await s.api('GET', '/api/me', { token: admin })).body.id;
    for (const body of [{ role: 'broadcaster' }, { disabled: true }]) {
      const r = await s.api('PATCH', `/api/admin/users/${meId}`, { token: admin, body });
      expect(r.status).toBe(409);
    }
    expect((await users()).find((u) => u.id === meId)).toMatchObject({ role: 'admin', disabled: false });
  });

  it('validates ids and bodies, and answers 404 for unknown accounts', async () => {
    const bad: [string, string, unknown, number][] = [
      ['PATCH', `/api/admin/users/${bobId}`, {}, 400],
      ['PATCH', `/api/admin/users/${bobId}`, { role: 'root' }, 400],
      ['PATCH', `/api/admin/users/${bobId}`, { disabled: 'yes' }, 400],
      ['PATCH', `/api/admin/users/${bobId}`, { role: 'admin', extra: 1 }, 400],
      ['PATCH', '/api/admin/users/..%2F..', { role: 'admin' }, 400],
      ['PATCH', '/api/admin/users/00000000-0000-0000-0000-000000000000', { role: 'admin' }, 404],
      ['POST', `/api/admin/users/${bobId}/password`, { password: 'short' }, 400],
      ['POST', `/api/admin/users/${bobId}/password`, { password: 'x'.repeat(10_000) }, 400],
      ['POST', '/api/admin/users/00000000-0000-0000-0000-000000000000/password', { password: 'long-enough-1' }, 404],
      ['POST', '/api/admin/streams/bad/end', {}, 400],
      ['POST', '/api/admin/streams/abcdefghijkl/end', { reason: 5 }, 400],
    ];
    for (const [method, path, body, status] of bad) {
      const r = await s.api(method, path, { token: admin, body });
      expect(r.status, `${method} ${path} ${JSON.stringify(body).slice(0, 60)}`).toBe(status);
    }
    expect((await users()).find((u) => u.id === bobId)).toMatchObject({ role: 'broadcaster', disabled: false });
  });
});

describe('admin API: live streams and the server', () => {
  it('lists a live stream with viewers by delivery, ends it for everyone, and reports the server', async () => {
    const id = (await s.api('POST', '/api/streams', { token: bob, body: { title: 'Admin watched', visibility: 'private' } })).body.id as string;
    const { lease } = await s.broadcasts.start(id, 'test-publisher');
    source = await startRtpSource(lease, { width: 640, height: 360 });
    await until('live HLS', async () => (await fetch(`${s.url}/hls/${id}/master.m3u8?token=${admin}`)).status === 200, 60_000);

    const page = await connect(s.url, admin);
    sockets.push(page);
    expect((await page.request('viewer:join', { streamId: id })).ok).toBe(true);
    const ended = new Promise<void>((resolve) => page.on('broadcast:ended', (e) => e.streamId === id && resolve()));
    // An HLS player of its own (not OnAir's page): one more viewer, counted as HLS.
    let polling = true;
    const hlsPlayer = (async () => {
      while (polling) {
        await (await fetch(`${s.url}/hls/${id}/master.m3u8?token=${admin}&session=admin-test-hls`)).text();
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    const live = await until('the stream listed with its viewers', async () => {
      const r = await s.api('GET', '/api/admin/streams/live', { token: admin });
      const found = r.body.streams.find((x: { id: string }) => x.id === id);
      return found?.viewers.total === 2 && found.viewers.hls === 1 ? found : undefined;
    }, 20_000);
    expect(live).toMatchObject({
      title: 'Admin watched',
      owner: 'bob',
      visibility: 'private',
      state: 'live',
      viewers: { total: 2, webrtc: 0, whep: 0, hls: 1 },
      health: { publisher: true, hls: true, ok: true },
      watchUrl: `${s.url}/watch/${id}`,
    });
    // Its bitrate, as the stream health monitor measured it from the producers (a WHIP-like source here).
    const measured = await until('a bitrate measured', async () => {
      const r = await s.api('GET', '/api/admin/streams/live', { token: admin });
      return r.body.streams.find((x: { id: string }) => x.id === id)?.bitrate ?? undefined;
    }, 20_000);
    expect(measured.source).toBe('whip');
    expect(measured.videoKbps).toBeGreaterThan(50);
    expect(measured.audioKbps).toBeGreaterThan(5);
    expect(Date.parse(measured.measuredAt)).not.toBeNaN();

    // The owner's studio reads the same split; other broadcasters and anonymous callers may not.
    const split = await s.api('GET', `/api/streams/${id}/viewers`, { token: bob });
    expect([split.status, split.body]).toEqual([200, { total: 2, webrtc: 0, whep: 0, hls: 1 }]);
    // So does the stream itself (the owner's view and a viewer's: the split is not a secret of the owner).
    const owned = await s.api('GET', `/api/streams/${id}`, { token: bob });
    expect([owned.status, owned.body.viewerCount, owned.body.viewers]).toEqual([200, 2, { webrtc: 0, whep: 0, hls: 1 }]);
    const other = await s.broadcaster('frank');
    expect((await s.api('GET', `/api/streams/${id}/viewers`, { token: other })).status).toBe(403);
    expect((await s.api('GET', `/api/streams/${id}/viewers`)).status).toBe(401);
    expect((await s.api('GET', '/api/streams/abcdefghijkl/viewers', { token: admin })).status).toBe(404);
    expect((await s.api('GET', '/api/streams/bad!/viewers', { token: admin })).status).toBe(400);
    // /metrics says the same, as this node's totals by delivery.
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toContain('onair_viewers_by_delivery{delivery="hls"} 1');
    expect(metrics).toContain('onair_viewers_by_delivery{delivery="webrtc"} 0');
    expect(metrics).toContain('onair_viewers_by_delivery{delivery="whep"} 0');

    const server = await s.api('GET', '/api/admin/server', { token: admin });
    expect(server.status).toBe(200);
    expect(server.body).toMatchObject({ version: '0.1.0', node: 'local', liveStreams: 1, hlsBridges: 1 });
    expect(server.body.workers).toHaveLength(1);
    expect(server.body.workers[0].pid).toBeGreaterThan(0);
    expect(server.body.workers[0].routers).toBeGreaterThan(0);
    expect(server.body.ffmpeg.hls).toBeGreaterThan(0);
    expect(server.body.memory.rssBytes).toBeGreaterThan(10_000_000);

    const end = await s.api('POST', `/api/admin/streams/${id}/end`, { token: admin, body: { reason: 'terms of service' } });
    expect(end.status).toBe(204);
    await ended;
    polling = false;
    await hlsPlayer;
    expect((await s.api('GET', `/api/streams/${id}`, { token: bob })).body.status).not.toBe('live');
    expect((await s.api('GET', '/api/admin/streams/live', { token: admin })).body.streams).toEqual([]);
    expect((await s.api('POST', `/api/admin/streams/${id}/end`, { token: admin, body: {} })).status).toBe(404);
  }, 120_000);
});
