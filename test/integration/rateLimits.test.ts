/**
 * Rate limits under a flood: stream creation per user, failed logins per username and per address (in
 * parallel, not just one after another), signaling events per socket, sockets open per address. The flood
 * gets 429 / an error ack / a refused connection; everyone else is still served while it goes on.
 */
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../server/config/defaults.js';
import { connect, type TestSocket } from '../helpers/signalingClient.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';

let s: TestServer;
let ann: string;
let bob: string;
const open: TestSocket[] = [];
/** Small, so that a test can fill an address's places. */
const SOCKETS_PER_ADDRESS = 5;

beforeAll(async () => {
  s = await startTestServer({ ONAIR_HLS: 'off', ONAIR_MAX_SOCKETS_PER_ADDRESS: String(SOCKETS_PER_ADDRESS) });
  ann = await s.broadcaster('ann');
  bob = await s.broadcaster('bob');
});
afterAll(async () => {
  open.splice(0).forEach((c) => c.disconnect());
  await s?.close();
});

/** Requests as if from `address` (the server trusts X-Forwarded-For from a proxy on loopback). */
const from = (address: string) => ({ 'x-forwarded-for': address });
const count = <T>(items: T[], pred: (x: T) => boolean) => items.filter(pred).length;

describe('stream creation', () => {
  it(`lets a user create ${DEFAULTS.streamCreatesPerMinute} streams in a burst, then answers 429 with Retry-After; others are not affected`, async () => {
    const burst = await Promise.all(
      Array.from({ length: DEFAULTS.streamCreatesPerMinute + 10 }, (_, i) => s.api('POST', '/api/streams', { token: ann, body: { title: `Flood ${i}` } })),
    );
    expect(count(burst, (r) => r.status === 201)).toBe(DEFAULTS.streamCreatesPerMinute);
    const limited = burst.filter((r) => r.status === 429);
    expect(limited).toHaveLength(10);
    expect(limited[0]!.body).toMatchObject({ error: 'too_many_requests' });
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Invalid bodies are answered (400) without costing a creation.
    expect((await s.api('POST', '/api/streams', { token: ann, body: { title: '' } })).status).toBe(400);
    // Another user, and reading, are unaffected.
    expect((await s.api('POST', '/api/streams', { token: bob, body: { title: 'Bob is fine' } })).status).toBe(201);
    expect((await s.api('GET', '/api/streams/mine', { token: ann })).body.streams).toHaveLength(DEFAULTS.streamCreatesPerMinute);
  });
});

