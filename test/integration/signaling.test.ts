import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, goLive, recvRtpCapabilities, vp8RtpParameters, type TestSocket } from '../helpers/signalingClient.js';
import { until } from '../helpers/until.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

let s: TestServer;
let ann: string;
let bob: string;
const open: TestSocket[] = [];
const sock = async (token?: string) => {
  const c = await connect(s.url, token);
  open.push(c);
  return c;
};
const newStream = async (token: string, visibility = 'public') =>
  (await s.api('POST', '/api/streams', { token, body: { title: 'Signal test', visibility } })).body as { id: string };

beforeAll(async () => {
  // HLS off: these tests count the router's transports, and the bridge would add its own.
  s = await startTestServer({ ONAIR_RECONNECT_GRACE_MS: '300', ONAIR_HLS: 'off' });
  ann = await s.broadcaster('ann');
  bob = await s.broadcaster('bob');
});
afterEach(() => open.splice(0).forEach((c) => c.disconnect()));
afterAll(async () => s?.close());

describe('signaling: validation and errors', () => {
  it('answers unknown events and bad payloads with {ok:false, error, message}, and keeps serving', async () => {
    const c = await sock();
    expect(await c.raw('nope', {})).toMatchObject({ ok: false, error: 'not_found' });
    expect(await c.raw('__proto__', {})).toMatchObject({ ok: false, error: 'not_found' });
    const cases: unknown[] = [undefined, null, 42, 'x', [], { streamId: 5 }, { streamId: 'short' }, { streamId: 'AAAAAAAAAAAA', extra: true }, { streamId: 'A'.repeat(100000) }];
    for (const payload of cases) {
      const r = await c.raw('viewer:join', payload);
      expect(r, JSON.stringify(payload)?.slice(0, 40)).toMatchObject({ ok: false, error: 'validation_failed' });
      expect((r as { message: string }).message).toMatch(/^invalid viewer:join payload/);
    }
    expect(await c.raw('transport:connect', { transportId: 'x', dtlsParameters: { role: 'client' } })).toMatchObject({ ok: false, error: 'not_found' });
    expect(await c.request('viewer:join', { streamId: 'AAAAAAAAAAAA' })).toMatchObject({ ok: false, error: 'not_found' });
    expect((await s.api('GET', '/healthz')).status).toBe(200);
  });

  it('refuses a socket with a bad token at the handshake', async () => {
    await expect(connect(s.url, 'forged.token.here')).rejects.toThrow(/unauthorized/);
  });

  it('rate-limits a flood of requests with too_many_requests', async () => {
    const c = await sock();
    const results = await Promise.all(Array.from({ length: 120 }, () => c.raw('viewer:leave', {})));
    const limited = results.filter((r) => !r.ok && r.error === 'too_many_requests').length;
    expect(limited).toBeGreaterThan(0);
    expect(results.filter((r) => r.ok).length).toBeGreaterThanOrEqual(50);
  });
});

describe('signaling: roles and ownership', () => {
  it('never lets a viewer produce or broadcast', async () => {
    const st = await newStream(ann);
    const viewer = await sock();
    expect(await viewer.request('broadcast:start', { streamId: st.id })).toMatchObject({ ok: false, error: 'unauthorized' });
    expect(await viewer.request('transport:create', { direction: 'send' })).toMatchObject({ ok: false, error: 'forbidden' });
    expect(await viewer.request('produce', { transportId: 'x', kind: 'video', rtpParameters: vp8RtpParameters(), source: 'camera' })).toMatchObject({ ok: false });
  });

  it('lets a broadcaster publish only into their own streams', async () => {
    const st = await newStream(ann);
    const bobSock = await sock(bob);
    expect(await bobSock.request('broadcast:start', { streamId: st.id })).toMatchObject({ ok: false, error: 'forbidden' });
  });

  it('refuses a second publisher while the first is live (409), and lets the first resume with its key', async () => {
    const st = await newStream(ann);
    const first = await sock(ann);
    const live = await goLive(first, st.id);
    const second = await sock(ann);
    expect(await second.request('broadcast:start', { streamId: st.id })).toMatchObject({ ok: false, error: 'conflict' });
    // The same publisher on a new connection, with its resume key, takes the broadcast back.
    const resumed = await second.request('broadcast:start', { streamId: st.id, resumeKey: live.start.resumeKey });
    expect(resumed).toMatchObject({ ok: true, data: { resumed: true } });
  });

  it('keeps private streams to viewer-token holders', async () => {
    const st = await newStream(ann, 'private');
    const c = await sock();
    expect(await c.request('viewer:join', { streamId: st.id })).toMatchObject({ ok: false, error: 'unauthorized' });
    const other = await newStream(ann, 'private');
    const wrong = (await s.api('POST', `/api/streams/${other.id}/viewer-token`, { token: ann })).body.token;
    expect(await c.request('viewer:join', { streamId: st.id, token: wrong })).toMatchObject({ ok: false, error: 'forbidden' });
    const right = (await s.api('POST', `/api/streams/${st.id}/viewer-token`, { token: ann })).body.token;
    expect(await c.request('viewer:join', { streamId: st.id, token: right })).toMatchObject({ ok: true });
  });
});

