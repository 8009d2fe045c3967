/**
 * Lifecycle under faults, socket signaling: every handler's worker-facing await points (enumerated by running
 * the path once) get a fault injected while the handler waits there — the viewer or the publisher drops,
 * leaves, the broadcast stops, the stream is deleted, a second connection starts the same broadcast — and
 * after each: mediasoup's dumps hold nothing of the gone owner, viewer counts (API and /metrics) are exact,
 * the WebRTC cap (3) admits exactly 3 fresh viewers, and once the broadcast ended nothing at all is left.
 * Real mediasoup, socket.io and SQLite; HLS off (the HLS bridge has its own file: lifecycleHls.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePoints, sweep, type FaultRun } from '../helpers/faultSweep.js';
import { routersOfStream, seatProblems, settled, transportsOf, viewerCountProblems } from '../helpers/leftovers.js';
import { installGate } from '../helpers/mediasoupGate.js';
import { connect, goLive, recvRtpCapabilities, vp8RtpParameters, type TestSocket } from '../helpers/signalingClient.js';
import { streamFactory } from '../helpers/streamFactory.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';

const CAP = 3;
const GRACE_MS = 1500;
const gate = installGate();
let s: TestServer;
let makeStream: ReturnType<typeof streamFactory>;
/** Each stream's owner's access token. */
const owners = new Map<string, string>();
const tokenOf = (streamId: string) => owners.get(streamId)!;

beforeAll(async () => {
  s = await startTestServer({ ONAIR_RTMP_PORT: 'off', ONAIR_SRT_PORT: 'off', ONAIR_HLS: 'off', ONAIR_MAX_WEBRTC_VIEWERS: String(CAP), ONAIR_RECONNECT_GRACE_MS: String(GRACE_MS), ONAIR_MAX_SOCKETS_PER_ADDRESS: '1000' });
  makeStream = streamFactory(s, 'sig');
});
afterAll(async () => s?.close());

const newStream = async () => {
  const st = await makeStream('Lifecycle');
  owners.set(st.id, st.token);
  return st.id;
};
const dtlsParameters = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, () => 'AB').join(':') }] };
/** The socket is gone on the server (its disconnect handler ran). */
const goneOnServer = (id: string | undefined) => until('the server to see the disconnect', () => !s.signaling.io.of('/').sockets.has(id ?? ''), 5000);
type AnyAck = { ok: true; data: any } | { ok: false; error: string; message: string };
/** A request's answer; a client-side failure (disconnected meanwhile) is an answer too. */
const ack = (p: Promise<unknown>): Promise<AnyAck> => (p as Promise<AnyAck>).catch((err: unknown) => ({ ok: false, error: 'client', message: String(err) }));
/** Runs a client's requests in order while it is connected, noting each answer ("name:ok" / "name:<error>"). */
function stepper(c: TestSocket) {
  const steps: string[] = [];
  const step = async (name: string, request: () => Promise<unknown>): Promise<any> => {
    if (!c.connected) return undefined;
    const r = await ack(request());
    steps.push(`${name}:${r.ok ? 'ok' : r.error}`);
    return r.ok ? (r.data ?? {}) : undefined;
  };
  return { steps, step };
}
const deleteStream = (id: string): FaultRun => {
  const done = s.api('DELETE', `/api/streams/${id}`, { token: tokenOf(id) });
  // Applied once the stream row is gone or the broadcast is ending; the DELETE itself may wait for the end.
  return { applied: until('the deletion to begin', async () => !s.broadcasts.get(id) || s.broadcasts.get(id)!.ended || !(await s.services.streams.byId(id)), 3000), done };
};
const streamGone = async (id: string) => ((await s.api('GET', `/api/streams/${id}`)).status === 404 ? [] : [`stream ${id} still exists after its deletion answered`]);
const noRoutersOf = async (id: string) => (await routersOfStream(s, gate, id)).map((r) => `router ${r.id} of stream ${id} is left, with ${r.transports.length} transports`);

