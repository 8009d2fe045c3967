/**
 * Webhooks end to end: a real OnAir (mediasoup, ffmpeg, SQLite) and a real HTTP receiver on 127.0.0.1.
 * Every event arrives with a signature that the verifiers of docs/webhooks.md accept (the Node one loaded from
 * the document, the Python one run by python3); a 500 is retried with the same event id; the delivery log
 * says what happened; refused URLs are refused at creation and at delivery.
 *
 * Short back-off (ONAIR_WEBHOOK_RETRY_FIRST_MS=50) so retries happen within the test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEncoder, type Encoder } from '../helpers/encoderSource.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';
import { docNodeVerifier, docPythonVerify, startReceiver, type NodeVerifier, type Received, type Receiver } from '../helpers/webhookReceiver.js';

const SERVER_SECRET = 'server-wide-secret-0123456789abcdef';

let s: TestServer;
let rx: Receiver;
let verify: NodeVerifier;
let ann: string;
let bob: string;
let admin: string;
const encoders: Encoder[] = [];

beforeAll(async () => {
  rx = await startReceiver();
  verify = await docNodeVerifier();
  s = await startTestServer({
    ONAIR_WEBHOOK_URL: `${rx.url}/server`,
    ONAIR_WEBHOOK_SECRET: SERVER_SECRET,
    ONAIR_WEBHOOK_ALLOW_PRIVATE: '1',
    ONAIR_WEBHOOK_RETRY_FIRST_MS: '50',
    ONAIR_RESTREAM_ALLOW_PRIVATE: '1',
    ONAIR_RECONNECT_GRACE_MS: '500',
    ONAIR_HLS_LADDER: '360',
    ONAIR_HLS_PRESET: 'ultrafast',
  });
  admin = await s.login();
  ann = await s.broadcaster('ann');
  bob = await s.broadcaster('bob');
}, 90_000);
afterAll(async () => {
  for (const e of encoders) e.stop();
  await s?.close();
  await rx?.close();
});

const event = (r: Received) => JSON.parse(r.body) as { id: string; type: string; createdAt: string; data: Record<string, unknown> };
const ofType = (list: Received[], type: string, streamId?: string) =>
  list.filter((r) => event(r).type === type && (streamId === undefined || event(r).data.streamId === streamId));
const createHook = async (token: string, body: Record<string, unknown>) => {
  const r = await s.api('POST', '/api/webhooks', { token, body });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as { id: string; secret: string; url: string; events: string[] };
};
const newStream = async (token: string, title: string) => (await s.api('POST', '/api/streams', { token, body: { title } })).body as { id: string; streamKey: string };

/** Checks a delivery the way docs/webhooks.md tells receivers to, and its headers. */
function expectSigned(r: Received, secret: string): void {
  const e = verify(r.body, r.headers['onair-signature'] as string, secret) as { id: string; type: string };
  expect(r.headers['onair-event-id']).toBe(e.id);
  expect(r.headers['onair-event-type']).toBe(e.type);
  expect(r.headers['content-type']).toBe('application/json');
  expect(() => verify(r.body, r.headers['onair-signature'] as string, `${secret}x`)).toThrow(/signature mismatch/);
}