describe('signaling: a broadcast and its audience', () => {
  it('counts viewers exactly, tells them when producers appear, and cleans up everything on the way out', async () => {
    const st = await newStream(ann);
    const v1 = await sock();
    const v2 = await sock();
    const j1 = await v1.request('viewer:join', { streamId: st.id });
    expect(j1).toMatchObject({ ok: true, data: { broadcast: null, viewerCount: 1, stream: { id: st.id, status: 'idle' } } });
    expect(JSON.stringify(j1)).not.toContain('sk_');
    const counts: number[] = [];
    v1.on('viewers:count', (e) => counts.push(e.count));
    await v2.request('viewer:join', { streamId: st.id });
    await until('count 2', () => counts.at(-1) === 2, 5000);

    // The first event announces the broadcast (no producers yet); the next one its producer.
    const producersSeen = new Promise<{ producers: { id: string }[] }>((r) => v1.on('broadcast:producers', (e) => e.producers.length > 0 && r(e)));
    const pub = await sock(ann);
    const live = await goLive(pub, st.id);
    expect((await producersSeen).producers.map((p) => p.id)).toContain(live.producerId);
    expect((await s.api('GET', `/api/streams/${st.id}`)).body).toMatchObject({ status: 'live', viewerCount: 2 });

    // A viewer consumes the producer on a receive transport.
    const t = await v1.request('transport:create', { direction: 'recv' });
    expect(t.ok).toBe(true);
    const consumed = await v1.request('consume', { producerId: live.producerId, rtpCapabilities: recvRtpCapabilities });
    expect(consumed).toMatchObject({ ok: true, data: { kind: 'video', producerId: live.producerId, layers: 1 } });
    expect(await v1.request('consumer:resume', { consumerId: consumed.ok ? consumed.data.id : '' })).toMatchObject({ ok: true });
    expect(await v1.request('consume', { producerId: 'missing', rtpCapabilities: recvRtpCapabilities })).toMatchObject({ ok: false, error: 'not_found' });
    expect(await v1.request('consume', { producerId: live.producerId, rtpCapabilities: { codecs: [] } })).toMatchObject({ ok: false, error: 'bad_request' });

    const broadcast = s.broadcasts.get(st.id)!;
    const dump = async () => broadcast.router.dump();
    expect((await dump()).transportIds).toHaveLength(2);

    // A viewer leaving is counted out at once and its transport is closed.
    v2.disconnect();
    await until('count 1', () => counts.at(-1) === 1, 5000);
    expect(s.broadcasts.viewerCount(st.id)).toBe(1);
    v1.disconnect();
    await until('viewer transport closed', async () => (await dump()).transportIds.length === 1, 5000);

    // Ending the broadcast tells the room and closes the router.
    const v3 = await sock();
    await v3.request('viewer:join', { streamId: st.id });
    const ended = new Promise<{ reason: string; broadcastId: string }>((r) => v3.once('broadcast:ended', r));
    const statusPushed = new Promise<{ stream: { status: string } }>((r) => v3.once('stream:updated', r));
    // Answered once the end is over: the router is closed and the status ended by then, without waiting.
    expect(await pub.request('broadcast:stop', {})).toMatchObject({ ok: true });
    expect(broadcast.router.closed).toBe(true);
    expect((await s.api('GET', `/api/streams/${st.id}`)).body.status).toBe('ended');
    expect((await ended).reason).toMatch(/ended/);
    // The end names the broadcast the publisher's start was answered with, and the new status is pushed.
    expect((await ended).broadcastId).toBe(broadcast.id);
    expect((await statusPushed).stream.status).toBe('ended');
  });

  it('waits for a dropped broadcaster, then ends the broadcast after the grace period', async () => {
    const st = await newStream(ann);
    const viewer = await sock();
    await viewer.request('viewer:join', { streamId: st.id });
    const pub = await sock(ann);
    await goLive(pub, st.id);
    const reconnecting = new Promise((r) => viewer.once('broadcast:reconnecting', r));
    const ended = new Promise<{ reason: string }>((r) => viewer.once('broadcast:ended', r));
    pub.disconnect();
    await reconnecting;
    expect((await ended).reason).toMatch(/did not come back/);
    expect(s.broadcasts.get(st.id)).toBeUndefined();
  });

  it('resumes into the same stream when the broadcaster comes back within the grace period', async () => {
    const st = await newStream(ann);
    await s.close();
    s = await startTestServer({ ONAIR_RECONNECT_GRACE_MS: '10000', ONAIR_HLS: 'off' }, s.dataDir);
    const viewer = await sock();
    await viewer.request('viewer:join', { streamId: st.id });
    const pub = await sock(ann);
    await goLive(pub, st.id);
    const reconnecting = new Promise((r) => viewer.once('broadcast:reconnecting', r));
    pub.disconnect();
    await reconnecting;
    const back = new Promise<{ state: string; producers: unknown[] }>((r) =>
      viewer.on('broadcast:producers', (e) => e.producers.length > 0 && r(e)),
    );
    const again = await sock(ann);
    const live = await goLive(again, st.id);
    expect(live.start.resumed).toBe(true);
    expect((await back).state).toBe('live');
    expect((await s.api('GET', `/api/streams/${st.id}`)).body.status).toBe('live');
  });
});

