/**
 * Chat storm (load): 1,000 socket.io clients (websocket, over loopback, in CHILDREN processes of their own:
 * test/helpers/chatStormClients.ts) in one stream's chat while SENDERS of them send PER_SENDER messages each,
 * all at once. Every client must receive every message exactly once, in the server's order (seq), and each
 * sender's messages in the order it sent them. It prints messages/s, deliveries/s and the delivery latency
 * (send → receipt, p50/p95/max): figures, not assertions (bench/NOTES.md, "Chat"). Server and clients share
 * the machine's 2 cores. Its size (SENDERS, CHAT_STORM_SENDERS) keeps each client's backlog well within
 * socket.io's heartbeat (a pong later than 5 s closes the socket) on a loaded 2-core machine.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

const CLIENTS = 1000;
const CHILDREN = 2;
const SENDERS = Number(process.env.CHAT_STORM_SENDERS ?? 40);
/** Within the per-socket burst (5): the storm measures fan-out, not the rate limit. */
const PER_SENDER = 5;

type Reply =
  | { op: 'joined' }
  | { op: 'sent'; seqs: (number | string)[] }
  | { op: 'received'; clients: { seqs: number[]; latenciesMs: number[]; connected: boolean }[] }
  | { op: 'error'; message: string };

let s: TestServer;
let streamId: string;
const children: ChildProcess[] = [];

/** The next reply of this kind from a child. */
function next<K extends Reply['op']>(child: ChildProcess, op: K): Promise<Extract<Reply, { op: K }>> {
  return new Promise((resolve, reject) => {
    const on = (m: Reply) => {
      if (m.op === 'error') reject(new Error(m.message));
      else if (m.op === op) resolve(m as Extract<Reply, { op: K }>);
      else return;
      child.off('message', on);
    };
    child.on('message', on);
    child.once('exit', (code) => reject(new Error(`storm clients exited (${code})`)));
  });
}

beforeAll(async () => {
  // Everyone is 127.0.0.1: the per-address limits are raised above the whole storm.
  s = await startTestServer({ ONAIR_HLS: 'off', ONAIR_MAX_SOCKETS_PER_ADDRESS: String(2 * CLIENTS), ONAIR_CHAT_MESSAGES_PER_ADDRESS: '100000' });
  const owner = await s.broadcaster('stormy');
  streamId = (await s.api('POST', '/api/streams', { token: owner, body: { title: 'Storm' } })).body.id;
  const script = path.resolve('test/helpers/chatStormClients.ts');
  const per = CLIENTS / CHILDREN;
  for (let i = 0; i < CHILDREN; i++) children.push(fork(script, [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' }));
  await Promise.all(
    children.map((c, i) => {
      const joined = next(c, 'joined');
      c.send({ op: 'join', url: s.url, streamId, from: i * per, count: per });
      return joined;
    }),
  );
}, 120_000);

afterAll(async () => {
  for (const c of children) c.disconnect();
  await s?.close();
});

describe(`chat storm: ${CLIENTS} clients`, () => {
  it('delivers every message exactly once, in order, to every client', async () => {
    const total = SENDERS * PER_SENDER;
    const perChild = SENDERS / CHILDREN;
    const started = performance.now();
    const results = await Promise.all(
      children.map(async (c) => {
        const sent = next(c, 'sent');
        const received = next(c, 'received');
        c.send({ op: 'send', senders: Array.from({ length: perChild }, (_, k) => k * 10), perSender: PER_SENDER, total });
        return { sent: await sent, received: await received, doneMs: performance.now() };
      }),
    );
    const seconds = (Math.max(...results.map((r) => r.doneMs)) - started - 200) / 1000;

    const all = results.flatMap((r) => r.received.clients);
    expect(all.filter((c) => !c.connected)).toHaveLength(0);
    const acked = results.flatMap((r) => r.sent.seqs);
    expect(acked.filter((x) => typeof x !== 'number')).toEqual([]);
    const expected = (acked as number[]).slice().sort((a, b) => a - b);
    expect(new Set(expected).size).toBe(total);
    expect(all).toHaveLength(CLIENTS);
    for (const [i, c] of all.entries()) {
      if (c.seqs.length !== total || c.seqs.some((x, n) => x !== expected[n])) {
        expect.fail(`client ${i} received ${c.seqs.length} messages, not exactly the ${total} in order: ${c.seqs.slice(0, 20).join(',')}…`);
      }
    }
    // Each sender's messages in the order it sent them: its acks' seqs increase.
    for (const r of results) {
      for (let k = 0; k < perChild; k++) {
        const mine = r.sent.seqs.slice(k * PER_SENDER, (k + 1) * PER_SENDER) as number[];
        expect(mine).toEqual(mine.slice().sort((a, b) => a - b));
      }
    }

    // How long the server took to take them all (message times are its clock), while it fanned them out.
    const first = (await s.api('GET', `/api/streams/${streamId}/chat?limit=1&after=2000-01-01T00:00:00Z`)).body.messages[0].at as string;
    const last = (await s.api('GET', `/api/streams/${streamId}/chat?limit=1`)).body.messages[0].at as string;
    const serverSeconds = (Date.parse(last) - Date.parse(first)) / 1000;
    const latencies = all.flatMap((c) => c.latenciesMs).sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
    console.log(
      `chat storm: ${total} messages from ${SENDERS} senders at once to ${CLIENTS} clients in ${CHILDREN} processes (${latencies.length} deliveries) in ${seconds.toFixed(2)} s: ` +
        `${Math.round(total / seconds)} messages/s, ${Math.round(latencies.length / seconds)} deliveries/s; ` +
        `delivery latency p50 ${q(0.5).toFixed(0)} ms, p95 ${q(0.95).toFixed(0)} ms, max ${latencies.at(-1)!.toFixed(0)} ms; ` +
        `the server took them in ${serverSeconds.toFixed(2)} s (${Math.round(total / serverSeconds)} messages/s accepted and fanned out)`,
    );
  }, 90_000);
});