describe('webhook API', () => {
  it('creates a hook with its secret shown once, lists and shows it without, and keeps it from other users', async () => {
    const hook = await createHook(ann, { url: `${rx.url}/api-check`, events: ['stream.live', 'stream.live'], description: 'bot' });
    expect(hook).toMatchObject({ url: `${rx.url}/api-check`, events: ['stream.live'], description: 'bot', serverWide: false });
    expect(hook.id).toMatch(/^wh_[A-Za-z0-9_-]{16}$/);
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const list = (await s.api('GET', '/api/webhooks', { token: ann })).body.webhooks as Record<string, unknown>[];
    expect(list.map((h) => h.id)).toContain(hook.id);
    expect(list.every((h) => !('secret' in h))).toBe(true);
    expect((await s.api('GET', `/api/webhooks/${hook.id}`, { token: ann })).body).not.toHaveProperty('secret');
    // Another user neither sees nor deletes it; an admin does.
    expect((await s.api('GET', `/api/webhooks/${hook.id}`, { token: bob })).status).toBe(404);
    expect((await s.api('DELETE', `/api/webhooks/${hook.id}`, { token: bob })).status).toBe(404);
    expect((await s.api('GET', '/api/webhooks', { token: bob })).body.webhooks).toEqual([]);
    expect((await s.api('GET', `/api/webhooks/${hook.id}/deliveries`, { token: admin })).status).toBe(200);
    // The server-wide hook: admins only, read-only.
    expect((await s.api('GET', '/api/webhooks/server', { token: admin })).body).toMatchObject({ id: 'server', url: `${rx.url}/server`, serverWide: true });
    expect((await s.api('GET', '/api/webhooks/server', { token: ann })).status).toBe(404);
    expect((await s.api('DELETE', '/api/webhooks/server', { token: admin })).status).toBe(409);
    // Deleted, it is gone with its log.
    expect((await s.api('DELETE', `/api/webhooks/${hook.id}`, { token: ann })).status).toBe(204);
    expect((await s.api('GET', `/api/webhooks/${hook.id}`, { token: ann })).status).toBe(404);
    expect((await s.api('GET', '/api/webhooks')).status).toBe(401);
  });

  it('holds a user to 10 hooks, also when they are created at once', async () => {
    const dave = await s.broadcaster('dave');
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => s.api('POST', '/api/webhooks', { token: dave, body: { url: `${rx.url}/dave${i}` } })));
    expect(answers.map((r) => r.status).sort()).toEqual([...Array(10).fill(201), 409, 409]);
    expect((await s.api('GET', '/api/webhooks', { token: dave })).body.webhooks).toHaveLength(10);
  });

  it('refuses malformed input: other schemes, credentials, unknown events, extra fields, bad ids', async () => {
    for (const body of [
      { url: 'ftp://example.com/hook' },
      { url: 'javascript:alert(1)' },
      { url: 'https://user:pw@example.com/hook' },
      { url: 'not a url' },
      { url: `https://example.com/${'a'.repeat(2100)}` },
      { url: 'https://example.com/hook', events: ['stream.exploded'] },
      { url: 'https://example.com/hook', secret: 'mine' },
      {},
    ]) {
      const r = await s.api('POST', '/api/webhooks', { token: ann, body });
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(r.body.error).toBe('validation_failed');
    }
    expect((await s.api('GET', '/api/webhooks/..%2Fetc', { token: ann })).status).toBe(400);
    expect((await s.api('GET', '/api/webhooks/wh_aaaaaaaaaaaaaaaa/deliveries?limit=1000', { token: ann })).status).toBe(400);
  });
});

