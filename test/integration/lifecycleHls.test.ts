/**
 * Lifecycle under faults, the HLS bridge: a broadcast stopped (or its stream deleted, or its publisher
 * dropped) while an HLS epoch starts — at every worker-facing await of the bridge (its PlainTransports,
 * consumers, resumes, keyframe requests), and at 0–300 ms after the first producer — leaves no ffmpeg child
 * of this process, no router, no recording left "recording", and no listed recording without media.
 * Real ffmpeg (a VP8 + Opus RTP source, test/helpers/rtpSource.ts), real mediasoup, SQLite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePoints, reset, sweep, type FaultRun } from '../helpers/faultSweep.js';
import { ffmpegChildren, quiescenceProblems, recordingProblems, routersOfStream, settled } from '../helpers/leftovers.js';
import { installGate, type CallFilter } from '../helpers/mediasoupGate.js';
import { socketLease, startRtpSource, type RtpSource } from '../helpers/rtpSource.js';
import { connect, type TestSocket } from '../helpers/signalingClient.js';
import { streamFactory } from '../helpers/streamFactory.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';

const GRACE_MS = 300;
/** How long the end may take once asked: ffmpeg's SIGINT, then SIGKILL after 2 s, and the recording's close. */
const END_MS = 8000;
const gate = installGate();
let s: TestServer;
let makeStream: ReturnType<typeof streamFactory>;
/** Test sources' ffmpeg pids: not the server's. */
const sourcePids = new Set<number>();

beforeAll(async () => {
  s = await startTestServer({
    ONAIR_RTMP_PORT: 'off',
    ONAIR_SRT_PORT: 'off',
    ONAIR_HLS_LADDER: '240',
    ONAIR_HLS_PRESET: 'ultrafast',
    ONAIR_HLS_SEGMENT_SECONDS: '1',
    ONAIR_RECONNECT_GRACE_MS: String(GRACE_MS),
  });
  makeStream = streamFactory(s, 'hls');
});
afterAll(async () => s?.close());

/** The bridge's own calls: its PlainTransports are not comedia (the test source's are), and what is made on them. */
const bridgeCalls: CallFilter = (c) =>
  c.kind === 'router.createPlainTransport' ? !(c.args[0] as { comedia?: boolean } | undefined)?.comedia : c.tag.transportType === 'PlainTransport' && c.tag.comedia === false;

interface Ctx {
  streamId: string;
  token: string;
  owner: TestSocket;
  src?: RtpSource;
}

async function setup(): Promise<Ctx> {
  const { id: streamId, token } = await makeStream('Lifecycle HLS');
  const owner = await connect(s.url, token);
  const start = await owner.request('broadcast:start', { streamId });
  if (!start.ok) throw new Error(start.message);
  return { streamId, token, owner };
}
/** The first producers appear: the bridge starts its first epoch. */
async function firstProducers(ctx: Ctx): Promise<void> {
  ctx.src = await startRtpSource(socketLease(s, ctx.streamId), { width: 320, height: 240 });
  sourcePids.add(ctx.src.ffmpeg.pid!);
}
const stop = (ctx: Ctx) => ctx.owner.request('broadcast:stop', {}).catch((err: unknown) => ({ ok: false, message: String(err) }));
const faults = {
  'publisher stops (broadcast:stop)': (ctx: Ctx): FaultRun => {
    const done = stop(ctx);
    return { applied: done, done };
  },
  'stream deleted': (ctx: Ctx): FaultRun => {
    const done = s.api('DELETE', `/api/streams/${ctx.streamId}`, { token: ctx.token });
    return { applied: until('the deletion to begin', () => !s.broadcasts.get(ctx.streamId) || s.broadcasts.get(ctx.streamId)!.ended, 3000), done };
  },
  'publisher disconnects': (ctx: Ctx): FaultRun => {
    ctx.owner.disconnect();
    return { applied: until('the server to see the disconnect', () => s.broadcasts.get(ctx.streamId)?.publisher !== ctx.owner.id, 3000) };
  },
};
/** After the end: no ffmpeg of the server, no router, no open or empty listed recording of the stream. */
const endProblems = (ctx: Ctx) =>
  settled(async () => {
    const problems = (await routersOfStream(s, gate, ctx.streamId)).map((r) => `router ${r.id} of the stream is left with ${r.transports.length} transports`);
    const ff = ffmpegChildren(sourcePids);
    if (ff.length) problems.push(`ffmpeg still running after the broadcast ended: pids ${ff.join(', ')}`);
    return [...problems, ...(await recordingProblems(s, [ctx.streamId]))];
  }, GRACE_MS + END_MS);
async function teardown(ctx: Ctx): Promise<void> {
  if (ctx.owner.connected && s.broadcasts.get(ctx.streamId)) await stop(ctx);
  await until('the broadcast to end', () => !s.broadcasts.get(ctx.streamId), GRACE_MS + END_MS).catch(() => undefined);
  ctx.src?.stop();
  ctx.owner.disconnect();
}

describe('HLS epoch start', () => {
  it('a stop, a deletion or a dropped publisher at any await of the bridge leaves no ffmpeg, router or open recording', async () => {
    const result = await sweep<Ctx>(s, gate, {
      name: 'HLS epoch start',
      filter: bridgeCalls,
      setup,
      async run(ctx) {
        await firstProducers(ctx);
        // The epoch has started (ffmpeg runs, its consumers resumed, the first keyframe asked for), or it gave up.
        await until('the first epoch', () => s.hls.liveSession(ctx.streamId)?.running || !s.broadcasts.get(ctx.streamId), 10_000).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 500));
      },
      faults,
      check: (ctx) => endProblems(ctx),
      teardown,
      quietMs: END_MS,
      ffmpegExclude: () => sourcePids,
    });
    console.log(`lifecycle: HLS epoch start: ${result.points.length} await points (${describePoints(result)}), ${result.runs} fault runs, ${result.failures.length} problems`);
    expect(result.points.length).toBeGreaterThanOrEqual(4);
    expect(result.failures).toEqual([]);
  }, 300_000);

  it('a stop 0–300 ms after the first producer leaves no ffmpeg, router or open recording', async () => {
    const failures: string[] = [];
    for (const ms of [0, 25, 50, 75, 100, 150, 200, 250, 300]) {
      const ctx = await setup();
      await firstProducers(ctx);
      await new Promise((r) => setTimeout(r, ms));
      const stopped = await stop(ctx);
      if (!stopped.ok) failures.push(`${ms} ms: broadcast:stop failed: ${JSON.stringify(stopped)}`);
      failures.push(...(await endProblems(ctx)).map((p) => `stop ${ms} ms after the first producer: ${p}`));
      await teardown(ctx);
      const left = await settled(() => quiescenceProblems(s, gate, { ffmpegExclude: sourcePids }), END_MS);
      failures.push(...left.map((p) => `stop ${ms} ms after the first producer: after the teardown: ${p}`));
      if (left.length) await reset(s, gate, sourcePids);
    }
    expect(failures).toEqual([]);
  }, 180_000);
});