describe('login throttle', () => {
  it('throttles a parallel flood of guesses on one account after the free attempts, while others sign in', async () => {
    const flood = Array.from({ length: 40 }, () => s.api('POST', '/api/auth/login', { body: { username: 'ann', password: 'guess-guess' }, headers: from('203.0.113.7') }));
    // During the flood: another user from another address signs in, and the catalogue answers.
    const [bobLogin, list] = await Promise.all([
      s.api('POST', '/api/auth/login', { body: { username: 'bob', password: 'bob-password' }, headers: from('198.51.100.1') }),
      s.api('GET', '/api/streams'),
    ]);
    const results = await Promise.all(flood);
    expect(bobLogin.status).toBe(200);
    expect(list.status).toBe(200);
    // Three free attempts (and the fourth, which starts a 1 s wait) reach the password check; the rest do not
    // (a request of the flood arriving after that second may get one more try: hence the slack).
    expect(count(results, (r) => r.status === 401)).toBeLessThanOrEqual(6);
    expect(count(results, (r) => r.status === 429)).toBeGreaterThanOrEqual(34);
    const limited = results.find((r) => r.status === 429)!;
    expect(limited.body).toMatchObject({ error: 'too_many_requests' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('throttles one address guessing many accounts, not the other addresses', async () => {
    const flood = Promise.all(
      Array.from({ length: 40 }, (_, i) => s.api('POST', '/api/auth/login', { body: { username: `user${i}`, password: 'guess-guess' }, headers: from('203.0.113.99') })),
    );
    const other = await s.api('POST', '/api/auth/login', { body: { username: 'bob', password: 'bob-password' }, headers: from('198.51.100.2') });
    const results = await flood;
    // 20 free attempts per address (a shared NAT), the 21st starts the wait.
    expect(count(results, (r) => r.status === 401)).toBeLessThanOrEqual(23);
    expect(count(results, (r) => r.status === 429)).toBeGreaterThanOrEqual(17);
    expect(other.status).toBe(200);
  });
});

describe('signaling events', () => {
  it('answers a flood from one socket with too_many_requests, and keeps serving other sockets', async () => {
    const st = (await s.api('POST', '/api/streams', { token: bob, body: { title: 'Calm' } })).body as { id: string };
    const flooder = await connect(s.url);
    const calm = await connect(s.url);
    open.push(flooder, calm);
    const flood = Promise.all(Array.from({ length: 300 }, () => flooder.raw('viewer:leave', {})));
    // While the flood is answered: another socket joins and leaves, over and over, never limited.
    const calmResults = [];
    for (let i = 0; i < 15; i++) {
      calmResults.push(await calm.request('viewer:join', { streamId: st.id }));
      calmResults.push(await calm.request('viewer:leave', {}));
    }
    const results = await flood;
    expect(count(results, (r) => !r.ok && r.error === 'too_many_requests')).toBeGreaterThanOrEqual(200);
    expect(count(results, (r) => !r.ok && r.error !== 'too_many_requests')).toBe(0);
    expect(calmResults.every((r) => r.ok)).toBe(true);
    expect((await s.api('GET', '/healthz')).status).toBe(200);
    // The flooder is still connected and served again once its bucket refills.
    await new Promise((r) => setTimeout(r, 200));
    expect(await flooder.request('viewer:leave', {})).toMatchObject({ ok: true });
  });
});

describe('sockets per address', () => {
  const N = SOCKETS_PER_ADDRESS;
  const refusal = `too_many_requests: too many connections from your address (at most ${N})`;
  /** A socket as if from `address` (via the proxy on loopback): connected, or the message it was refused with. */
  const attempt = (address: string) =>
    new Promise<{ socket?: Socket; refused?: string }>((resolve) => {
      const socket = io(s.url, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: from(address) });
      socket.once('connect', () => resolve({ socket }));
      socket.once('connect_error', (err) => {
        socket.close();
        resolve({ refused: err.message });
      });
    });
  const held = (address: string) => s.signaling.socketsPerAddress.held(address);

  it(`admits ${N} sockets from one address, refuses the next with a clear message, and admits again once one has left`, async () => {
    const first = await Promise.all(Array.from({ length: N }, () => attempt('203.0.113.50')));
    expect(first.map((r) => r.refused)).toEqual(Array(N).fill(undefined));
    expect(await attempt('203.0.113.50')).toEqual({ refused: refusal });
    // Another address, and the test's own (a proxy on this host with no X-Forwarded-For), are not affected.
    const other = await attempt('198.51.100.50');
    expect(other.socket?.connected).toBe(true);
    const local = await connect(s.url);
    expect(local.connected).toBe(true);
    expect(held('203.0.113.50')).toBe(N);

    first[0]!.socket!.disconnect();
    await until('the leaving socket to give its place back', () => held('203.0.113.50') === N - 1);
    const again = await attempt('203.0.113.50');
    expect(again.socket?.connected).toBe(true);
    expect(await attempt('203.0.113.50')).toEqual({ refused: refusal });

    // Every way of leaving gives the place back: a polite disconnect, or the connection just closing.
    const rest = [...first.slice(1), again, other].map((r) => r.socket!);
    rest.forEach((c, i) => (i % 2 ? c.disconnect() : c.io.engine.close()));
    local.disconnect();
    await until('every place to be given back', () => held('203.0.113.50') === 0 && held('198.51.100.50') === 0);
  });

  it(`admits exactly ${N} of a simultaneous burst from one address; nothing is left held afterwards`, async () => {
    const burst = await Promise.all(Array.from({ length: N + 10 }, () => attempt('203.0.113.51')));
    expect(burst.filter((r) => r.socket?.connected)).toHaveLength(N);
    expect(burst.filter((r) => r.refused === refusal)).toHaveLength(10);
    burst.forEach((r) => r.socket?.disconnect());
    await until('every place to be given back', () => held('203.0.113.51') === 0);
    // Only addresses with open sockets are tracked: the ones of these tests are forgotten.
    expect(s.signaling.socketsPerAddress.size).toBe(held('127.0.0.1') > 0 ? 1 : 0);
  });
});
