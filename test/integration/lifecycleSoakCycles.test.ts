/**
 * Soak: publishing stopped and started again, with real media and the HLS bridge on, over WHIP (a werift
 * encoder, test/helpers/whipPublisher.ts) and over the studio path (a socket's broadcast:start, media from
 * an RTP source under its publisher lease, broadcast:stop).
 *
 * - ONAIR_SOAK_CYCLES publish/stop cycles of 0.1–3 s on each path, back to back: every start succeeds, and
 *   afterwards nothing is left (no router, no ffmpeg, no open or empty listed recording, nobody counted) and
 *   a new broadcast has exactly ONAIR_MAX_WEBRTC_VIEWERS seats.
 * - Stop → start again 0 s, 0.5 s and 1 s later, ONAIR_SOAK_RESTARTS times each, on each path: every start
 *   succeeds, every previous recording is listed and complete (#EXT-X-ENDLIST in every rendition), and no
 *   ffmpeg was SIGKILLed (the server's log says so when it has to).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegChildren, quiescenceProblems, seatProblems, settled } from '../helpers/leftovers.js';
import { installGate } from '../helpers/mediasoupGate.js';
import { socketLease, startRtpSource, type RtpSource } from '../helpers/rtpSource.js';
import { connect, type TestSocket } from '../helpers/signalingClient.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';
import { whipPublish } from '../helpers/whipPublisher.js';

const CYCLES = Number(process.env.ONAIR_SOAK_CYCLES ?? 20);
const RESTARTS = Number(process.env.ONAIR_SOAK_RESTARTS ?? 4);
const CAP = 3;
const gate = installGate();
const logLines: string[] = [];
const sourcePids = new Set<number>();
let s: TestServer;
let ann: string;
let encoders = 0;

beforeAll(async () => {
  s = await startTestServer(
    {
      ONAIR_RTMP_PORT: 'off',
      ONAIR_SRT_PORT: 'off',
      ONAIR_HLS_LADDER: '240',
      ONAIR_HLS_PRESET: 'ultrafast',
      ONAIR_HLS_SEGMENT_SECONDS: '1',
      ONAIR_RECONNECT_GRACE_MS: '300',
      ONAIR_MAX_WEBRTC_VIEWERS: String(CAP),
      LOG_LEVEL: 'info',
    },
    undefined,
    { logTo: { write: (line: string) => void logLines.push(line) } },
  );
  ann = await s.broadcaster('ann');
});
afterAll(async () => s?.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const newStream = async (title: string) => (await s.api('POST', '/api/streams', { token: ann, body: { title } })).body as { id: string; streamKey: string };

/** One way of going live and stopping again, as a client does it. */
interface Path {
  name: string;
  start(st: { id: string; streamKey: string }): Promise<{ ok: boolean; why: string; stop(): Promise<string | undefined> }>;
}

/** The studio: broadcast:start on its socket, media under its lease; broadcast:stop, then its media closes. */
function studio(owner: () => TestSocket): Path {
  return {
    name: 'studio',
    async start(st) {
      const c = owner();
      const started = await c.request('broadcast:start', { streamId: st.id });
      if (!started.ok) return { ok: false, why: `${started.error} ${(started as { reason?: string }).reason ?? ''} ${started.message}`, stop: async () => undefined };
      let src: RtpSource | undefined;
      try {
        src = await startRtpSource(socketLease(s, st.id), { width: 320, height: 240 });
        sourcePids.add(src.ffmpeg.pid!);
      } catch (err) {
        return { ok: false, why: `the media could not start: ${(err as Error).message}`, stop: async () => (await c.request('broadcast:stop', {}), undefined) };
      }
      return {
        ok: true,
        why: '',
        async stop() {
          const stopped = await c.request('broadcast:stop', {});
          src!.stop();
          return stopped.ok ? undefined : `broadcast:stop: ${stopped.error} ${stopped.message}`;
        },
      };
    },
  };
}

/** A WHIP encoder: POST; DELETE, then its connection and media close. Each run is a new encoder address. */
const whip: Path = {
  name: 'WHIP',
  async start(st) {
    const n = ++encoders;
    const p = await whipPublish(s.url, st.id, st.streamKey, { headers: { 'x-forwarded-for': `10.9.${(n >> 8) & 255}.${n & 255}` } });
    if (p.ffmpeg?.pid) sourcePids.add(p.ffmpeg.pid);
    return {
      ok: p.status === 201,
      why: `${p.status} ${p.body.slice(0, 200)}`,
      async stop() {
        const status = await p.stop();
        return status === 204 ? undefined : `DELETE answered ${status}`;
      },
    };
  },
};

/** The stream's first segment is out (the HLS bridge receives media). */
async function firstSegment(streamId: string): Promise<boolean> {
  return until(
    'the first segment',
    async () => {
      const master = await fetch(`${s.url}/hls/${streamId}/master.m3u8`);
      if (master.status !== 200) return false;
      const variant = (await master.text()).split('\n').find((l) => l && !l.startsWith('#'));
      if (!variant) return false;
      // A full segment (r<i>_s<n>.m4s): the live playlist lists parts (r<i>_p<n>.m4s) from the first one.
      return /_s\d+\.m4s/.test(await (await fetch(`${s.url}/hls/${streamId}/${variant}`)).text());
    },
    15_000,
  ).then(
    () => true,
    () => false,
  );
}

