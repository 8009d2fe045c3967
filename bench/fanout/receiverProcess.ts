/**
 * Child process of ReceiverFleet: holds the lightweight receivers and answers the parent's requests over IPC
 * (attach more, report counts, close). Joins run a few at a time: each costs a DTLS handshake in JavaScript.
 */
import { createCertificate } from './certificate.js';
import { Receiver } from './Receiver.js';
import type { AttachResult, FleetCounts, FleetReply, FleetRequest } from './ReceiverFleet.js';

const PARALLEL_JOINS = 8;
const receivers: Receiver[] = [];
const certificate = await createCertificate();

async function attach(url: string, streamId: string, total: number): Promise<AttachResult> {
  let failed = 0;
  let firstError: string | undefined;
  let wanted = total - receivers.length;
  const worker = async () => {
    while (wanted > 0) {
      wanted--;
      try {
        receivers.push(await Receiver.join(url, streamId, certificate));
      } catch (err) {
        failed++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_JOINS }, worker));
  return { receivers: receivers.length, failed, ...(firstError ? { firstError } : {}) };
}

function counts(): FleetCounts {
  const total: FleetCounts = {
    receivers: receivers.length,
    video: { received: 0, expected: 0, bytes: 0 },
    audio: { received: 0, expected: 0, bytes: 0 },
    otherBytes: 0,
    videoPackets: [],
  };
  for (const r of receivers) {
    const c = r.counts();
    for (const kind of ['video', 'audio'] as const) {
      total[kind].received += c[kind].received;
      total[kind].expected += c[kind].expected;
      total[kind].bytes += c[kind].bytes;
    }
    total.otherBytes += c.otherBytes;
    total.videoPackets.push(c.video.received);
  }
  return total;
}

async function handle(req: FleetRequest): Promise<unknown> {
  switch (req.op) {
    case 'attach':
      return attach(req.url, req.streamId, req.total);
    case 'counts':
      return counts();
    case 'close':
      for (const r of receivers.splice(0)) r.close();
      setImmediate(() => process.exit(0));
      return {};
  }
}

process.on('message', (msg: { id: number } & FleetRequest) => {
  const reply = (r: FleetReply) => process.send!(r);
  handle(msg).then(
    (result) => reply({ id: msg.id, ok: true, result }),
    (err: unknown) => reply({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
// The parent went away (crashed, killed): do not linger with open sockets.
process.on('disconnect', () => process.exit(0));
