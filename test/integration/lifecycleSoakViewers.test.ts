/**
 * Soak: viewers who close the page at random moments. ONAIR_SOAK_JOINS (1,000) viewers each start the whole
 * join sequence (connect → viewer:join → transport:create → transport:connect → consume → consumer:resume)
 * and are dropped 0–600 ms after they started — a socket disconnect or the connection cut under it — while
 * the worker answers slowly (each answer 0–40 ms late: a busy worker, where these races happen). Then
 * nothing of them is left on the broadcast's router, nobody is counted, and the WebRTC cap admits exactly
 * ONAIR_MAX_WEBRTC_VIEWERS fresh viewers. Seeded (ONAIR_SOAK_SEED) so a failure can be replayed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaInventory, seatProblems, settled, viewerCountProblems } from '../helpers/leftovers.js';
import { installGate } from '../helpers/mediasoupGate.js';
import { connect, goLive, recvRtpCapabilities, type TestSocket } from '../helpers/signalingClient.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';

const JOINS = Number(process.env.ONAIR_SOAK_JOINS ?? 1000);
/** Viewers in their join sequence at once. */
const IN_FLIGHT = Number(process.env.ONAIR_SOAK_IN_FLIGHT ?? 40);
/** A cap above the viewers in flight' share would never be reached: 10 is reached and freed all the time. */
const CAP = Number(process.env.ONAIR_SOAK_CAP ?? 10);
const SEED = Number(process.env.ONAIR_SOAK_SEED ?? 20261130);

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const gate = installGate();
let s: TestServer;
let streamId: string;
let producerId: string;
let sendTransportId: string;
let publisher: TestSocket;

beforeAll(async () => {
  s = await startTestServer({ ONAIR_RTMP_PORT: 'off', ONAIR_SRT_PORT: 'off', ONAIR_HLS: 'off', ONAIR_MAX_WEBRTC_VIEWERS: String(CAP), ONAIR_MAX_SOCKETS_PER_ADDRESS: String(4 * IN_FLIGHT + 100) });
  const ann = await s.broadcaster('ann');
  streamId = (await s.api('POST', '/api/streams', { token: ann, body: { title: 'Soak viewers' } })).body.id;
  publisher = await connect(s.url, ann);
  ({ producerId, transportId: sendTransportId } = await goLive(publisher, streamId));
}, 60_000);
afterAll(async () => {
  gate.delay(undefined);
  publisher?.disconnect();
  await s?.close();
});

describe(`${JOINS} viewer joins abandoned at random moments`, () => {
  it('leave no transport, consumer, count or seat behind; the cap then admits exactly its number of fresh viewers', async () => {
    const random = prng(SEED);
    const dtlsParameters = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, () => 'CD').join(':') }] };
    /** How far each viewer got before it was dropped: the last step answered. */
    const reached = new Map<string, number>();
    const errors: string[] = [];
    let refusedSeats = 0;
    gate.delay(() => Math.floor(random() * 40));
    const started = Date.now();

    async function abandonedJoin(): Promise<void> {
      const dropAfter = random() * 600;
      const cut = random() < 0.5;
      let c: TestSocket | undefined;
      let last = 'nothing';
      const dropped = new Promise<void>((resolve) => setTimeout(resolve, dropAfter));
      const sequence = (async () => {
        c = await connect(s.url);
        last = 'connect';
        const req = async (name: string, payload: unknown) => {
          if (!c!.connected) return undefined;
          const r = (await c!.raw(name, payload).catch(() => undefined)) as { ok: boolean; data?: any; error?: string; message?: string } | undefined;
          if (!r) return undefined;
          if (!r.ok) {
            if (r.error === 'too_many_requests' && name === 'transport:create') refusedSeats++;
            else if (!['connection_closed'].includes(String((r as { reason?: string }).reason))) errors.push(`${name}: ${r.error} ${r.message}`);
            return undefined;
          }
          last = name;
          return r.data ?? {};
        };
        if (!(await req('viewer:join', { streamId }))) return;
        const t = await req('transport:create', { direction: 'recv' });
        if (!t) return;
        await req('transport:connect', { transportId: t.id, dtlsParameters });
        const k = await req('consume', { producerId, rtpCapabilities: recvRtpCapabilities });
        if (k) await req('consumer:resume', { consumerId: k.id });
      })().catch(() => undefined);
      await Promise.race([dropped, sequence.then(() => dropped)]);
      // The page closes: half say goodbye (socket.io disconnect), half just vanish (the connection is cut).
      if (c) {
        if (cut) c.io.engine.close();
        else c.disconnect();
      } else {
        // Still connecting: drop it the moment it connects.
        void sequence.then(() => c?.disconnect());
      }
      await sequence;
      c?.disconnect();
      reached.set(last, (reached.get(last) ?? 0) + 1);
    }

    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < JOINS) {
          next++;
          await abandonedJoin();
        }
      }),
    );
    gate.delay(undefined);
    const joinedMs = Date.now() - started;

    // Every viewer's socket is gone on the server (the publisher's stays); then nothing of them is left: the
    // router holds the publisher's send transport and its producer only, and nobody is counted.
    const socketsLeft = await until('every viewer socket to be gone on the server', () => s.signaling.io.of('/').sockets.size === 1, 10_000).then(
      () => 0,
      () => s.signaling.io.of('/').sockets.size - 1,
    );
    const leftovers = await settled(async () => {
      const inv = (await mediaInventory(s, gate)).filter((r) => r.tag.streamId === streamId);
      const transports = inv.flatMap((r) => r.transports.map((t) => t.id)).filter((id) => id !== sendTransportId);
      const consumers = inv.flatMap((r) => r.consumers);
      return [
        ...(transports.length ? [`${transports.length} viewer transports left`] : []),
        ...(consumers.length ? [`${consumers.length} consumers left`] : []),
        ...(await viewerCountProblems(s, streamId, 0)),
      ];
    }, 10_000);
    const seats = await seatProblems(s, streamId, CAP);
    const steps = Object.fromEntries(['nothing', 'connect', 'viewer:join', 'transport:create', 'transport:connect', 'consume', 'consumer:resume'].map((k) => [k, reached.get(k) ?? 0]));
    console.log(
      `lifecycle soak: ${JOINS} abandoned joins (${IN_FLIGHT} at a time, seed ${SEED}, cap ${CAP}) in ${joinedMs} ms; ` +
        `last step answered before the drop: ${JSON.stringify(steps)}; seats refused (cap full) ${refusedSeats}; other errors ${errors.length}`,
    );
    expect(errors.slice(0, 10)).toEqual([]);
    expect(socketsLeft).toBe(0);
    expect(leftovers).toEqual([]);
    expect(seats).toEqual([]);
    // The sweep reached every step: drops happened all along the sequence.
    expect(steps['transport:create']! + steps['transport:connect']! + steps.consume! + steps['consumer:resume']!).toBeGreaterThan(0);
  }, 240_000);
});
