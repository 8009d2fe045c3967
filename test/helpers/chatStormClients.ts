/**
 * Child process of the chat storm test (test/integration/chatStorm.test.ts): a share of the 1,000 socket.io
 * clients, in a process of their own so that reading 1,000 copies of every message does not run in the
 * server's event loop. Driven over IPC:
 *   {op:'join', url, streamId, from, count}           → {op:'joined'}
 *   {op:'send', senders: [local index…], perSender, total} → {op:'sent', seqs} (acks' seqs), then, once every
 *   client here has `total` messages, {op:'received', clients: [{seqs, latenciesMs}]}
 * A message's text carries its send time (epoch ms, performance.timeOrigin based, the same clock in every
 * process of the machine), so delivery latency is measured where it is received.
 */
import { performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';

type Request =
  | { op: 'join'; url: string; streamId: string; from: number; count: number }
  | { op: 'send'; senders: number[]; perSender: number; total: number };

type SendAck = { ok: true; data: { message: { seq: number } } } | { ok: false; error: string };

const now = () => performance.timeOrigin + performance.now();
const clients: { socket: Socket; seqs: number[]; latenciesMs: number[] }[] = [];
const reply = (m: unknown) => process.send!(m);

async function join(r: Extract<Request, { op: 'join' }>): Promise<void> {
  let next = 0;
  const one = async (i: number) => {
    const socket = io(r.url, { transports: ['websocket'], reconnection: false, forceNew: true, timeout: 60_000 });
    const c = { socket, seqs: [] as number[], latenciesMs: [] as number[] };
    socket.on('chat:messages', (e: { messages: { seq: number; text: string }[] }) => {
      const at = now();
      for (const m of e.messages) {
        c.seqs.push(m.seq);
        c.latenciesMs.push(at - Number(m.text.split('@')[1]));
      }
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const ack = (await socket.timeout(60_000).emitWithAck('chat:join', { streamId: r.streamId, name: `viewer ${r.from + i}`, session: `storm-session-${String(r.from + i).padStart(6, '0')}` })) as { ok: boolean; message?: string };
    if (!ack.ok) throw new Error(`join ${r.from + i}: ${ack.message}`);
    clients[i] = c;
  };
  await Promise.all(Array.from({ length: 50 }, async () => {
    while (next < r.count) await one(next++);
  }));
}

async function send(r: Extract<Request, { op: 'send' }>): Promise<void> {
  const acks = await Promise.all(
    r.senders.flatMap((k) =>
      Array.from({ length: r.perSender }, (_, j) =>
        (clients[k]!.socket.timeout(60_000).emitWithAck('chat:send', { text: `sender ${k} message ${j} @${now()}` }) as Promise<SendAck>).catch(
          (err: Error): SendAck => ({ ok: false, error: err.message }),
        ),
      ),
    ),
  );
  reply({ op: 'sent', seqs: acks.map((a) => (a.ok ? a.data.message.seq : a.error)) });
  await new Promise<void>((resolve) => {
    const check = () => (clients.every((c) => c.seqs.length >= r.total || !c.socket.connected) ? resolve() : setTimeout(check, 20));
    check();
  });
  // Anything extra (a duplicate) would come right after the rest.
  await new Promise((resolve) => setTimeout(resolve, 200));
  reply({ op: 'received', clients: clients.map((c) => ({ seqs: c.seqs, latenciesMs: c.latenciesMs, connected: c.socket.connected })) });
}

process.on('message', (r: Request) => {
  const run = r.op === 'join' ? join(r).then(() => reply({ op: 'joined' })) : send(r);
  run.catch((err: Error) => reply({ op: 'error', message: err.message }));
});
process.on('disconnect', () => {
  for (const c of clients) c?.socket.disconnect();
  process.exit(0);
});
