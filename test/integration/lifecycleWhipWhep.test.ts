/**
 * Lifecycle under faults, WHIP and WHEP: a fault at every worker-facing await of a WHIP publish and a WHEP
 * play (the client gives up on its POST, the stream is deleted, the publisher hangs up, a second publisher
 * starts), DELETEs racing each other, and the one WebRTC viewer cap (ONAIR_MAX_WEBRTC_VIEWERS=3) shared by
 * socket and WHEP viewers. Real Chromium offers (test/fixtures/sdp); no media flows, none is needed to answer.
 * After each fault: nothing of the gone session on any router, counts exact, 3 fresh seats, then nothing at all.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePoints, sweep, type FaultRun } from '../helpers/faultSweep.js';
import { mediaInventory, quiescenceProblems, routersOfStream, seatProblems, settled, viewerCountProblems } from '../helpers/leftovers.js';
import { installGate } from '../helpers/mediasoupGate.js';
import { connect, type TestSocket } from '../helpers/signalingClient.js';
import { streamFactory, type OwnedStream } from '../helpers/streamFactory.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';

const CAP = 3;
const gate = installGate();
const offer = (name: string) => fs.readFileSync(new URL(`../fixtures/sdp/${name}.sdp`, import.meta.url), 'utf8');
let s: TestServer;
let makeStream: ReturnType<typeof streamFactory>;

beforeAll(async () => {
  s = await startTestServer({ ONAIR_RTMP_PORT: 'off', ONAIR_SRT_PORT: 'off', ONAIR_HLS: 'off', ONAIR_MAX_WEBRTC_VIEWERS: String(CAP), ONAIR_RECONNECT_GRACE_MS: '300' });
  makeStream = streamFactory(s, 'whip');
});
afterAll(async () => s?.close());

interface Answer {
  status: number;
  location?: string;
  body: string;
}
let clients = 0;
/**
 * POSTs an SDP offer; an aborted request is status 0. Each POST comes from an address of its own (the
 * loopback proxy hop is trusted): these are many encoders and players, not one flooding the rate limit.
 */
async function post(p: string, sdp: string, opts: { token?: string; signal?: AbortSignal } = {}): Promise<Answer> {
  const n = ++clients;
  try {
    const res = await fetch(s.url + p, {
      method: 'POST',
      headers: {
        'content-type': 'application/sdp',
        'x-forwarded-for': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      },
      body: sdp,
      signal: opts.signal ?? null,
    });
    return { status: res.status, location: res.headers.get('location') ?? undefined, body: await res.text() };
  } catch (err) {
    return { status: 0, body: String(err) };
  }
}
const del = async (location: string | undefined) => (location ? (await fetch(s.url + location, { method: 'DELETE' })).status : 0);
const newStream = () => makeStream('Lifecycle WHIP');
const whip = (st: OwnedStream, signal?: AbortSignal) => post(`/whip/${st.id}`, offer('chromium-vp8'), { token: st.streamKey, ...(signal ? { signal } : {}) });
const whep = (id: string, signal?: AbortSignal) => post(`/whep/${id}`, offer('chromium-whep-recvonly'), signal ? { signal } : {});
const noRoutersOf = async (id: string) => (await routersOfStream(s, gate, id)).map((r) => `router ${r.id} (${JSON.stringify(r.tag)}) of stream ${id} is left, with ${r.transports.length} transports`);
const whepRouters = async (id: string) => (await routersOfStream(s, gate, id)).filter((r) => r.tag.whep).map((r) => `WHEP router ${r.id} of session ${String(r.tag.whep)} is left`);
/** The client gives up on its request: the server sees the connection close at once on loopback. */
const abortFault = (ctx: { abort: AbortController }): FaultRun => (ctx.abort.abort(), { applied: new Promise((r) => setTimeout(r, 200)) });
const deleteStream = ({ id, token }: OwnedStream): FaultRun => {
  const done = s.api('DELETE', `/api/streams/${id}`, { token });
  return { applied: until('the deletion to begin', async () => !s.broadcasts.get(id) || s.broadcasts.get(id)!.ended || !(await s.services.streams.byId(id)), 3000), done };
};