describe('events, signatures, retries, delivery log', () => {
  it('delivers stream.live and stream.ended, signed, to the owner’s hooks and the server-wide hook, not to others', async () => {
    const annHook = await createHook(ann, { url: `${rx.url}/ann` });
    const liveOnly = await createHook(ann, { url: `${rx.url}/ann-live-only`, events: ['stream.live'] });
    const bobHook = await createHook(bob, { url: `${rx.url}/bob` });
    const st = await newStream(ann, 'Morning show');

    const { lease } = await s.broadcasts.start(st.id, 'webhook-test-publisher');
    const live = await until('stream.live at both hooks', () => {
      const a = ofType(rx.at('/ann'), 'stream.live', st.id);
      const sv = ofType(rx.at('/server'), 'stream.live', st.id);
      return a.length && sv.length ? { a: a[0]!, sv: sv[0]! } : undefined;
    });
    expectSigned(live.a, annHook.secret);
    expectSigned(live.sv, SERVER_SECRET);
    // One event, the same id to every hook.
    expect(event(live.a).id).toBe(event(live.sv).id);
    expect(event(live.a)).toMatchObject({ type: 'stream.live', data: { streamId: st.id, title: 'Morning show' } });
    expect(Date.parse(event(live.a).createdAt)).not.toBeNaN();
    // Python's verifier (docs/webhooks.md) accepts the very same delivery.
    expect(await docPythonVerify(live.a, annHook.secret)).toBe(event(live.a).id);
    await expect(docPythonVerify(live.a, 'wrong-secret')).rejects.toThrow(/signature mismatch/);

    lease.release();
    await s.broadcasts.endBroadcast(st.id, 'the show is over');
    const ended = await until('stream.ended', () => ofType(rx.at('/ann'), 'stream.ended', st.id)[0]);
    expectSigned(ended, annHook.secret);
    expect(event(ended).data).toMatchObject({ streamId: st.id, title: 'Morning show', reason: 'the show is over' });
    await until('stream.ended at the server-wide hook', () => ofType(rx.at('/server'), 'stream.ended', st.id).length > 0);

    // The filtered hook got only stream.live; bob, who does not own the stream, nothing.
    const filtered = await until('the filtered hook', () => ofType(rx.at('/ann-live-only'), 'stream.live', st.id)[0]);
    expectSigned(filtered, liveOnly.secret);
    expect(ofType(rx.at('/ann-live-only'), 'stream.ended', st.id)).toEqual([]);
    expect(rx.at('/bob')).toEqual([]);
    const log = (await s.api('GET', `/api/webhooks/${annHook.id}/deliveries`, { token: ann })).body;
    expect(log.deliveries.map((d: { type: string }) => d.type)).toEqual(['stream.ended', 'stream.live']);
    expect(log.deliveries[0]).toMatchObject({ status: 'delivered', attempts: 1, responseStatus: 204, error: null, nextAttemptAt: null });
    expect((await s.api('GET', `/api/webhooks/${bobHook.id}/deliveries`, { token: bob })).body).toEqual({ deliveries: [], total: 0 });
  }, 30_000);

  it('retries a delivery answered 500 until it gets a 2xx, with the same event id and body, each attempt signed', async () => {
    const hook = await createHook(ann, { url: `${rx.url}/flaky`, events: ['stream.live'] });
    rx.respond = (r, n) => (r.path === '/flaky' && n <= 2 ? 500 : 204);
    try {
      const st = await newStream(ann, 'Flaky receiver');
      const { lease } = await s.broadcasts.start(st.id, 'webhook-test-publisher');
      const tries = await until('three attempts', () => (rx.at('/flaky').length >= 3 ? rx.at('/flaky') : undefined));
      lease.release();
      await s.broadcasts.endBroadcast(st.id, 'done');
      expect(new Set(tries.map((r) => r.headers['onair-event-id'])).size).toBe(1);
      expect(new Set(tries.map((r) => r.body)).size).toBe(1);
      for (const r of tries) expectSigned(r, hook.secret);
      const log = await until('the log to say delivered', async () => {
        const b = (await s.api('GET', `/api/webhooks/${hook.id}/deliveries`, { token: ann })).body;
        return b.deliveries[0]?.status === 'delivered' ? b : undefined;
      });
      expect(log.total).toBe(1);
      expect(log.deliveries[0]).toMatchObject({ type: 'stream.live', status: 'delivered', attempts: 3, responseStatus: 204, error: null, nextAttemptAt: null });
      expect(log.deliveries[0].eventId).toBe(tries[0]!.headers['onair-event-id']);
    } finally {
      rx.respond = () => 204;
    }
  }, 30_000);

  it('logs a delivery that keeps failing as pending, with the error and the next attempt', async () => {
    // A port nobody listens on: a closed receiver.
    const gone = await startReceiver();
    await gone.close();
    const hook = await createHook(ann, { url: `http://127.0.0.1:${gone.port}/gone`, events: ['stream.live'] });
    const st = await newStream(ann, 'Nobody listening');
    const { lease } = await s.broadcasts.start(st.id, 'webhook-test-publisher');
    const d = await until('two failed attempts', async () => {
      const b = (await s.api('GET', `/api/webhooks/${hook.id}/deliveries`, { token: ann })).body;
      return b.deliveries[0]?.attempts >= 2 ? b.deliveries[0] : undefined;
    });
    lease.release();
    await s.broadcasts.endBroadcast(st.id, 'done');
    expect(d).toMatchObject({ type: 'stream.live', status: 'pending', responseStatus: null, error: expect.stringMatching(/ECONNREFUSED/) });
    expect(Date.parse(d.nextAttemptAt)).toBeGreaterThan(Date.parse(d.lastAttemptAt));
    expect((await s.api('DELETE', `/api/webhooks/${hook.id}`, { token: ann })).status).toBe(204);
  }, 30_000);

  it('sends recording.ready when a real broadcast’s recording is finished, recording.deleted when it is deleted, and restream.failed once for a destination that refuses', async () => {
    const hook = await createHook(ann, { url: `${rx.url}/recordings`, events: ['recording.ready', 'recording.deleted'] });
    const restreamHook = await createHook(ann, { url: `${rx.url}/restream`, events: ['restream.failed'] });
    const st = await newStream(ann, 'Recorded show');
    // A restream destination nobody listens at: it fails, and is retried while the broadcast lasts.
    const gone = await startReceiver();
    await gone.close();
    const dest = await s.api('POST', `/api/streams/${st.id}/destinations`, { token: ann, body: { url: `rtmp://127.0.0.1:${gone.port}/live`, streamKey: 'dest-secret-key-0123', name: 'nowhere' } });
    expect(dest.status, JSON.stringify(dest.body)).toBe(201);
    // An RTMP publisher (ffmpeg) for 4 s, then a clean end: the broadcast ends, its recording is finished.
    const enc = startEncoder(`rtmp://127.0.0.1:${s.ingest.rtmpPort}/live/${st.streamKey}`, 'flv', { seconds: 4, bframes: 0, profile: 'baseline' });
    encoders.push(enc);
    const ready = await until('recording.ready', () => ofType(rx.at('/recordings'), 'recording.ready', st.id)[0], 60_000);
    expectSigned(ready, hook.secret);
    const data = event(ready).data as { recordingId: string; durationSeconds: number; renditions: number[]; sizeBytes: number; title: string };
    expect(data).toMatchObject({ streamId: st.id, title: 'Recorded show', renditions: [360] });
    expect(data.durationSeconds).toBeGreaterThan(0.5);
    expect(data.sizeBytes).toBeGreaterThan(0);
    expect((await s.api('GET', `/api/recordings/${data.recordingId}`)).body).toMatchObject({ status: 'ready', durationSeconds: data.durationSeconds });

    expect((await s.api('DELETE', `/api/recordings/${data.recordingId}`, { token: ann })).status).toBe(204);
    const deleted = await until('recording.deleted', () => ofType(rx.at('/recordings'), 'recording.deleted', st.id)[0]);
    expectSigned(deleted, hook.secret);
    expect(event(deleted).data).toEqual({ recordingId: data.recordingId, streamId: st.id });

    await until('restream.failed', () => ofType(rx.at('/restream'), 'restream.failed', st.id)[0]);
    const failed = ofType(rx.at('/restream'), 'restream.failed', st.id);
    expect(failed.length).toBe(1);
    expectSigned(failed[0]!, restreamHook.secret);
    expect(event(failed[0]!).data).toMatchObject({ streamId: st.id, destinationId: dest.body.id, retrying: true, reason: expect.any(String) });
    expect(failed[0]!.body).not.toContain('dest-secret-key-0123');
  }, 90_000);
});

