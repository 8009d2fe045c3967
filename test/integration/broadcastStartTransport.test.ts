/**
 * `broadcast:start` with `sendTransport: true` (the studio's "Go live"): the answer carries a send transport
 * that produces like one from `transport:create`, owned by the connection (closed with it) and replaced by the
 * next start; without the flag the answer is as before. Waiting viewers hear of a new broadcast (no producers
 * yet) before its first producer. Real mediasoup router, real socket.io clients.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, vp8RtpParameters, type TestSocket } from '../helpers/signalingClient.js';
import { until } from '../helpers/until.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

let s: TestServer;
let ann: string;
const open: TestSocket[] = [];
const sock = async (token?: string) => {
  const c = await connect(s.url, token);
  open.push(c);
  return c;
};
const newStream = async () => (await s.api('POST', '/api/streams', { token: ann, body: { title: 'Go live' } })).body as { id: string };

beforeAll(async () => {
  // HLS off: the router's transports are counted, and the bridge would add its own.
  s = await startTestServer({ ONAIR_RECONNECT_GRACE_MS: '300', ONAIR_HLS: 'off' });
  ann = await s.broadcaster('ann');
});
afterEach(() => open.splice(0).forEach((c) => c.disconnect()));
afterAll(async () => s?.close());

describe('broadcast:start with its send transport', () => {
  it('answers with a send transport the viewers receive a producer from', async () => {
    const st = await newStream();
    const viewer = await sock();
    await viewer.request('viewer:join', { streamId: st.id });
    const seen: { session: string; state: string; producers: { id: string }[] }[] = [];
    viewer.on('broadcast:producers', (e) => seen.push(e));
    const pub = await sock(ann);
    const start = await pub.request('broadcast:start', { streamId: st.id, sendTransport: true });
    if (!start.ok) throw new Error(start.message);
    const t = start.data.sendTransport;
    expect(t).toMatchObject({ id: expect.any(String), iceParameters: expect.any(Object), dtlsParameters: expect.any(Object) });
    expect(t!.iceCandidates.length).toBeGreaterThan(0);
    const router = s.broadcasts.get(st.id)!.router;
    expect((await router.dump()).transportIds).toEqual([t!.id]);
    const produced = await pub.request('produce', { transportId: t!.id, kind: 'video', rtpParameters: vp8RtpParameters(), source: 'camera' });
    if (!produced.ok) throw new Error(produced.message);
    // Waiting viewers heard of the broadcast before its first producer (to make their transports), then of it.
    await until('the producer announced', () => seen.length === 2, 5000);
    expect(seen[0]).toEqual({ streamId: st.id, session: router.id, state: 'live', producers: [] });
    expect(seen[1]!.producers.map((p) => p.id)).toEqual([produced.data.id]);
    // The connection owns it: gone when the connection goes.
    pub.disconnect();
    await until('send transport closed with its connection', async () => router.closed || (await router.dump()).transportIds.length === 0, 5000);
  });

  it('replaces the previous start’s send transport on a resume, and makes none without the flag', async () => {
    const st = await newStream();
    const first = await sock(ann);
    const start = await first.request('broadcast:start', { streamId: st.id });
    if (!start.ok) throw new Error(start.message);
    expect(start.data).not.toHaveProperty('sendTransport');
    const router = s.broadcasts.get(st.id)!.router;
    expect((await router.dump()).transportIds).toEqual([]);
    // The same studio on a second connection (its first one not yet noticed as gone) resumes with the key.
    const again = await first.request('broadcast:start', { streamId: st.id, resumeKey: start.data.resumeKey, sendTransport: true });
    if (!again.ok) throw new Error(again.message);
    const third = await first.request('broadcast:start', { streamId: st.id, resumeKey: start.data.resumeKey, sendTransport: true });
    if (!third.ok) throw new Error(third.message);
    expect(third.data.sendTransport!.id).not.toBe(again.data.sendTransport!.id);
    await until('one send transport left', async () => {
      const ids = (await router.dump()).transportIds;
      return ids.length === 1 && ids[0] === third.data.sendTransport!.id;
    }, 5000);
  });

  it('refuses the flag for anything but a boolean', async () => {
    const st = await newStream();
    const pub = await sock(ann);
    expect(await pub.raw('broadcast:start', { streamId: st.id, sendTransport: 'yes' })).toMatchObject({ ok: false, error: 'validation_failed' });
  });
});