describe('WHIP POST', () => {
  interface Ctx {
    st: OwnedStream;
    abort: AbortController;
    studio?: TestSocket;
    faultAck?: Promise<unknown>;
  }

  it('leaves nothing of a publish whose client gave up, whose stream was deleted, or that raced another start, at any await', async () => {
    const result = await sweep<Ctx>(s, gate, {
      name: 'WHIP POST',
      setup: async () => ({ st: await newStream(), abort: new AbortController() }),
      run: (ctx) => whip(ctx.st, ctx.abort.signal),
      faults: {
        'client aborts the POST': abortFault,
        'stream deleted': (ctx) => deleteStream(ctx.st),
        'studio broadcast:start (second start)': (ctx) => {
          const done = (ctx.faultAck = connect(s.url, ctx.st.token).then((c) => ((ctx.studio = c), c.request('broadcast:start', { streamId: ctx.st.id }))));
          return { applied: done, done };
        },
        'second WHIP POST': (ctx) => {
          const done = (ctx.faultAck = whip(ctx.st));
          return { applied: done, done };
        },
      },
      async check(ctx, fault, outcome) {
        const problems: string[] = [];
        const first = outcome as Answer;
        if (fault === 'stream deleted') {
          if (first.status === 201) problems.push('the POST was answered 201 for a stream deleted meanwhile');
          return [...problems, ...(await settled(() => noRoutersOf(ctx.st.id), 3000))];
        }
        if (fault === 'client aborts the POST') {
          // Nobody will ever use this session: its broadcast ends, and the encoder's retry goes live at once.
          problems.push(...(await settled(() => noRoutersOf(ctx.st.id), 5000)));
          const retry = await whip(ctx.st);
          if (retry.status !== 201) problems.push(`the encoder's next POST was answered ${retry.status} ${retry.body.slice(0, 160)}`);
          else problems.push(...(await seatProblems(s, ctx.st.id, CAP)));
          await del(retry.location);
          return problems;
        }
        const other = (await ctx.faultAck) as Answer | { ok: boolean };
        const otherOk = 'status' in other ? other.status === 201 : other.ok;
        if (first.status === 201 && otherOk) problems.push(`both starts succeeded (${fault})`);
        if (first.status !== 201 && !otherOk) problems.push(`neither start succeeded: POST ${first.status} ${first.body.slice(0, 120)}; other ${JSON.stringify(other).slice(0, 160)}`);
        const routers = await routersOfStream(s, gate, ctx.st.id);
        if (routers.length > 1) problems.push(`${routers.length} routers for one stream`);
        if ('status' in other) await del(other.location);
        return problems;
      },
      async teardown(ctx) {
        ctx.abort.abort();
        if (ctx.studio?.connected) await ctx.studio.request('broadcast:stop', {}).catch(() => undefined);
        ctx.studio?.disconnect();
        await s.broadcasts.endBroadcast(ctx.st.id, 'test over');
      },
    });
    console.log(`lifecycle: WHIP POST: ${result.points.length} await points (${describePoints(result)}), ${result.runs} fault runs, ${result.failures.length} problems`);
    expect(result.points.length).toBeGreaterThanOrEqual(4);
    expect(result.failures).toEqual([]);
  }, 300_000);
});

describe('WHEP POST', () => {
  interface Ctx {
    st: OwnedStream;
    publisher: string | undefined;
    abort: AbortController;
  }

  it('leaves no router, seat or count of a viewer whose client gave up, whose broadcast ended, or whose stream was deleted, at any await', async () => {
    const result = await sweep<Ctx>(s, gate, {
      name: 'WHEP POST',
      // The WHIP video probe (server/ingest/VideoProbe.ts: a DirectTransport consumer on the broadcast's
      // router) starts beside the publish and may still be making its calls: they are not the WHEP path.
      filter: (c) => c.kind !== 'router.createDirectTransport' && c.tag.transportType !== 'DirectTransport',
      async setup() {
        const st = await newStream();
        const pub = await whip(st);
        if (pub.status !== 201) throw new Error(`WHIP publish failed: ${pub.status} ${pub.body}`);
        return { st, publisher: pub.location, abort: new AbortController() };
      },
      run: (ctx) => whep(ctx.st.id, ctx.abort.signal),
      faults: {
        'viewer aborts the POST': abortFault,
        'publisher hangs up (WHIP DELETE)': (ctx) => {
          const done = del(ctx.publisher);
          return { applied: done, done };
        },
        'stream deleted': (ctx) => deleteStream(ctx.st),
      },
      async check(ctx, fault, outcome) {
        const answer = outcome as Answer;
        if (fault === 'viewer aborts the POST') {
          const problems = await settled(() => whepRouters(ctx.st.id), 5000);
          problems.push(...(await settled(() => viewerCountProblems(s, ctx.st.id, 0), 5000)));
          problems.push(...(await seatProblems(s, ctx.st.id, CAP)));
          return problems;
        }
        const problems = answer.status === 201 ? [`the WHEP POST was answered 201 although its broadcast ended meanwhile (${fault})`] : [];
        await del(answer.location);
        return [...problems, ...(await settled(() => noRoutersOf(ctx.st.id), 3000))];
      },
      async teardown(ctx) {
        ctx.abort.abort();
        await del(ctx.publisher);
        await s.broadcasts.endBroadcast(ctx.st.id, 'test over');
      },
    });
    console.log(`lifecycle: WHEP POST: ${result.points.length} await points (${describePoints(result)}), ${result.runs} fault runs, ${result.failures.length} problems`);
    expect(result.points.length).toBeGreaterThanOrEqual(6);
    expect(result.failures).toEqual([]);
  }, 300_000);
});