describe('addresses (ONAIR_WEBHOOK_ALLOW_PRIVATE unset)', () => {
  let strict: TestServer;
  let carol: string;
  beforeAll(async () => {
    strict = await startTestServer({ ONAIR_HLS: 'off', ONAIR_WEBHOOK_RETRY_FIRST_MS: '50' });
    carol = await strict.broadcaster('carol');
  }, 90_000);
  afterAll(async () => strict?.close());

  it('refuses hooks at loopback, private, link-local and reserved addresses, and names resolving to them', async () => {
    for (const url of [
      `${rx.url}/x`,
      'http://localhost:8080/x',
      'http://10.1.2.3/x',
      'http://172.16.0.1/x',
      'http://192.168.1.1/x',
      'http://169.254.169.254/latest/meta-data',
      'http://100.64.0.1/x',
      'http://0.0.0.0/x',
      'http://[::1]/x',
      'http://[fd00::1]/x',
      'http://[fe80::1]/x',
      'http://[::ffff:127.0.0.1]/x',
      'http://[::ffff:a9fe:a9fe]/x',
      'http://224.0.0.1/x',
    ]) {
      const r = await strict.api('POST', '/api/webhooks', { token: carol, body: { url } });
      expect(r.status, url).toBe(400);
      expect(r.body.message, url).toMatch(/loopback, private or reserved/);
    }
    expect((await strict.api('GET', '/api/webhooks', { token: carol })).body.webhooks).toEqual([]);
  });

  it('checks the address again at delivery: a hook whose name now resolves to loopback gets nothing', async () => {
    // As if made while the name resolved elsewhere (or while private addresses were allowed).
    const carolId = (await strict.services.users.byUsername('carol'))!.id;
    const hooks = strict.catalogue.webhooks;
    await hooks.create({ id: 'wh_rebindingrebindi', ownerId: carolId, url: `http://localhost:${rx.port}/rebound`, secret: 'whsec_x', events: [], description: '' });
    const st = (await strict.api('POST', '/api/streams', { token: carol, body: { title: 'Rebinding' } })).body as { id: string };
    const { lease } = await strict.broadcasts.start(st.id, 'webhook-test-publisher');
    const d = await until('a refused attempt', async () => (await hooks.deliveries('wh_rebindingrebindi', { limit: 5, offset: 0 })).deliveries.find((x) => x.attempts >= 1));
    lease.release();
    await strict.broadcasts.endBroadcast(st.id, 'done');
    expect(d).toMatchObject({ status: 'pending', responseStatus: null, lastError: expect.stringMatching(/^refused: localhost resolves to (127\.0\.0\.1|::1)/) });
    const log = (await strict.api('GET', '/api/webhooks/wh_rebindingrebindi/deliveries', { token: carol })).body;
    expect(log.deliveries.find((x: { type: string }) => x.type === 'stream.live').error).toMatch(/^refused: localhost resolves to/);
    expect(rx.at('/rebound')).toEqual([]);
  }, 30_000);
});