describe('viewer path: connect → viewer:join → transport:create → transport:connect → consume → consumer:resume', () => {
  interface Ctx {
    streamId: string;
    owner: TestSocket;
    producerId: string;
    viewer?: TestSocket;
    viewerId?: string;
  }

  // folded: the receive transport comes with `viewer:join` (recvTransport: true), as the player asks for it.
  it.each([
    ['transport:create', false],
    ['the transport made by viewer:join', true],
  ])('leaves nothing of a viewer that drops, leaves, or loses its stream at any await (%s)', async (_name, folded) => {
    const result = await sweep<Ctx>(s, gate, {
      name: folded ? 'viewer (folded join)' : 'viewer',
      async setup() {
        const streamId = await newStream();
        const owner = await connect(s.url, tokenOf(streamId));
        const live = await goLive(owner, streamId);
        return { streamId, owner, producerId: live.producerId };
      },
      async run(ctx) {
        const v = await connect(s.url);
        ctx.viewer = v;
        ctx.viewerId = v.id;
        const { steps, step } = stepper(v);
        const joined = await step('viewer:join', () => v.request('viewer:join', { streamId: ctx.streamId, ...(folded ? { recvTransport: true } : {}) }));
        if (!joined) return steps;
        if (folded) steps.push(`recvTransport:${joined.recvTransport ? 'ok' : 'none'}`);
        const t = folded ? joined.recvTransport : await step('transport:create', () => v.request('transport:create', { direction: 'recv' }));
        if (!t) return steps;
        await step('transport:connect', () => v.request('transport:connect', { transportId: t.id, dtlsParameters }));
        const k = await step('consume', () => v.request('consume', { producerId: ctx.producerId, rtpCapabilities: recvRtpCapabilities }));
        if (k) await step('consumer:resume', () => v.request('consumer:resume', { consumerId: k.id }));
        return steps;
      },
      faults: {
        'viewer disconnects': (ctx) => (ctx.viewer!.disconnect(), { applied: goneOnServer(ctx.viewerId) }),
        'viewer leaves (viewer:leave)': (ctx) => {
          const done = ack(ctx.viewer!.request('viewer:leave', {}));
          return { applied: done, done };
        },
        'publisher stops (broadcast:stop)': (ctx) => {
          const done = ack(ctx.owner.request('broadcast:stop', {}));
          return { applied: done, done };
        },
        'stream deleted': (ctx) => deleteStream(ctx.streamId),
      },
      async check(ctx, fault) {
        const viewerLeft = () => transportsOf(s, gate, (t) => t.peer === ctx.viewerId);
        if (fault === 'stream deleted') return [...(await streamGone(ctx.streamId)), ...(await settled(() => noRoutersOf(ctx.streamId), 3000))];
        if (fault === 'publisher stops (broadcast:stop)') {
          const problems = await settled(() => noRoutersOf(ctx.streamId), 3000);
          // The owner goes live again at once, and the new broadcast has all its seats.
          const again = await goLive(ctx.owner, ctx.streamId).then(() => [], (err: Error) => [`the owner could not go live again: ${err.message}`]);
          return [...problems, ...again, ...(again.length ? [] : await seatProblems(s, ctx.streamId, CAP))];
        }
        // The viewer is gone (or left) while the broadcast goes on: nothing of it on any router, not counted, its seat free.
        const problems = await settled(viewerLeft, 3000);
        problems.push(...(await settled(() => viewerCountProblems(s, ctx.streamId, 0), 2000)));
        problems.push(...(await seatProblems(s, ctx.streamId, CAP)));
        return problems;
      },
      async teardown(ctx) {
        if (s.broadcasts.get(ctx.streamId)) await ack(ctx.owner.request('broadcast:stop', {}));
        ctx.viewer?.disconnect();
        ctx.owner.disconnect();
        await goneOnServer(ctx.owner.id).catch(() => undefined);
      },
    });
    console.log(`lifecycle: viewer path (${folded ? 'folded join' : 'transport:create'}): ${result.points.length} await points (${describePoints(result)}), ${result.runs} fault runs, ${result.failures.length} problems`);
    expect(result.points.length).toBeGreaterThanOrEqual(4);
    expect(result.failures).toEqual([]);
  }, 240_000);
});