describe('DELETEs', () => {
  it('a WHEP DELETE frees its router, count and seat at once; WHEP and WHIP DELETEs racing leave nothing', async () => {
    const st = await newStream();
    const pub = await whip(st);
    expect(pub.status).toBe(201);
    const a = await whep(st.id);
    const b = await whep(st.id);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(await viewerCountProblems(s, st.id, 2)).toEqual([]);
    expect(await del(a.location)).toBe(204);
    expect(await viewerCountProblems(s, st.id, 1)).toEqual([]);
    expect(await settled(async () => (await whepRouters(st.id)).filter((r) => r.includes(a.location!.split('/').at(-1)!)), 2000)).toEqual([]);
    // One seat is taken by b: two more are free, then none.
    const extra = [await whep(st.id), await whep(st.id), await whep(st.id)];
    expect(extra.map((r) => r.status)).toEqual([201, 201, 503]);
    const [w, ...v] = await Promise.all([del(pub.location), del(b.location), ...extra.filter((r) => r.location).map((r) => del(r.location))]);
    expect(w).toBe(204);
    // The viewers' own DELETEs raced the end of their broadcast: each is 204 or, once ended, 404.
    for (const status of v) expect([204, 404]).toContain(status);
    expect(await settled(() => quiescenceProblems(s, gate), 5000)).toEqual([]);
  });
});

describe('one WebRTC viewer cap for socket and WHEP viewers (ONAIR_MAX_WEBRTC_VIEWERS=3)', () => {
  const sockets: TestSocket[] = [];
  const socketViewer = async (id: string, receive: boolean) => {
    const c = await connect(s.url);
    sockets.push(c);
    const joined = await c.request('viewer:join', { streamId: id });
    if (!joined.ok) throw new Error(joined.message);
    return { c, joined: joined.data, transport: receive ? await c.request('transport:create', { direction: 'recv' }) : undefined };
  };
  const leaveAll = async () => {
    for (const c of sockets.splice(0)) c.disconnect();
    await until('the socket viewers to leave', () => s.signaling.io.of('/').sockets.size === 0, 5000);
  };

  it('counts socket receivers and WHEP viewers together: never more than the cap', async () => {
    const st = await newStream();
    const pub = await whip(st);
    expect(pub.status).toBe(201);
    try {
      // Two socket receivers and one WHEP viewer fill the three seats…
      for (let i = 0; i < 2; i++) expect((await socketViewer(st.id, true)).transport).toMatchObject({ ok: true });
      const w = await whep(st.id);
      expect(w.status).toBe(201);
      // …so neither a WHEP viewer nor a socket viewer gets a fourth.
      expect((await whep(st.id)).status).toBe(503);
      const late = await socketViewer(st.id, true);
      expect(late.joined.delivery.webrtc).toBe(false);
      expect(late.transport).toMatchObject({ ok: false, error: 'too_many_requests' });
      // A seat given back is a seat for the next one, whichever way it comes.
      expect(await del(w.location)).toBe(204);
      expect(await late.c.request('transport:create', { direction: 'recv' })).toMatchObject({ ok: true });
      await leaveAll();

      // Three WHEP viewers: socket viewers are told to use HLS, and refused a transport.
      const three = [await whep(st.id), await whep(st.id), await whep(st.id)];
      expect(three.map((r) => r.status)).toEqual([201, 201, 201]);
      const v = await socketViewer(st.id, true);
      expect(v.joined.delivery.webrtc).toBe(false);
      expect(v.transport).toMatchObject({ ok: false, error: 'too_many_requests' });
      for (const r of three) await del(r.location);
    } finally {
      await leaveAll();
      await del(pub.location);
    }
  });

  it('socket viewers watching over HLS (no transport) hold no seat: WHEP viewers still get all three', async () => {
    const st = await newStream();
    const pub = await whip(st);
    expect(pub.status).toBe(201);
    try {
      for (let i = 0; i < 5; i++) await socketViewer(st.id, false);
      expect(await viewerCountProblems(s, st.id, 5)).toEqual([]);
      const w = [await whep(st.id), await whep(st.id), await whep(st.id), await whep(st.id)];
      expect(w.map((r) => r.status)).toEqual([201, 201, 201, 503]);
      expect(await viewerCountProblems(s, st.id, 8)).toEqual([]);
      for (const r of w) await del(r.location);
      expect(await viewerCountProblems(s, st.id, 5)).toEqual([]);
    } finally {
      await leaveAll();
      await del(pub.location);
    }
    expect(await settled(() => quiescenceProblems(s, gate), 5000)).toEqual([]);
    expect((await mediaInventory(s, gate)).length).toBe(0);
  });
});
