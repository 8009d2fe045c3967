/** The machine side of the fan-out benchmark: CPU pinning and priority, and the kernel's UDP drop counters. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

/** Pins every thread of `pid` to `cores` (e.g. "1" or "0-1"); children it starts later inherit the mask. */
export function pin(pid: number, cores: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' });
}

/**
 * Sets every thread of `pid` to `nice` (children started later inherit it). The benchmark runs at −10: a
 * worker "on its own core" must not wait behind whatever else the machine runs (nothing else is pinned away
 * from that core), nor must the receivers measuring it.
 */
export function renice(pid: number, nice: number): void {
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) execFileSync('renice', ['-n', String(nice), '-p', task], { stdio: 'ignore' });
}

/**
 * Gives every thread of `pid` a real-time round-robin priority: it runs whenever it is ready, as on a core of
 * its own. Nice alone is not enough on a shared machine: a mediasoup worker spends ~1 ms per input packet
 * forwarding it to 100 viewers, and waiting a few ms behind other programs at a keyframe's burst overflows
 * its socket's buffer (~90 datagrams at the kernel's default) — loss that a dedicated core would not have.
 * The kernel still keeps 5 % of the core for everything else (sched_rt_runtime_us).
 */
export function realtime(pid: number): void {
  execFileSync('chrt', ['--rr', '--all-tasks', '--pid', '10', String(pid)], { stdio: 'ignore' });
}

/** Every core of the machine, as a taskset list. */
export const allCores = (): string => `0-${os.cpus().length - 1}`;

/**
 * Datagrams the kernel dropped because a socket's receive buffer was full, summed over each process's UDP
 * sockets (/proc/net/udp's per-socket "drops", matched to the processes' file descriptors): whose socket
 * overflowed tells a worker that fell behind on its input from a receiver process that fell behind.
 */
export function udpDrops(pids: number[]): number[] {
  const dropsByInode = new Map<string, number>();
  for (const line of fs.readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 13) dropsByInode.set(f[9]!, Number(f[12]));
  }
  return pids.map((pid) => {
    let drops = 0;
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      const target = (() => {
        try {
          return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return ''; // closed meanwhile
        }
      })();
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode) drops += dropsByInode.get(inode) ?? 0;
    }
    return drops;
  });
}

export interface CoreTimes {
  /** Clock ticks (100 Hz) since boot: all, idle (with iowait), and serving softirqs (here: mostly loopback delivery). */
  total: number;
  idle: number;
  softirq: number;
}

/** A core's times from /proc/stat: its busy share includes kernel work that no process is charged for. */
export function coreTimes(core: number): CoreTimes {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${core} `));
  if (!line) throw new Error(`no core ${core} in /proc/stat`);
  // user nice system idle iowait irq softirq steal …
  const t = line.trim().split(/\s+/).slice(1).map(Number);
  return { total: t.slice(0, 8).reduce((a, b) => a + b, 0), idle: t[3]! + t[4]!, softirq: t[6]! };
}
