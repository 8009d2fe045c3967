/**
 * Child process of Joiners: the load generator of the signaling benchmark. On request it opens socket.io
 * connections (websocket, as the watch page does) at a steady rate, each doing connect + viewer:join, and
 * keeps them open as idle viewers until told to leave. Starts are paced by the clock, not by answers (an open
 * loop): a slow server makes answers late, it does not slow the arrivals down.
 */
import { performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import type { JoinerReply, JoinerRequest, JoinReport } from './Joiners.js';

const sockets: Socket[] = [];

function join(req: Extract<JoinerRequest, { op: 'join' }>): Promise<JoinReport> {
  const latenciesMs: number[] = [];
  const errors: Record<string, number> = {};
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let started = 0;
  let settled = 0;
  let lastStartMs = 0;
  let lastDoneMs = 0;
  let maxLateMs = 0;
  return new Promise((resolve) => {
    const done = (startedAt: number, error?: string) => {
      const now = performance.now();
      if (error) errors[error] = (errors[error] ?? 0) + 1;
      else latenciesMs.push(now - startedAt);
      lastDoneMs = now - t0;
      if (++settled < req.count) return;
      const cpu = process.cpuUsage(cpu0);
      resolve({ latenciesMs, errors, lastStartMs, lastDoneMs, maxLateMs, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
    };
    const startOne = () => {
      const startedAt = performance.now();
      const socket = io(req.url, { transports: ['websocket'], reconnection: false, forceNew: true, timeout: req.timeoutMs });
      sockets.push(socket);
      let finished = false;
      const finish = (error?: string) => {
        if (finished) return;
        finished = true;
        clearTimeout(deadline);
        done(startedAt, error);
      };
      const deadline = setTimeout(() => finish(`no answer within ${req.timeoutMs} ms`), req.timeoutMs);
      socket.once('connect_error', (err) => finish(`connect_error: ${err.message}`));
      socket.once('connect', () => {
        socket.emit('viewer:join', { streamId: req.streamId }, (res: { ok: boolean; error?: string; message?: string }) =>
          finish(res.ok ? undefined : `viewer:join: ${res.error} ${res.message}`),
        );
      });
    };
    // Every few ms, start the joins that are due by now (timers cannot fire at 1/rate for high rates).
    const pace = setInterval(() => {
      const now = performance.now() - t0;
      const due = Math.min(req.count, Math.floor((now / 1000) * req.rate) + 1);
      if (due > started) maxLateMs = Math.max(maxLateMs, now - (started / req.rate) * 1000);
      while (started < due) {
        started++;
        startOne();
      }
      lastStartMs = now;
      if (started === req.count) clearInterval(pace);
    }, 2);
  });
}

async function leave(): Promise<number> {
  const n = sockets.length;
  for (const s of sockets.splice(0)) s.disconnect();
  return n;
}

async function handle(req: JoinerRequest): Promise<unknown> {
  switch (req.op) {
    case 'join':
      return join(req);
    case 'leave':
      return leave();
    case 'close':
      await leave();
      setImmediate(() => process.exit(0));
      return 0;
  }
}

process.on('message', (msg: { id: number } & JoinerRequest) => {
  const reply = (r: JoinerReply) => process.send!(r);
  handle(msg).then(
    (result) => reply({ id: msg.id, ok: true, result }),
    (err: unknown) => reply({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
// The parent went away (crashed, killed): do not linger with open sockets.
process.on('disconnect', () => process.exit(0));