/** Every recording of the stream listed, and each rendition's playlist complete. */
async function incompleteRecordings(streamId: string): Promise<{ listed: number; problems: string[] }> {
  const problems: string[] = [];
  const list = (await s.api('GET', `/api/recordings?streamId=${streamId}&limit=100`)).body.recordings as { id: string; status: string }[];
  for (const r of list) {
    const master = await fetch(`${s.url}/hls/${streamId}/${r.id}/master.m3u8`);
    if (master.status !== 200) {
      problems.push(`recording ${r.id} (${r.status}): master playlist ${master.status}`);
      continue;
    }
    for (const variant of (await master.text()).split('\n').filter((l) => l && !l.startsWith('#'))) {
      const text = await (await fetch(`${s.url}/hls/${streamId}/${r.id}/${variant}`)).text();
      if (!text.trim().endsWith('#EXT-X-ENDLIST')) problems.push(`recording ${r.id} (${r.status}): ${variant} has no #EXT-X-ENDLIST`);
      if (!text.includes('.m4s')) problems.push(`recording ${r.id} (${r.status}): ${variant} lists no segment`);
    }
  }
  return { listed: list.length, problems };
}

const sigkills = () => logLines.filter((l) => l.includes('SIGKILL'));

describe.each([['studio'], ['WHIP']])('%s', (pathName) => {
  let owner: TestSocket;
  const path = () => (pathName === 'WHIP' ? whip : studio(() => owner));
  beforeAll(async () => {
    owner = await connect(s.url, ann);
  });
  afterAll(() => owner?.disconnect());

  it(`${CYCLES} publish/stop cycles of 0.1–3 s leave nothing behind, and the cap then admits exactly ${CAP} fresh viewers`, async () => {
    const st = await newStream(`Cycles ${pathName}`);
    const failures: string[] = [];
    const held: number[] = [];
    const started = Date.now();
    for (let i = 0; i < CYCLES; i++) {
      const ms = 100 + Math.floor(((i * 7919) % 1000) / 1000 * 2900);
      held.push(ms);
      const live = await path().start(st);
      if (!live.ok) {
        failures.push(`cycle ${i + 1}: the start failed: ${live.why}`);
        await live.stop();
        continue;
      }
      await sleep(ms);
      const stopped = await live.stop();
      if (stopped) failures.push(`cycle ${i + 1} (${ms} ms): ${stopped}`);
    }
    const cyclesMs = Date.now() - started;
    const left = await settled(() => quiescenceProblems(s, gate, { ffmpegExclude: sourcePids }), 10_000);
    // A new broadcast afterwards: every seat is there.
    const last = await path().start(st);
    const seats = last.ok ? await seatProblems(s, st.id, CAP) : [`the last start failed: ${last.why}`];
    await last.stop();
    const after = await settled(() => quiescenceProblems(s, gate, { ffmpegExclude: sourcePids }), 10_000);
    const recordings = await incompleteRecordings(st.id);
    console.log(
      `lifecycle soak: ${pathName}: ${CYCLES} publish/stop cycles (held ${Math.min(...held)}–${Math.max(...held)} ms) in ${cyclesMs} ms; ` +
        `${recordings.listed} recordings listed; start/stop failures ${failures.length}; SIGKILLs logged ${sigkills().length}`,
    );
    expect(failures).toEqual([]);
    expect(left).toEqual([]);
    expect(seats).toEqual([]);
    expect(after).toEqual([]);
    expect(recordings.problems).toEqual([]);
    expect(ffmpegChildren(sourcePids)).toEqual([]);
  }, 600_000);

  it(`stop → start again 0 s, 0.5 s and 1 s later (${RESTARTS} times each): every start succeeds, every recording is complete, no SIGKILL`, async () => {
    const st = await newStream(`Restarts ${pathName}`);
    const failures: string[] = [];
    const killsBefore = sigkills().length;
    let broadcasts = 0;
    const started = Date.now();
    let live = await path().start(st);
    if (!live.ok) failures.push(`the first start failed: ${live.why}`);
    for (const delay of [0, 500, 1000]) {
      for (let i = 0; i < RESTARTS; i++) {
        if (live.ok) {
          broadcasts++;
          if (!(await firstSegment(st.id))) failures.push(`delay ${delay} ms, run ${i + 1}: no segment within 15 s`);
          const stopped = await live.stop();
          if (stopped) failures.push(`delay ${delay} ms, run ${i + 1}: ${stopped}`);
        }
        await sleep(delay);
        live = await path().start(st);
        if (!live.ok) failures.push(`delay ${delay} ms, run ${i + 1}: the start ${delay} ms after the stop failed: ${live.why}`);
      }
    }
    if (live.ok) {
      broadcasts++;
      await firstSegment(st.id);
      await live.stop();
    }
    const restartMs = Date.now() - started;
    const left = await settled(() => quiescenceProblems(s, gate, { ffmpegExclude: sourcePids }), 10_000);
    const recordings = await incompleteRecordings(st.id);
    const kills = sigkills().slice(killsBefore);
    console.log(
      `lifecycle soak: ${pathName}: ${3 * RESTARTS} restarts (0/0.5/1 s after the stop) in ${restartMs} ms; ` +
        `${broadcasts} broadcasts with media, ${recordings.listed} recordings listed, ${recordings.problems.length} incomplete; SIGKILLs logged ${kills.length}`,
    );
    expect(failures).toEqual([]);
    expect(recordings.problems).toEqual([]);
    expect(recordings.listed).toBe(broadcasts);
    expect(kills).toEqual([]);
    expect(left).toEqual([]);
  }, 600_000);
});
