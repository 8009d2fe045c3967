/**
 * Waits until ffmpeg listens on the local RTP ports of its SDP input, so that its consumers can be resumed
 * without losing the first packets (a keyframe sent to a port nobody has bound yet is gone, and the next one
 * comes only on request). Used by every output that feeds ffmpeg through plainConsume (HLS bridge, restream).
 *
 * Why not a fixed wait: the bridge used to sleep 300 ms after spawning ffmpeg. ffmpeg binds its ports once it
 * has loaded and read the SDP: 80 ms on an idle machine, 250–400 ms with browsers and encoders on the same
 * 2 cores (measured from ffmpeg's own log, bench/NOTES.md, HLS): a fixed wait is too long when idle and too
 * short under load. Why not probe by binding the port ourselves: a probe that holds the port for an instant
 * can make ffmpeg's own bind fail, and ffmpeg then exits. So it reads Linux's socket tables
 * (/proc/net/udp, /proc/net/udp6: passive, nothing bound), every 10 ms.
 *
 * Bounds: after `timeoutMs` (1 s) it resolves anyway (the owner resumes; its keyframe requests at 1 s and 2 s
 * recover a lost first keyframe, as before). Where the tables cannot be read (not Linux), it waits the old
 * fixed 300 ms. Rejects (an AbortError) when its owner closes meanwhile.
 */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const TABLES = ['/proc/net/udp', '/proc/net/udp6'];
const POLL_MS = 10;
const DEFAULT_TIMEOUT_MS = 1000;
/** Where the socket tables cannot be read. */
const FALLBACK_WAIT_MS = 300;

/**
 * The local ports in one of Linux's UDP socket tables: after a header line, each line's second column is
 * `local_address` as `<hex IP>:<hex port>` (IPv4 `0100007F:9C40`, IPv6 32 hex digits).
 */
export function boundUdpPorts(table: string): Set<number> {
  const ports = new Set<number>();
  for (const line of table.split('\n').slice(1)) {
    const local = line.trim().split(/\s+/)[1];
    const m = local ? /^[0-9A-Fa-f]+:([0-9A-Fa-f]{4})$/.exec(local) : null;
    if (m) ports.add(Number.parseInt(m[1]!, 16));
  }
  return ports;
}

/** Every port some process holds now, or undefined when no table can be read. */
function boundNow(): Set<number> | undefined {
  let bound: Set<number> | undefined;
  for (const file of TABLES) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    bound ??= new Set();
    for (const p of boundUdpPorts(text)) bound.add(p);
  }
  return bound;
}

/** Resolves once every port is bound (or after the bound); 'bound' | 'timeout' | 'unknown' says which. */
export async function untilListening(
  ports: readonly number[],
  opts: { signal: AbortSignal; timeoutMs?: number },
): Promise<'bound' | 'timeout' | 'unknown'> {
  const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  for (;;) {
    opts.signal.throwIfAborted();
    const bound = boundNow();
    if (!bound) {
      await sleep(FALLBACK_WAIT_MS, undefined, { signal: opts.signal });
      return 'unknown';
    }
    if (ports.every((p) => bound.has(p))) return 'bound';
    if (Date.now() >= deadline) return 'timeout';
    await sleep(POLL_MS, undefined, { signal: opts.signal });
  }
}