describe('publisher path: broadcast:start → transport:create send → transport:connect → produce', () => {
  interface Ctx {
    streamId: string;
    publisher?: TestSocket;
    publisherId?: string;
    /** A previous connection of the owner, dropped: the broadcast waits for it (resume variant). */
    resumeKey?: string;
    other?: TestSocket;
    /** The connection that published before (still connected when its worker died). */
    previous?: TestSocket;
    /** The answer to the fault's own request (a stop, a second start). */
    faultAck?: Promise<unknown>;
  }

  const startPath = async (ctx: Ctx) => {
    const p = await connect(s.url, tokenOf(ctx.streamId));
    ctx.publisher = p;
    ctx.publisherId = p.id;
    const { steps, step } = stepper(p);
    if (!(await step('broadcast:start', () => p.request('broadcast:start', { streamId: ctx.streamId, ...(ctx.resumeKey ? { resumeKey: ctx.resumeKey } : {}) })))) return steps;
    const t = await step('transport:create', () => p.request('transport:create', { direction: 'send' }));
    if (!t) return steps;
    await step('transport:connect', () => p.request('transport:connect', { transportId: t.id, dtlsParameters }));
    await step('produce', () => p.request('produce', { transportId: t.id, kind: 'video', rtpParameters: vp8RtpParameters(), source: 'camera' }));
    return steps;
  };

  /** The studio's start: the send transport comes with `broadcast:start` (sendTransport: true), then produce on it. */
  const studioStartPath = async (ctx: Ctx) => {
    const p = await connect(s.url, tokenOf(ctx.streamId));
    ctx.publisher = p;
    ctx.publisherId = p.id;
    const { steps, step } = stepper(p);
    const start = await step('broadcast:start', () => p.request('broadcast:start', { streamId: ctx.streamId, sendTransport: true }));
    const t = start?.sendTransport;
    if (!t) return steps;
    await step('transport:connect', () => p.request('transport:connect', { transportId: t.id, dtlsParameters }));
    await step('produce', () => p.request('produce', { transportId: t.id, kind: 'video', rtpParameters: vp8RtpParameters(), source: 'camera' }));
    return steps;
  };

  const faults = {
    'publisher disconnects': (ctx: Ctx): FaultRun => (ctx.publisher!.disconnect(), { applied: goneOnServer(ctx.publisherId) }),
    'publisher stops (broadcast:stop)': (ctx: Ctx): FaultRun => {
      const done = (ctx.faultAck = ack(ctx.publisher!.request('broadcast:stop', {})));
      return { applied: done, done };
    },
    'stream deleted': (ctx: Ctx) => deleteStream(ctx.streamId),
    'second broadcast:start from another connection': (ctx: Ctx): FaultRun => {
      const done = (ctx.faultAck = connect(s.url, tokenOf(ctx.streamId)).then((o) => ((ctx.other = o), ack(o.request('broadcast:start', { streamId: ctx.streamId })))));
      return { applied: done, done };
    },
  };

  /** What must hold after each fault, for a fresh start and for a resume alike. */
  const check = async (ctx: Ctx, fault: string, outcome: unknown): Promise<string[]> => {
    const problems: string[] = [];
    const started = ((outcome as string[] | undefined) ?? [])[0] === 'broadcast:start:ok';
    if (fault === 'stream deleted') return [...(await streamGone(ctx.streamId)), ...(await settled(() => noRoutersOf(ctx.streamId), 3000))];
    if (fault === 'publisher disconnects') {
      // Whatever the handler had got to, the broadcast has no publisher now: it ends after the grace period.
      problems.push(...(await settled(() => noRoutersOf(ctx.streamId), GRACE_MS + 3000)));
    } else if (fault === 'publisher stops (broadcast:stop)') {
      const stop = (await ctx.faultAck) as { ok: boolean } | undefined;
      const b = s.broadcasts.get(ctx.streamId);
      // An accepted stop ends the broadcast; a refused one (nothing to stop yet) leaves it to the connection that started it.
      if (stop?.ok) problems.push(...(await settled(() => noRoutersOf(ctx.streamId), 3000)));
      else if (b && !b.ended && b.publisher !== ctx.publisherId) problems.push(`the stop was refused, and the broadcast's publisher is ${b.publisher}, not the connection that started it`);
    } else if (fault === 'second broadcast:start from another connection') {
      const other = (await ctx.faultAck) as { ok: boolean } | undefined;
      if (started && other?.ok) problems.push('both connections were told they broadcast the stream');
      const b = s.broadcasts.get(ctx.streamId);
      const holder = started ? ctx.publisherId : other?.ok ? ctx.other?.id : undefined;
      if (b && !b.ended && b.publisher !== null && b.publisher !== holder) problems.push(`the broadcast's publisher is ${b.publisher}, not the connection that was told it broadcasts`);
      const routers = await routersOfStream(s, gate, ctx.streamId);
      if (routers.length > 1) problems.push(`${routers.length} routers for one stream`);
    }
    // The connections that hold the broadcast stop it; then the owner goes live on a new connection, without
    // a resume key (a reloaded studio), and the new broadcast has every seat.
    for (const c of [ctx.publisher, ctx.other]) if (c?.connected) await ack(c.request('broadcast:stop', {}));
    await until('the broadcast to end', () => !s.broadcasts.get(ctx.streamId), GRACE_MS + 3000).catch(() => problems.push('the broadcast did not end after its publishers stopped or left'));
    const again = await connect(s.url, tokenOf(ctx.streamId));
    try {
      const start = await ack(again.request('broadcast:start', { streamId: ctx.streamId }));
      if (!start.ok) problems.push(`the owner's next connection could not go live: ${JSON.stringify(start)}`);
      else {
        const t = await again.request('transport:create', { direction: 'send' });
        const p = t.ok ? await again.request('produce', { transportId: t.data.id, kind: 'video', rtpParameters: vp8RtpParameters(), source: 'camera' }) : t;
        if (!p.ok) problems.push(`the owner's next connection could not produce: ${p.error} ${p.message}`);
        problems.push(...(await seatProblems(s, ctx.streamId, CAP)));
        await again.request('broadcast:stop', {});
      }
    } finally {
      again.disconnect();
    }
    return problems;
  };

  const teardown = async (ctx: Ctx) => {
    for (const c of [ctx.publisher, ctx.other]) if (c?.connected) await ack(c.request('broadcast:stop', {}));
    ctx.publisher?.disconnect();
    ctx.other?.disconnect();
    ctx.previous?.disconnect();
    await s.broadcasts.endBroadcast(ctx.streamId, 'test over');
  };

  it('leaves no broadcast without its publisher, and no router, after a fault at any await of a fresh start', async () => {
    const result = await sweep<Ctx>(s, gate, {
      name: 'publisher (fresh start)',
      setup: async () => ({ streamId: await newStream() }),
      run: startPath,
      faults,
      check,
      teardown,
      quietMs: GRACE_MS + 3000,
    });
    console.log(`lifecycle: publisher path: ${result.points.length} await points (${describePoints(result)}), ${result.runs} fault runs, ${result.failures.length} problems`);
    expect(result.points.length).toBeGreaterThanOrEqual(4);
    expect(result.failures).toEqual([]);
  }, 300_000);

  it('the same for the studio\'s fresh start, whose send transport comes with broadcast:start', async () => {
    const result = await sweep<Ctx>(s, gate, {
      name: 'publisher (fresh start, transport in the answer)',
      setup: async () => ({ streamId: await newStream() }),
      run: studioStartPath,
      faults,
      check,
      teardown,
      quietMs: GRACE_MS + 3000,
    });
    console.log(`lifecycle: studio start path: ${result.points.length} await points (${describePoints(result)}), ${result.runs} fault runs, ${result.failures.length} problems`);
    expect(result.points.map((p) => p.kind)).toContain('router.createWebRtcTransport');
    expect(result.failures).toEqual([]);
  }, 300_000);

  it('the same for a resume (the owner comes back with its resume key while the broadcast waits for it)', async () => {
    const result = await sweep<Ctx>(s, gate, {
      name: 'publisher (resume)',
      async setup() {
        const streamId = await newStream();
        const first = await connect(s.url, tokenOf(streamId));
        const live = await goLive(first, streamId);
        first.disconnect();
        await until('the broadcast to wait for its publisher', () => s.broadcasts.get(streamId)?.state === 'reconnecting', 5000);
        return { streamId, resumeKey: live.start.resumeKey };
      },
      run: startPath,
      faults,
      check,
      teardown,
      quietMs: GRACE_MS + 3000,
    });
    console.log(`lifecycle: resume path: ${result.points.length} await points (${describePoints(result)}), ${result.runs} fault runs, ${result.failures.length} problems`);
    expect(result.points.length).toBeGreaterThanOrEqual(2);
    expect(result.failures).toEqual([]);
  }, 300_000);

  it('the same for a resume onto a new router (the worker died under the broadcast; the resume waits for its replacement)', async () => {
    const result = await sweep<Ctx>(s, gate, {
      name: 'publisher (resume after a worker death)',
      async setup() {
        const streamId = await newStream();
        const previous = await connect(s.url, tokenOf(streamId));
        const live = await goLive(previous, streamId);
        const worker = s.pool.workers()[0]!;
        const replaced = new Promise((r) => s.pool.once('workerreplaced', r));
        process.kill(worker.pid, 'SIGKILL');
        await until('the broadcast to wait for its publisher', () => s.broadcasts.get(streamId)?.state === 'reconnecting', 5000);
        await replaced;
        return { streamId, previous, resumeKey: live.start.resumeKey };
      },
      run: startPath,
      faults,
      check,
      teardown,
      quietMs: GRACE_MS + 3000,
    });
    console.log(`lifecycle: resume after a worker death: ${result.points.length} await points (${describePoints(result)}), ${result.runs} fault runs, ${result.failures.length} problems`);
    expect(result.points.map((p) => p.kind)).toContain('worker.createRouter');
    expect(result.failures).toEqual([]);
  }, 300_000);
});

describe('a request that arrives with the disconnect', () => {
  it('is not counted: a viewer:join sent in the same tick as the goodbye or the cut leaves no viewer in the audience', async () => {
    const streamId = await newStream();
    const owner = await connect(s.url, tokenOf(streamId));
    await goLive(owner, streamId);
    for (let i = 0; i < 40; i++) {
      const c = await connect(s.url);
      // The request, then the goodbye (or the connection cut) in the same tick: the server may read both from
      // one chunk, and then runs its disconnect handler before the request's handler (a microtask later).
      c.emit('viewer:join', { streamId }, () => undefined);
      if (i % 2) c.io.engine.close();
      else c.disconnect();
      await goneOnServer(c.id);
    }
    expect(await settled(() => viewerCountProblems(s, streamId, 0), 2000)).toEqual([]);
    expect(await seatProblems(s, streamId, CAP)).toEqual([]);
    await owner.request('broadcast:stop', {});
    owner.disconnect();
  });
});
