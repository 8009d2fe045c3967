/**
 * ffmpeg processes a previous OnAir left behind (the server was SIGKILLed, so it could not stop them): found
 * in /proc by their command line, which names a file under this server's HLS folder, and killed. Without
 * this, an orphan would keep its UDP ports and write into old folders. Linux only; elsewhere it does nothing.
 */
import fs from 'node:fs';
import path from 'node:path';

export function killOrphanFfmpeg(hlsRoot: string): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const root = path.resolve(hlsRoot) + path.sep;
  const killed: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    let args: string[];
    try {
      args = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone, or not ours to read
    }
    if (path.basename(args[0] ?? '') !== 'ffmpeg') continue;
    if (!args.some((a) => a.startsWith(root))) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      /* already gone */
    }
  }
  return killed;
}
