/** The server part of the admin console: workers and their load, ffmpeg processes, HLS bridges, memory, version. */
import fs from 'node:fs';
import path from 'node:path';
import type { AdminServerStatus, AdminWorker } from '../../shared/adminApi.js';
import type { HlsService } from '../hls/HlsService.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import { PROJECT_ROOT } from '../paths.js';

export interface ServerStatusSources {
  pool: WorkerPool;
  hls: Pick<HlsService, 'pids' | 'liveCount'>;
  restreamPids(): number[];
  liveStreams(): number;
  viewers(): number;
  nodeId: string;
}

let version: string | undefined;
/** OnAir's version, from its package.json (read once). */
function onairVersion(): string {
  if (version === undefined) {
    try {
      version = String((JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version?: unknown }).version ?? 'unknown');
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

export async function serverStatus(s: ServerStatusSources): Promise<AdminServerStatus> {
  const workers: AdminWorker[] = await Promise.all(
    s.pool.workers().map(async (w) => {
      // A worker that died a moment ago refuses the request: its CPU is then unknown.
      const usage = await w.worker.getResourceUsage().catch(() => undefined);
      return {
        index: w.index,
        pid: w.pid,
        routers: w.routers,
        load: w.load,
        cpuSeconds: usage ? Math.round((usage.ru_utime + usage.ru_stime)) / 1000 : null,
      };
    }),
  );
  const mem = process.memoryUsage();
  return {
    version: onairVersion(),
    node: s.nodeId,
    uptimeSeconds: Math.round(process.uptime()),
    memory: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed },
    workers,
    ffmpeg: { hls: s.hls.pids().length, restream: s.restreamPids().length },
    hlsBridges: s.hls.liveCount,
    liveStreams: s.liveStreams(),
    viewers: s.viewers(),
  };
}
