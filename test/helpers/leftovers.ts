/**
 * What a server has left behind, counted from the real parts: mediasoup's own dumps (worker → routers →
 * transports, producers, consumers), the ffmpeg children of this process (/proc), the recordings in SQLite
 * and on HTTP, the viewer counts of the API and of /metrics, and the WebRTC seats a fresh viewer can take.
 * Each check returns problems as sentences (empty: nothing wrong), so that a sweep over many fault points
 * can report every one that failed, not only the first.
 */
import fs from 'node:fs';
import type { MediasoupGate, Tag } from './mediasoupGate.js';
import { connect, type TestSocket } from './signalingClient.js';
import type { TestServer } from './testServer.js';
import { until } from './until.js';

export interface RouterInventory {
  id: string;
  tag: Tag;
  transports: { id: string; tag: Tag }[];
  producers: string[];
  consumers: string[];
}

/** Every router on every worker, with what it holds, as the workers report it. */
export async function mediaInventory(s: TestServer, gate: MediasoupGate): Promise<RouterInventory[]> {
  const out: RouterInventory[] = [];
  for (const w of s.pool.workers()) {
    const worker = (await w.worker.dump()) as { routerIds: string[] };
    for (const id of worker.routerIds) {
      const router = gate.routers.get(id);
      if (!router) {
        out.push({ id, tag: { unknown: true }, transports: [], producers: [], consumers: [] });
        continue;
      }
      let d: { transportIds: string[]; mapProducerIdConsumerIds: Record<string, string[]>; mapConsumerIdProducerId: Record<string, string> };
      try {
        d = (await router.dump()) as typeof d;
      } catch {
        continue; // closed between the two dumps
      }
      out.push({
        id,
        tag: { ...router.appData },
        transports: d.transportIds.map((t) => ({ id: t, tag: gate.transports.get(t) ?? {} })),
        producers: Object.keys(d.mapProducerIdConsumerIds),
        consumers: Object.keys(d.mapConsumerIdProducerId),
      });
    }
  }
  return out;
}

/** Transports (with their router) whose tag matches: what is left of an owner. */
export async function transportsOf(s: TestServer, gate: MediasoupGate, owner: (tag: Tag) => boolean): Promise<string[]> {
  const inv = await mediaInventory(s, gate);
  return inv.flatMap((r) => r.transports.filter((t) => owner(t.tag)).map((t) => `${String(t.tag.transportType)} ${t.id} on router ${r.id} (${JSON.stringify(pick(t.tag))})`));
}

/** Routers of a stream (its broadcast's, edges, WHEP viewers'). */
export async function routersOfStream(s: TestServer, gate: MediasoupGate, streamId: string): Promise<RouterInventory[]> {
  return (await mediaInventory(s, gate)).filter((r) => r.tag.streamId === streamId);
}

const pick = (t: Tag) => Object.fromEntries(Object.entries(t).filter(([k]) => ['peer', 'direction', 'whip', 'whep', 'streamId', 'comedia'].includes(k)));

/** ffmpeg processes whose parent is this process (the server runs in it), except `exclude` (test sources). */
export function ffmpegChildren(exclude: Iterable<number> = []): number[] {
  const skip = new Set(exclude);
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid …": comm may hold spaces or parentheses, so split at the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const [state, ppid] = stat.slice(close + 2).split(' ');
    if (comm === 'ffmpeg' && Number(ppid) === process.pid && state !== 'Z' && !skip.has(Number(entry))) pids.push(Number(entry));
  }
  return pids;
}