describe('signaling: WebRTC capacity', () => {
  it('sends viewers beyond ONAIR_MAX_WEBRTC_VIEWERS to HLS', async () => {
    const st = await newStream(ann);
    await s.close();
    s = await startTestServer({ ONAIR_MAX_WEBRTC_VIEWERS: '1', ONAIR_HLS: 'off' }, s.dataDir);
    const pub = await sock(ann);
    await goLive(pub, st.id);
    const first = await sock();
    const j1 = await first.request('viewer:join', { streamId: st.id });
    expect(j1).toMatchObject({ ok: true, data: { delivery: { webrtc: true, hls: `/hls/${st.id}/master.m3u8` } } });
    expect(await first.request('transport:create', { direction: 'recv' })).toMatchObject({ ok: true });
    // Recreating its own transport (after a router change) is not a new viewer.
    expect(await first.request('transport:create', { direction: 'recv' })).toMatchObject({ ok: true });

    const second = await sock();
    expect(await second.request('viewer:join', { streamId: st.id })).toMatchObject({ ok: true, data: { delivery: { webrtc: false } } });
    expect(await second.request('transport:create', { direction: 'recv' })).toMatchObject({ ok: false, error: 'too_many_requests' });
    // Both are in the audience.
    expect(s.broadcasts.viewerCount(st.id)).toBe(2);

    // A WebRTC seat frees up when its viewer leaves.
    first.disconnect();
    await until('the seat to free', () => s.broadcasts.get(st.id)!.receiverCount === 0, 5000);
    expect(await second.request('transport:create', { direction: 'recv' })).toMatchObject({ ok: true });
  });

  it('makes the receive transport in viewer:join when asked, under the same seat rule, and consumes on it', async () => {
    const st = await newStream(ann);
    await s.close();
    s = await startTestServer({ ONAIR_MAX_WEBRTC_VIEWERS: '1', ONAIR_HLS: 'off' }, s.dataDir);
    // Not live: no transport (nothing to receive yet).
    const early = await sock();
    const idle = await early.request('viewer:join', { streamId: st.id, recvTransport: true });
    expect(idle).toMatchObject({ ok: true, data: { broadcast: null } });
    expect(idle.ok && idle.data.recvTransport).toBeFalsy();
    early.disconnect();

    const pub = await sock(ann);
    const live = await goLive(pub, st.id);
    const first = await sock();
    const j1 = await first.request('viewer:join', { streamId: st.id, recvTransport: true });
    if (!j1.ok) throw new Error(j1.message);
    expect(j1.data.delivery.webrtc).toBe(true);
    const t = j1.data.recvTransport;
    expect(t).toMatchObject({ id: expect.any(String), iceCandidates: expect.any(Array) });
    const broadcast = s.broadcasts.get(st.id)!;
    expect(broadcast.receiverCount).toBe(1);
    // It is the viewer's receive transport: consume goes on it without transport:create.
    const consumed = await first.request('consume', { producerId: live.producerId, rtpCapabilities: recvRtpCapabilities });
    expect(consumed).toMatchObject({ ok: true, data: { producerId: live.producerId } });

    // The seat is taken: a second viewer asking the same gets no transport, and HLS.
    const second = await sock();
    const j2 = await second.request('viewer:join', { streamId: st.id, recvTransport: true });
    expect(j2).toMatchObject({ ok: true, data: { delivery: { webrtc: false } } });
    expect(j2.ok && j2.data.recvTransport).toBeFalsy();
    expect(broadcast.receiverCount).toBe(1);

    // Given back once when its viewer leaves: the second viewer's join now carries one.
    first.disconnect();
    await until('the seat to free', () => broadcast.receiverCount === 0, 5000);
    const again = await second.request('viewer:join', { streamId: st.id, recvTransport: true });
    expect(again.ok && again.data.recvTransport?.id).toEqual(expect.any(String));
    expect(broadcast.receiverCount).toBe(1);
  });
});