/** Recordings left `recording` (by this node), and listed recordings whose master playlist does not answer 200. */
export async function recordingProblems(s: TestServer, streamIds?: string[]): Promise<string[]> {
  const problems: string[] = [];
  const open = await s.catalogue.recordings.unfinished();
  for (const r of open) if (!streamIds || streamIds.includes(r.streamId)) problems.push(`recording ${r.id} of stream ${r.streamId} is left "recording"`);
  const listed = await s.api('GET', '/api/recordings?limit=100');
  for (const r of (listed.body?.recordings ?? []) as { id: string; streamId: string; status: string }[]) {
    if (streamIds && !streamIds.includes(r.streamId)) continue;
    const master = await fetch(`${s.url}/hls/${r.streamId}/${r.id}/master.m3u8`);
    await master.arrayBuffer();
    if (master.status !== 200) problems.push(`recording ${r.id} (${r.status}) is listed but its master playlist answers ${master.status}`);
  }
  return problems;
}

/** The stream's viewer count from the API and the server-wide count from /metrics, against what is expected. */
export async function viewerCountProblems(s: TestServer, streamId: string, expected: number, expectedTotal = expected): Promise<string[]> {
  const problems: string[] = [];
  const stream = await s.api('GET', `/api/streams/${streamId}`);
  if (stream.status === 200 && stream.body.viewerCount !== expected) problems.push(`GET /api/streams/${streamId} says viewerCount ${stream.body.viewerCount}, expected ${expected}`);
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  const m = /^onair_viewers (\d+)/m.exec(metrics);
  if (Number(m?.[1]) !== expectedTotal) problems.push(`/metrics says onair_viewers ${m?.[1]}, expected ${expectedTotal}`);
  return problems;
}

/**
 * The WebRTC seats of a live stream: `cap` fresh socket viewers get a receive transport, the next one is
 * refused. The fresh viewers leave again, and their seats are waited back.
 */
export async function seatProblems(s: TestServer, streamId: string, cap: number): Promise<string[]> {
  const problems: string[] = [];
  const fresh: TestSocket[] = [];
  try {
    for (let i = 0; i <= cap; i++) {
      const c = await connect(s.url);
      fresh.push(c);
      const joined = await c.request('viewer:join', { streamId });
      if (!joined.ok) return [`fresh viewer ${i + 1}: viewer:join failed: ${joined.error} ${joined.message}`];
      const t = await c.request('transport:create', { direction: 'recv' });
      if (i < cap && !t.ok) problems.push(`fresh viewer ${i + 1} of ${cap} was refused a WebRTC seat: ${t.error} ${t.message}`);
      if (i === cap && t.ok) problems.push(`fresh viewer ${cap + 1} got a WebRTC seat beyond the cap of ${cap}`);
    }
  } finally {
    for (const c of fresh) c.disconnect();
  }
  const ids = new Set(fresh.map((c) => c.id));
  await until('the fresh viewers to leave', () => [...ids].every((id) => !s.signaling.io.of('/').sockets.has(id!)), 5000).catch(() => problems.push('fresh viewers did not leave'));
  return problems;
}

/** Waits (up to `timeoutMs`) for `problems()` to come back empty; returns what is still wrong then. */
export async function settled(problems: () => Promise<string[]>, timeoutMs: number): Promise<string[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const now = await problems();
    if (now.length === 0 || Date.now() > end) return now;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Nothing left at all once every broadcast ended and every client left: no router on any worker, no ffmpeg
 * child, no recording left open or listed without media, nobody in any audience.
 */
export async function quiescenceProblems(s: TestServer, gate: MediasoupGate, opts: { ffmpegExclude?: Iterable<number> } = {}): Promise<string[]> {
  const problems: string[] = [];
  for (const r of await mediaInventory(s, gate)) {
    problems.push(`router ${r.id} (${JSON.stringify(r.tag)}) is left with ${r.transports.length} transports, ${r.producers.length} producers, ${r.consumers.length} consumers`);
  }
  const ff = ffmpegChildren(opts.ffmpegExclude);
  if (ff.length) problems.push(`ffmpeg still running: pids ${ff.join(', ')}`);
  problems.push(...(await recordingProblems(s)));
  if (s.broadcasts.liveCount !== 0) problems.push(`${s.broadcasts.liveCount} broadcasts are still live`);
  if (s.broadcasts.totalViewers !== 0) problems.push(`${s.broadcasts.totalViewers} viewers are still counted`);
  return problems;
}
